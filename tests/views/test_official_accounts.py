"""Official accounts (公众号) alongside mini-programs, end to end against the sandbox over HTTP: the merchant
picks the account kind, WeChat's page offers it, the account is stored in `wxuser` with sealed tokens, is
listed with its service type and verification state in words, is refreshed by the token refresher and the
daily sync, and loses its tokens on `unauthorized`."""

import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import requests
import sqlalchemy as sa

from tests.conftest import drain_jobs, post_form
from tests.helpers import confirm_on_wechat_page, follow_back, merchant_client


def _start(client, kind, target="pc"):
    html = client.get("/authorization/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return client.post("/authorization/start", data={"csrf_token": token, "target": target, "account_kind": kind})


def _row(platform, appid):
    from portal.extensions import db

    with platform.app.app_context():
        row = db.session.execute(sa.text("SELECT * FROM wxuser WHERE appid = :a"), {"a": appid}).mappings().first()
        return dict(row) if row else None


def _oa(platform, appid):
    from portal.models import OfficialAccount

    with platform.app.app_context():
        oa = OfficialAccount.query.filter_by(appid=appid).one()
        return {"id": oa.id, "access": oa.authorizer_access_token, "refresh": oa.authorizer_refresh_token,
                "expires": oa.authorizer_expires, "funcscopes": oa.funcscope_ids, "state": oa.auth_state}


def _authorize_official_account(platform, client, appid):
    start = _start(client, "official_account")
    assert start.status_code == 303
    assert parse_qs(urlsplit(start.location).query)["auth_type"] == ["1"]
    return follow_back(client, confirm_on_wechat_page(start.location, appid), follow_redirects=True)


def test_merchant_authorizes_an_official_account_and_sees_it_in_words(platform, make_tenant, make_user, login_as):
    appid = platform.api.create_miniprogram(account_type="official_account", nick_name="花间咖啡服务号",
                                            principal_name="花间咖啡有限公司", service_type=2, verify_type=-1)
    tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    done = _authorize_official_account(platform, client, appid)
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "花间咖啡服务号 已授权给平台" in page
    section = page[page.index('id="official-account-list"'):]
    assert appid in section and "服务号" in section and "未认证" in section
    row = _row(platform, appid)
    assert row["tenant_id"] == tenant_id and row["type"] == 1 and row["auth_state"] == "authorized"
    assert row["service_type_info"] == 2 and row["verify_type_info"] == -1
    assert row["principal_name"] == "花间咖啡有限公司" and row["authorizer_expires"]
    stored = _oa(platform, appid)
    assert stored["access"] and stored["refresh"] and 1 in stored["funcscopes"]
    assert stored["access"] not in row["authorizer_access_token"]  # sealed at rest
    assert stored["refresh"] not in row["authorizer_refresh_token"]
    with platform.app.app_context():
        from portal.models import MiniProgram

        assert MiniProgram.query.filter_by(authorizer_appid=appid).count() == 0
    detail = client.get(f"/official-accounts/{stored['id']}")
    assert detail.status_code == 200
    text = detail.get_data(as_text=True)
    assert "服务号" in text and "未认证" in text and 'id="oa-token"' in text and stored["access"] not in text


def test_the_page_offers_the_kind_chosen_on_the_pc_and_the_mobile_link(platform, make_tenant, make_user, login_as):
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    for kind, auth_type in (("miniprogram", "2"), ("official_account", "1"), ("both", "3")):
        for target in ("pc", "mobile"):
            response = _start(client, kind, target)
            assert response.status_code == 303, (kind, target)
            assert parse_qs(urlsplit(response.location).query)["auth_type"] == [auth_type], (kind, target)
    assert _start(client, "channels").status_code == 400


def test_both_kinds_authorize_one_account_per_visit(platform, make_tenant, make_user, login_as):
    mp = platform.api.create_miniprogram(nick_name="咖啡小程序")
    oa = platform.api.create_miniprogram(account_type="official_account", nick_name="咖啡订阅号", service_type=0,
                                         verify_type=0)
    tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    for appid in (mp, oa):
        start = _start(client, "both")
        wechat_page = start.location
        assert f'value="{mp}"' in requests.get(wechat_page, timeout=10).text
        follow_back(client, confirm_on_wechat_page(wechat_page, appid), follow_redirects=True)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "咖啡小程序" in page[page.index('id="miniprogram-list"'):page.index('id="official-account-list"')]
    section = page[page.index('id="official-account-list"'):]
    assert "咖啡订阅号" in section and "订阅号" in section and "微信认证" in section
    assert _row(platform, oa)["tenant_id"] == tenant_id and _row(platform, mp) is None


def test_detail_page_is_tenant_checked_and_staff_list_all(platform, make_tenant, make_user, login_as):
    appid = platform.api.create_miniprogram(account_type="official_account", nick_name="Noodle OA")
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    _authorize_official_account(platform, client, appid)
    oa_id = _oa(platform, appid)["id"]
    _other, intruder = merchant_client(platform, make_tenant, make_user, login_as, name="Other", email="o@example.com")
    assert intruder.get(f"/official-accounts/{oa_id}").status_code == 404
    assert "Noodle OA" not in intruder.get("/dashboard").get_data(as_text=True)
    assert intruder.get("/staff/platform/official-accounts").status_code == 403
    make_user(role="staff", email="ops@example.com")
    staff = platform.client()
    assert login_as("ops@example.com", test_client=staff).status_code == 302
    listing = staff.get("/staff/platform/official-accounts").get_data(as_text=True)
    assert "Noodle OA" in listing and "Noodle Shop" in listing and "服务号" in listing and "微信认证" in listing
    assert "Noodle OA" not in staff.get("/staff/platform/official-accounts?tenant_name=Other").get_data(as_text=True)
    assert staff.get(f"/official-accounts/{oa_id}").status_code == 200


def test_tokens_are_refreshed_by_the_same_refresher(platform, make_tenant, make_user, login_as):
    from portal.extensions import db

    appid = platform.api.create_miniprogram(account_type="official_account")
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    _authorize_official_account(platform, client, appid)
    before = _oa(platform, appid)
    with platform.app.app_context():  # two hours pass on both sides
        db.session.execute(sa.text("UPDATE wxuser SET authorizer_expires = 1 WHERE appid = :a"), {"a": appid})
        db.session.execute(sa.text("UPDATE weixin_account SET token_expires = 1"))
        db.session.commit()
    platform.api.advance(7200 + 600)
    from tests.helpers import drop_cached_tokens

    drop_cached_tokens(platform.app)
    result = platform.app.test_cli_runner().invoke(args=["refresh-tokens"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["refreshed"] == 1
    after = _oa(platform, appid)
    assert after["access"] != before["access"] and after["expires"] > time.time() + 3600
    assert platform.api.count("api_authorizer_token") == 1
    with platform.app.app_context():
        from portal.services.wechat import get_client

        assert get_client().tokens.get_authorizer_token(appid) == after["access"]  # fresh: no second refresh
    assert platform.api.count("api_authorizer_token") == 1  # and none refused


def test_updateauthorized_refreshes_func_info_and_unauthorized_clears_tokens(platform, make_tenant, make_user,
                                                                              login_as):
    appid = platform.api.create_miniprogram(account_type="official_account", nick_name="Changing OA")
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    _authorize_official_account(platform, client, appid)
    platform.api.authorize(appid, func_info=[1, 2])
    drain_jobs(platform.app)
    assert _oa(platform, appid)["funcscopes"] == [1, 2]
    platform.api.unauthorize(appid)
    row = _row(platform, appid)
    assert row["auth_state"] == "unauthorized" and row["unauthorized_at"] is not None
    assert row["authorizer_access_token"] is None and row["authorizer_refresh_token"] is None
    assert row["authorizer_expires"] == 0  # as the seed's handler writes it
    assert row["nick_name"] == "Changing OA"
    detail = client.get(f"/official-accounts/{row['id']}").get_data(as_text=True)
    assert 'id="oa-no-token"' in detail and "已取消授权" in detail


def test_an_official_account_authorized_elsewhere_is_stored_unassigned_and_staff_assign_it(
        platform, make_tenant, make_user, login_as):
    """The `authorized` push alone (no pre-auth code of ours): stored as an official account without a
    tenant, never as a mini-program; staff then give it to its tenant."""
    appid = platform.api.create_miniprogram(account_type="official_account", nick_name="From elsewhere")
    platform.api.authorize(appid)
    drain_jobs(platform.app)
    row = _row(platform, appid)
    assert row is not None and row["tenant_id"] is None and row["auth_state"] == "authorized"
    from portal.models import CallbackEvent, MiniProgram

    with platform.app.app_context():
        assert CallbackEvent.query.filter_by(kind="authorized").one().outcome == "applied"
        assert MiniProgram.query.filter_by(authorizer_appid=appid).count() == 0
    tenant_id, merchant = merchant_client(platform, make_tenant, make_user, login_as)
    make_user(role="staff", email="ops@example.com")
    staff = platform.client()
    assert login_as("ops@example.com", test_client=staff).status_code == 302
    assert "未分配" in staff.get("/staff/platform/official-accounts").get_data(as_text=True)
    path = f"/staff/platform/official-accounts/{row['id']}/transfer"
    assert merchant.get(path).status_code == 403
    moved = post_form(staff, path, {"tenant_id": tenant_id}, token_from=path)
    assert moved.status_code == 302 and _row(platform, appid)["tenant_id"] == tenant_id
    assert "From elsewhere" in merchant.get("/dashboard").get_data(as_text=True)
    assert staff.get("/staff/platform/official-accounts/999999/transfer").status_code == 404


def test_the_daily_sync_covers_official_accounts(platform, make_tenant, make_user, login_as):
    from portal.extensions import db
    from portal.models import OfficialAccount

    kept = platform.api.create_miniprogram(account_type="official_account")
    revoked = platform.api.create_miniprogram(account_type="official_account")
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    for appid in (kept, revoked):
        _authorize_official_account(platform, client, appid)
    with platform.app.app_context():
        OfficialAccount.query.filter_by(appid=kept).one().authorizer_refresh_token = "lost-" + "z" * 30
        db.session.commit()
    platform.api.faults(drop_pushes=True, push_type="unauthorized", appid=revoked, count=1)
    platform.api.unauthorize(revoked)
    result = platform.app.test_cli_runner().invoke(args=["sync-authorizers"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert {key: counts[key] for key in ("listed", "updated", "lost", "unclaimed")} == {
        "listed": 1, "updated": 1, "lost": 1, "unclaimed": 0}
    assert _oa(platform, kept)["refresh"] != "lost-" + "z" * 30
    gone = _oa(platform, revoked)  # no longer listed: unauthorized, its tokens cleared as the push would
    assert (gone["state"], gone["access"], gone["refresh"], gone["expires"]) == ("unauthorized", None, None, 0)


def test_the_token_api_serves_an_official_account(platform, make_tenant, make_user, login_as):
    from portal.services import token_api

    appid = platform.api.create_miniprogram(account_type="official_account")
    tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    _authorize_official_account(platform, client, appid)
    with platform.app.app_context():
        scoped = token_api.create_key("oa-backend", tenant_ids=[tenant_id], all_tenants=False)[1]
        other = token_api.create_key("other-shop", tenant_ids=[make_tenant()], all_tenants=False)[1]
    api = platform.client()
    url = f"/api/v1/authorizers/{appid}/access-token"
    answer = api.get(url, headers={"Authorization": f"Bearer {scoped}"})
    assert answer.status_code == 200
    assert answer.get_json()["access_token"] == _oa(platform, appid)["access"]
    assert api.get(url, headers={"Authorization": f"Bearer {other}"}).status_code == 403
    before = platform.api.count("api_authorizer_token")
    renewed = api.post(f"{url}/invalidate", headers={"Authorization": f"Bearer {scoped}"},
                       json={"access_token": answer.get_json()["access_token"]})
    assert renewed.status_code == 200 and platform.api.count("api_authorizer_token") == before + 1
    assert renewed.get_json()["access_token"] == _oa(platform, appid)["access"] != answer.get_json()["access_token"]
