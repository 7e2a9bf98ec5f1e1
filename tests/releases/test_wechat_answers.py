"""The release and audit pages read WeChat's answers as its docs define them: getvisitstatus 1 = open
(未暂停服务), 0 = paused (已暂停服务); 86002 on submit means name, avatar or intro is not set."""

from portal.models import MiniProgram
from tests.conftest import CodeEnv
from tests.releases.test_actions import released
from tests.releases.test_pipeline import _html, audits, upload


def _visit_status(env):
    return env.api.call(f"/sandbox/miniprograms/{env.appid}", method="GET")["miniprogram"]["visit_status"]


def test_release_page_reads_visit_status_as_the_doc_defines_it(code_env):
    env = code_env
    released(env, "1.0.0")
    assert _visit_status(env) == 1  # a released mini-program serves visitors: 1 = 未暂停服务
    assert 'id="visit-status">线上版本正常开放访问' in _html(env.get("release"))
    page = _html(env.post("release/visit", {"action": "close"}, follow_redirects=True))
    assert _visit_status(env) == 0 and 'id="visit-status">线上版本已暂停访问' in page
    page = _html(env.post("release/visit", {"action": "open"}, follow_redirects=True))
    assert _visit_status(env) == 1 and 'id="visit-status">线上版本正常开放访问' in page


def test_submit_without_name_avatar_or_intro_is_stopped_before_86002(code_env):
    """WeChat would answer 86002 (小程序还未设置昵称、头像、简介): the portal reads the profile first and says
    what is missing and where to set it, and WeChat is never asked."""
    env = code_env
    appid = env.platform.authorized_app(env.tenant_id, nick_name="", head_img=None, signature="")
    with env.app.app_context():
        mp_id = MiniProgram.query.filter_by(authorizer_appid=appid).one().id
    bare = CodeEnv(env.platform, env.client, env.tenant_id, appid, mp_id, env.template_id)
    upload(bare)
    bare.api.advance(31)
    page = bare.post("audit", {"items-0-address": "pages/index/index", "items-0-category": "0",
                               "items-0-title": "首页"}, follow_redirects=True).get_data(as_text=True)
    assert "头像" in page and "简介" in page and "设置" in page
    assert audits(bare) == [] and bare.api.count("submit_audit", appid) == 0


def test_the_portal_sends_only_what_wechat_accepts(code_env):
    """The sandbox refuses a wrong method (43001/43002), a missing required field (47001), a missing or
    foreign component_appid (41002/40013) and a bare getvisitstatus (44002): a whole release sees none."""
    env = code_env
    released(env, "1.0.0")
    for page in ("", "code", "audit", "release", "domains", "privacy", "testers", "qrcode", "setup",
                 "setup/categories", "setup/location-apis"):
        assert env.get(page).status_code == 200, page
    refused = {43001, 43002, 47001, 41002, 40013, 44002, 61009}
    codes = {int(code) for code in env.api.calls(limit=0)["errcodes"]}
    assert not codes & refused, codes
