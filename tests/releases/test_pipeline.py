"""The seed controller's actions end to end through the portal's pages and jobs, against the sandbox:
domains, testers, upload code, experience QR, privacy, submit audit, audit status, release."""

import json

from portal.extensions import db
from portal.models import Activity, Audit, CodeCommit, JobRun


def _html(response):
    return response.get_data(as_text=True)


def _settings(env, **fields):
    data = {"ext_params": "shopId=42\ntheme=red", "requestdomain": "api.localhost", "webviewdomain": "www.localhost",
            "contact_email": "privacy@example.com", "notice_method": "弹窗", "privacy_texts": "", **fields}
    response = env.client.post("/miniprograms/settings", data=dict(data, csrf_token=_token(env)))
    assert response.status_code == 302, _html(response)


def _token(env):
    from tests.conftest import csrf_token

    return csrf_token(env.client, "/dashboard")


def upload(env, version="1.0.0", template_id=None):
    response = env.post("code", {"template_id": template_id or env.template_id, "user_version": version,
                                 "user_desc": "first"})
    assert response.status_code == 302, _html(response)
    env.drain()


def submit(env, **fields):
    data = {"items-0-address": "pages/index/index", "items-0-category": "0", "items-0-title": "首页",
            "version_desc": "test account: demo / demo", **fields}
    response = env.post("audit", data)
    assert response.status_code == 302, _html(response)
    env.drain()
    return response


def _actions(env, endpoint):
    """The body `action` of each call the sandbox saw on `endpoint` for the app (get/set/add/delete)."""
    return [c.get("action") for c in env.api.calls(endpoint, env.appid, errcode=0)["calls"]]


def last_run(env):
    with env.app.app_context():
        return db.session.query(JobRun).order_by(JobRun.id.desc()).first()


def audits(env):
    with env.app.app_context():
        return db.session.query(Audit).filter_by(miniprogram_id=env.mp_id).order_by(Audit.id).all()


def test_domains_from_tenant_defaults_and_typed(code_env):
    env = code_env
    _settings(env)
    assert env.post("domains/defaults").status_code == 302
    assert _actions(env, "modify_domain") == ["get", "set"]  # what WeChat holds is read first
    assert _actions(env, "setwebviewdomain") == ["get", "set"]
    page = _html(env.get("domains"))
    assert "api.localhost" in page and "www.localhost" in page
    # typed with a scheme: the scheme is dropped and the right one added; an IP is refused before any call
    env.post("domains/server", {"action": "add", "wsrequestdomain": "https://ws.localhost"})
    assert "ws.localhost" in _html(env.get("domains"))
    bad = env.post("domains/server", {"action": "add", "requestdomain": "10.0.0.1"})
    assert bad.status_code == 400 and "IP" in _html(bad)
    bad = env.post("domains/server", {"action": "add", "requestdomain": "api.weixin.qq.com"})
    assert bad.status_code == 400
    # not on the platform's list: WeChat's 85017 reaches the user as words
    page = env.post("domains/server", {"action": "add", "requestdomain": "shop.example.com"}, follow_redirects=True)
    assert "没有可修改的域名" in _html(page)


def test_direct_domain_strategy_never_uses_the_platform_api(code_env):
    env = code_env
    env.app.config["WECHAT_DOMAIN_STRATEGY"] = "direct"
    env.post("domains/server", {"action": "set", "requestdomain": "shop.example.com"})
    env.post("domains/webview", {"action": "set", "webviewdomain": "h5.example.com"})
    assert env.api.count("modify_domain_directly", env.appid, errcode=0) == 1
    assert env.api.count("setwebviewdomain_directly", env.appid, errcode=0) == 1
    assert env.api.count("modify_domain", env.appid) == 0


def test_testers_bind_list_unbind(code_env):
    env = code_env
    page = env.post("testers/bind", {"wechatid": "tester_wang"}, follow_redirects=True)
    assert "tester_wang" in _html(page)
    assert env.post("testers/bind", {"wechatid": "x"}).status_code == 400
    from portal.models import Tester

    with env.app.app_context():
        row = db.session.query(Tester).one()
        userstr = row.userstr
    page = env.post("testers/unbind", {"userstr": userstr}, follow_redirects=True)
    assert "tester_wang" not in _html(page)
    assert env.api.count("unbind_tester", env.appid, errcode=0) == 1


def test_upload_code_sends_tenant_ext_json_as_a_string(code_env):
    env = code_env
    _settings(env)
    upload(env, "1.0.0")
    run = last_run(env)
    assert run.state == "done", run.message
    with env.app.app_context():
        commit = db.session.query(CodeCommit).one()
    ext = json.loads(commit.ext_json)
    assert ext == {"extEnable": True, "extAppid": env.appid, "ext": {"shopId": "42", "theme": "red"}}
    assert env.api.count("commit", env.appid, errcode=0) == 1
    status = env.client.get(env.url(f"jobs/{run.id}")).get_json()
    assert status["state"] == "done" and "1.0.0" in status["message"]
    overview = _html(env.get())
    assert "1.0.0" in overview and "job.commit" in overview
    # invalid version re-renders with a field error, nothing enqueued
    bad = env.post("code", {"template_id": env.template_id, "user_version": "v 1/2"})
    assert bad.status_code == 400 and last_run(env).id == run.id


def test_experience_qr_inline_image(code_env):
    env = code_env
    upload(env)
    page = _html(env.get("code"))
    assert 'id="qr-image"' in page
    image = env.client.get(env.url("qrcode?path=pages/index/index%3Fid%3D1"))
    assert image.status_code == 200 and len(image.data) > 100
    # The sandbox sends a PNG; served with nosniff, the type must be the one of the bytes.
    assert image.data.startswith(b"\x89PNG") and image.mimetype == "image/png"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    env.api.faults(endpoint="get_qrcode", appid=env.appid, errcode=-1, count=5)
    failed = env.client.get(env.url("qrcode"))
    assert failed.status_code == 502 and "微信系统繁忙" in failed.get_data(as_text=True)


def test_full_pipeline_submit_push_release(code_env):
    env = code_env
    _settings(env, privacy_texts="UserInfo=展示头像和昵称")
    env.template_id = env.template(privacy_keys=["UserInfo"])
    upload(env, "2.0.0")
    env.api.advance(31)  # the privacy scan finishes
    page = _html(env.get("privacy"))
    assert "UserInfo" in page
    submit(env)
    run = last_run(env)
    assert run.state == "done", run.message
    [audit] = audits(env)
    assert audit.status == 2 and audit.user_version == "2.0.0" and audit.template_id == env.template_id
    assert json.loads(audit.ext_json)["extAppid"] == env.appid
    # a second submit while it is open is refused with the audit id, no call to WeChat
    page = env.post("audit", {"items-0-address": "pages/index/index"}, follow_redirects=True)
    assert audit.auditid in _html(page)
    assert env.api.count("submit_audit", env.appid) == 1
    # release is refused with a reason while the audit is open
    assert "still open" in _html(env.get("release")) or "仍" in _html(env.get("release"))
    env.api.advance(61)  # WeChat approves and pushes weapp_audit_success
    env.api.pushes(appid=env.appid)
    assert audits(env)[0].status == 0
    env.post("release")
    env.drain()
    assert last_run(env).state == "done", last_run(env).message
    assert audits(env)[0].is_release
    assert env.api.count("release", env.appid, errcode=0) == 1
    # getAudit / lastAudit: both refresh from WeChat
    env.post(f"audits/{audit.id}/refresh")
    env.post("audit/refresh")
    assert env.api.count("get_auditstatus", env.appid) >= 1
    assert env.api.count("get_latest_auditstatus", env.appid) >= 1
    with env.app.app_context():
        actions = {a.action for a in db.session.query(Activity).filter_by(miniprogram_id=env.mp_id)}
    assert {"job.commit", "job.submit_audit", "job.release", "audit.success"} <= actions


def test_rejection_reason_is_rendered_safely_and_feedback_offered(code_env):
    env = code_env
    upload(env)
    env.api.advance(31)
    env.api.call("/sandbox/audits/decide", {"appid": env.appid, "rule": {
        "outcome": "reject", "reason": "图片不清晰<br><script>alert(1)</script>请重新上传"}})
    submit(env)
    env.api.advance(61)
    env.api.pushes(appid=env.appid)
    page = _html(env.get("audit"))
    assert "图片不清晰<br>" in page and "<script>alert" not in page
    assert 'name="feedback_info"' in page


def test_errors_reach_english_speakers_in_english(code_env, make_user, login_as):
    env = code_env
    make_user(tenant_id=env.tenant_id, email="en@example.com", language="en")
    english = env.app.test_client()
    login_as("en@example.com", test_client=english)
    page = env.post("domains/server", {"action": "add", "requestdomain": "shop.example.com"}, client=english,
                    follow_redirects=True)
    assert "No domain left to change" in _html(page) and "(error 85017)" in _html(page)
    # a job started by a Chinese-speaking colleague is explained to this reader in English
    env.api.faults(endpoint="commit", appid=env.appid, errcode=85013, count=1)
    upload(env)
    status = english.get(env.url(f"jobs/{last_run(env).id}")).get_json()
    assert status["state"] == "failed" and "ext_json is invalid" in status["message"] and "(error 85013)" in status[
        "message"]
    assert "ext_json is invalid" in _html(english.get(env.url("code")))
    assert "自定义配置无效" in env.client.get(env.url(f"jobs/{last_run(env).id}")).get_json()["message"]


def test_an_upload_sets_the_domains_so_the_trial_version_works(code_env):
    """Testers open the trial version right after an upload: the app's effective domains (here its tenant's)
    are set then, not only at submit time; if WeChat refuses them, the upload stands and the run says why."""
    from tests.releases.test_params import _sandbox_app

    env = code_env
    _settings(env)
    upload(env, "5.0.0")
    run = last_run(env)
    assert run.kind == "commit" and run.state == "done", run.message
    assert "Its domains are set too" in json.loads(run.message)["en"]
    assert "域名也已设置" in json.loads(run.message)["zh"]
    assert _actions(env, "modify_domain") == ["get", "set"]
    assert _actions(env, "setwebviewdomain") == ["get", "set"]
    flat = json.dumps(_sandbox_app(env))
    assert "https://api.localhost" in flat and "https://www.localhost" in flat

    env.api.faults(endpoint="modify_domain", appid=env.appid, errcode=85017, count=1)
    upload(env, "5.0.1")
    run = last_run(env)
    assert run.state == "done", run.message
    english = json.loads(run.message)["en"]
    assert "Version 5.0.1 uploaded" in english and "Its domains could not be set" in english
    assert "85017" in english or "domain" in english.lower()
    with env.app.app_context():
        versions = [c.user_version for c in db.session.query(CodeCommit).filter_by(miniprogram_id=env.mp_id)]
    assert versions == ["5.0.0", "5.0.1"]
