"""speedupaudit's own errcodes reach the merchant in words (a second speed-up of one audit is 89404), and the
client sends a JSON body to the pages that answer 44002 without one."""

from tests.releases.test_pipeline import _html, submit, upload


def test_second_speedup_of_one_audit_is_refused_in_words(code_env):
    env = code_env
    upload(env)
    env.api.advance(31)
    submit(env)
    first = env.post("audit/speedup", follow_redirects=True)
    assert first.status_code == 200 and env.api.count("speedupaudit", env.appid, errcode=0) == 1
    again = _html(env.post("audit/speedup", follow_redirects=True))
    assert "该审核单已经加急过，无需重复申请。" in again
    assert env.api.count("speedupaudit", env.appid, errcode=89404) == 1


def test_the_client_sends_a_body_where_wechat_requires_one(code_env):
    """getversioninfo, get_webviewdomain_confirmfile and getprivacysetting answer 44002 without a body."""
    from portal.extensions import db
    from portal.models import MiniProgram
    from portal.services import wechat

    env = code_env
    with env.app.app_context():
        wxa = wechat.api(db.session.get(MiniProgram, env.mp_id))
        assert wxa.code.get_version_info()["errcode"] == 0
        assert wxa.domains.get_webviewdomain_confirmfile()["file_name"]
        assert wxa.privacy.get_privacy_setting()["errcode"] == 0
    for endpoint in ("getversioninfo", "get_webviewdomain_confirmfile", "getprivacysetting"):
        assert env.api.count(endpoint, env.appid, errcode=0) == 1
