"""Fast registration through the portal against the sandbox over HTTP: the forms' checks, WeChat's refusals
in words with nothing saved, and the `notify_third_fasteregister` push binding (or failing) the task."""

import requests

from tests.conftest import drain_jobs, post_form
from tests.helpers import merchant_client

COMPANY = {"name": "杭州面馆餐饮有限公司", "code_type": "1", "code": "91330100MA2H12345X",
           "legal_persona_name": "张三", "legal_persona_wechat": "zhangsan_wx", "component_phone": "0571-8888"}


def _rows(platform):
    from portal.models import FastRegistration

    with platform.app.app_context():
        return [{c.name: getattr(r, c.name) for c in r.__table__.columns} | {"sealed": r._details_json}
                for r in FastRegistration.query.order_by(FastRegistration.id).all()]


def _register(client, kind="enterprise", **changes):
    return post_form(client, f"/registrations/new/{kind}", {**(COMPANY if kind == "enterprise" else {}), **changes},
                     token_from=f"/registrations/new/{kind}")


def test_form_checks_the_code_and_wechat_id_before_any_call(platform, make_tenant, make_user, login_as):
    _tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    bad = _register(client, code="91330100MA2H1234")  # 16 characters for an 18-character type
    assert bad.status_code == 400 and "这个代码与所选代码类型的格式不符" in bad.get_data(as_text=True)
    bad = _register(client, legal_persona_wechat="1x")
    assert bad.status_code == 400 and "微信号" in bad.get_data(as_text=True)
    assert _rows(platform) == [] and platform.api.count("fastregisterweapp") == 0


def test_wechat_refusal_shows_its_meaning_and_saves_nothing(platform, make_tenant, make_user, login_as):
    _tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    refused = _register(client, legal_persona_wechat="unknown_boss")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 502 and "微信号无效" in body and "86004" in body
    assert _rows(platform) == []
    assert platform.api.count("fastregisterweapp", errcode=86004) == 1


def test_enterprise_registration_is_bound_when_the_legal_person_approves(platform, make_tenant, make_user,
                                                                          login_as):
    tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    sent = _register(client)
    assert sent.status_code == 302
    [row] = _rows(platform)
    assert row["tenant_id"] == tenant_id and row["state"] == "waiting" and row["kind"] == "enterprise"
    assert row["details"]["legal_persona_wechat"] == "zhangsan_wx"
    assert row["sealed"].startswith("enc") and "zhangsan_wx" not in row["sealed"]  # sealed at rest
    refreshed = post_form(client, f"/registrations/{row['id']}/refresh", token_from=f"/registrations/{row['id']}",
                          follow_redirects=True)
    assert "等待法人完成人脸核验" in refreshed.get_data(as_text=True)
    decided = platform.api.call("/sandbox/fastregister/decide", {"name": COMPANY["name"], "outcome": "approve",
                                                                 "wait": True})
    drain_jobs(platform.app)
    [row] = _rows(platform)
    assert row["state"] == "succeeded" and row["authorizer_appid"] == decided["appid"] and row["miniprogram_id"]
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert decided["appid"] in dashboard and 'id="registrations"' in dashboard
    from portal.models import MiniProgram

    with platform.app.app_context():
        mp = MiniProgram.query.filter_by(authorizer_appid=decided["appid"]).one()
        assert mp.tenant_id == tenant_id and mp.authorizer_refresh_token and mp.principal_name == COMPANY["name"]


def test_rejection_shows_wechats_reason(platform, make_tenant, make_user, login_as):
    _tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    assert _register(client).status_code == 302
    platform.api.call("/sandbox/fastregister/decide", {"name": COMPANY["name"], "outcome": "reject",
                                                       "reason": 1002, "wait": True})
    drain_jobs(platform.app)
    [row] = _rows(platform)
    assert row["state"] == "failed" and row["status"] == 1002 and row["miniprogram_id"] is None
    page = client.get(f"/registrations/{row['id']}").get_data(as_text=True)
    assert "该主体因违规被列入黑名单" in page


def test_personal_registration_through_the_authorize_url(platform, make_tenant, make_user, login_as):
    tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    sent = post_form(client, "/registrations/new/personal", {"idname": "李四", "wxuser": "lisi_wx"},
                     token_from="/registrations/new/personal")
    assert sent.status_code == 302
    [row] = _rows(platform)
    assert row["kind"] == "personal" and row["taskid"] and row["state"] == "waiting"
    url = row["details"]["authorize_url"]
    page = client.get(f"/registrations/{row['id']}").get_data(as_text=True)
    assert url.replace("&", "&amp;") in page and 'id="registration-qr"' in page
    requests.post(url.split("?")[0], data={"taskid": row["taskid"], "action": "confirm"}, timeout=10)
    platform.api.pushes(type="notify_third_fasteregister")
    drain_jobs(platform.app)
    [row] = _rows(platform)
    assert row["state"] == "succeeded" and row["authorizer_appid"]


def test_another_tenant_cannot_see_a_registration_and_staff_start_one_for_a_tenant(platform, make_tenant, make_user,
                                                                                    login_as):
    tenant_id = make_tenant("Tea House")
    make_user(role="staff", email="staff@example.com")
    staff = platform.client()
    assert login_as("staff@example.com", test_client=staff).status_code == 302
    no_tenant = post_form(staff, "/registrations/new/personal", {"idname": "王五", "wxuser": "wangwu_wx"},
                          token_from="/registrations/new/personal")
    assert no_tenant.status_code == 400 and "选择" in no_tenant.get_data(as_text=True)
    assert _rows(platform) == [] and platform.api.count("fastregisterpersonalweapp") == 0
    sent = post_form(staff, "/registrations/new/personal", {"idname": "王五", "wxuser": "wangwu_wx",
                                                            "tenant_id": tenant_id},
                     token_from="/registrations/new/personal")
    assert sent.status_code == 302
    [row] = _rows(platform)
    assert row["tenant_id"] == tenant_id
    _other, client = merchant_client(platform, make_tenant, make_user, login_as, name="Other", email="o@example.com")
    assert client.get(f"/registrations/{row['id']}").status_code == 404
    assert "王五" in staff.get("/registrations/").get_data(as_text=True)


def test_a_lost_answer_leaves_the_registration_submitted_until_wechat_is_asked(platform, make_tenant, make_user,
                                                                                login_as):
    _tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    platform.api.faults(endpoint="fastregisterweapp", after_call=True, http_status=502, count=1)
    lost = _register(client)
    assert lost.status_code == 502 and "未收到应答" in lost.get_data(as_text=True)
    [row] = _rows(platform)
    assert row["state"] == "submitted" and platform.api.count("fastregisterweapp") == 1  # never sent twice
    refreshed = post_form(client, f"/registrations/{row['id']}/refresh", token_from=f"/registrations/{row['id']}",
                          follow_redirects=True)
    assert "等待法人完成人脸核验" in refreshed.get_data(as_text=True)
    [row] = _rows(platform)
    assert row["state"] == "waiting" and row["failure"] is None


def test_a_person_who_refuses_shows_as_failed_once_wechat_is_asked(platform, make_tenant, make_user, login_as):
    _tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    post_form(client, "/registrations/new/personal", {"idname": "赵六", "wxuser": "zhaoliu_wx"},
              token_from="/registrations/new/personal")
    [row] = _rows(platform)
    requests.post(row["details"]["authorize_url"].split("?")[0], data={"taskid": row["taskid"], "action": "refuse"},
                  timeout=10)
    refreshed = post_form(client, f"/registrations/{row['id']}/refresh", token_from=f"/registrations/{row['id']}",
                          follow_redirects=True)
    assert "用户拒绝了创建。" in refreshed.get_data(as_text=True)
    [row] = _rows(platform)
    assert row["state"] == "failed" and row["status"] == 2
