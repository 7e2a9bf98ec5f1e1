"""Setting up a new mini-program through the Setup tab, against the sandbox: the overview's checklist from all
red to all green (name and category audits decided by the sandbox's control API, their pushes applied), a
submission WeChat would refuse with 86002 stopped before WeChat is asked, and bad input explained in words
with nothing sent."""

import io
import re

import pytest

from portal.extensions import db
from portal.models import Activity, MiniProgram, MiniProgramSetup
from sandbox.avatars import avatar_png
from tests.conftest import CodeEnv, post_form

CHECKS = ("name", "avatar", "introduction", "category", "guideline", "domains", "interfaces")


def _html(response):
    return response.get_data(as_text=True)


@pytest.fixture
def blank_env(platform, make_tenant, make_user, login_as):
    """A merchant with a mini-program new to WeChat: no name, avatar, introduction or category."""
    platform.app.config.update(JOB_RETRY_INTERVALS=[0, 0])
    tenant_id = make_tenant("Blossom Café")
    make_user(tenant_id=tenant_id, email="owner@example.com")
    client = platform.client()
    assert login_as("owner@example.com", test_client=client).status_code == 302
    appid = platform.authorized_app(tenant_id, blank=True)
    with platform.app.app_context():
        mp_id = MiniProgram.query.filter_by(authorizer_appid=appid).one().id
    env = CodeEnv(platform, client, tenant_id, appid, mp_id, None)
    env.template_id = env.template()
    return env


def _post(env, suffix, data, **kwargs):
    return post_form(env.client, env.url(suffix), data, token_from="/dashboard", **kwargs)


def _flash(response):
    """The flashed messages of a page, unescaped enough to search."""
    found = re.findall(r'<div class="flash flash-[a-z]+"[^>]*>(.*?)</div>', _html(response), re.S)
    return " ".join(found).replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")


def checklist(env):
    """{item: "ok" | "missing"} as the overview shows it."""
    found = re.findall(r'<li class="check-(ok|missing)" data-check="([a-z]+)"', _html(env.get()))
    return {key: state for state, key in found}


def recheck(env):
    response = _post(env, "setup/recheck", {})
    assert response.status_code == 302, _html(response)
    return checklist(env)


def _png(seed="avatar"):
    return io.BytesIO(avatar_png(seed)), f"{seed}.png"


def _decide(env, what, **body):
    return env.api.call(f"/sandbox/setup/{what}/decide", {"appid": env.appid, "wait": True, **body})


def test_checklist_goes_from_all_red_to_all_green(blank_env):
    env = blank_env
    settings = {"requestdomain": "", "contact_email": "privacy@example.com", "notice_method": "弹窗",
                "required_private_infos": "getLocation", "ext_params": "", "privacy_texts": ""}
    assert post_form(env.client, "/miniprograms/settings", settings, token_from="/dashboard").status_code == 302
    assert checklist(env) == {}  # never checked: nothing asked of WeChat yet
    assert recheck(env) == dict.fromkeys(CHECKS, "missing")

    # a name with a protected word is reviewed: the licence goes with it, the name waits for the audit
    response = _post(env, "setup/name", {"nick_name": "花间官方咖啡", "proof": _png("licence")},
                     content_type="multipart/form-data", follow_redirects=True)
    assert "review" in _flash(response) or "审核" in _flash(response), _flash(response)
    assert env.api.count("media_upload", env.appid) == 1
    assert "in review" in _html(env.get("setup")) or "审核中" in _html(env.get("setup"))
    assert _post(env, "setup/avatar", {"picture": _png()}, content_type="multipart/form-data").status_code == 302
    assert _post(env, "setup/introduction", {"signature": "花间咖啡的线上点单小程序。"}).status_code == 302
    # 食品 needs 《食品经营许可证》: added with its picture, then reviewed
    assert _post(env, "setup/categories/add", {"second": "790", "documents": [_png("permit")]},
                 content_type="multipart/form-data").status_code == 302
    assert _post(env, "setup/location-apis/apply", {"api_name": "wx.getLocation", "content": "到店自提时显示最近的门店。",
                                                    "pictures": "https://www.localhost/shot.png"}).status_code == 302
    assert _post(env, "privacy/apply", {}).status_code == 302
    assert _post(env, "domains/server", {"action": "add", "requestdomain": "api.localhost"}).status_code == 302

    state = recheck(env)
    assert [k for k, v in state.items() if v == "missing"] == ["name", "category", "interfaces"]

    for what in ("nickname", "categories", "privacy-interface"):
        assert _decide(env, what, outcome="approve")["push_id"]
    pushes = {p["push_type"]: p["state"] for p in env.api.pushes(appid=env.appid)}
    assert {pushes.get(k) for k in ("wxa_nickname_audit", "wxa_category_audit", "wxa_privacy_apply")} == {"success"}
    # the pushes made the checklist stale: the overview reads WeChat again by itself
    assert checklist(env) == dict.fromkeys(CHECKS, "ok")
    with env.app.app_context():
        row = MiniProgramSetup.query.filter_by(miniprogram_id=env.mp_id).one()
        assert (row.nickname_status, db.session.get(MiniProgram, env.mp_id).nick_name) == (3, "花间官方咖啡")
        actions = {a.action for a in Activity.query.filter_by(miniprogram_id=env.mp_id)}
    assert {"setup.nickname_audit.approved", "setup.category_audit.approved",
            "setup.privacy_apply.approved"} <= actions


def test_a_rejected_name_shows_the_reason(blank_env):
    env = blank_env
    _post(env, "setup/name", {"nick_name": "中国花间", "proof": _png("licence")}, content_type="multipart/form-data")
    _decide(env, "nickname", outcome="reject", reason="证明材料与名称不符")
    page = _html(env.get("setup"))
    assert "证明材料与名称不符" in page and 'id="name-audit"' in page
    with env.app.app_context():
        assert MiniProgramSetup.query.filter_by(miniprogram_id=env.mp_id).one().nickname_status == 2


def test_submit_that_would_fail_with_86002_is_stopped_before_wechat(blank_env):
    env = blank_env
    response = env.post("code", {"template_id": env.template_id, "user_version": "1.0.0", "user_desc": "first"})
    assert response.status_code == 302
    env.drain()
    env.api.advance(31)  # WeChat's privacy scan of the upload ends
    data = {"items-0-address": "pages/index/index", "items-0-category": "0", "items-0-title": "首页"}
    page = env.post("audit", data, follow_redirects=True)
    message = _flash(page)
    assert "Setup tab" in message or "设置" in message, message
    assert env.api.count("submit_audit", env.appid) == 0
    # once name, avatar, introduction and an approved category are there, the same submission goes through
    _post(env, "setup/name", {"nick_name": "花间咖啡"})
    _post(env, "setup/avatar", {"picture": _png()}, content_type="multipart/form-data")
    _post(env, "setup/introduction", {"signature": "花间咖啡的线上点单小程序。"})
    _post(env, "setup/categories/add", {"second": "785"}, content_type="multipart/form-data")
    assert env.post("audit", data).status_code == 302
    env.drain()
    assert env.api.count("submit_audit", env.appid, errcode=0) == 1


@pytest.mark.parametrize(("suffix", "data", "words", "endpoint"), [
    ("setup/name", {"nick_name": "花间小程序"}, ("小程序",), "setnickname"),
    ("setup/avatar", {"picture": (io.BytesIO(b"GIF-not-really"), "a.png")}, ("PNG",), "modifyheadimage"),
    ("setup/introduction", {"signature": "好"}, ("4", "120"), "modifysignature"),
    ("setup/categories/add", {"second": "790"}, ("食品经营许可证",), "addcategory"),
    ("setup/categories/add", {"second": "food"}, ("类目",), "addcategory"),
    ("setup/location-apis/apply", {"api_name": "wx.getLocation", "content": "导航"}, ("网页", "图片"),
     "apply_privacy_interface"),
])
def test_bad_input_is_explained_and_nothing_is_sent(blank_env, suffix, data, words, endpoint):
    env = blank_env
    response = _post(env, suffix, data, content_type="multipart/form-data", follow_redirects=True)
    message = _flash(response)
    assert response.status_code == 200 and message, _html(response)
    assert all(w in message for w in words), message
    assert env.api.count(endpoint, env.appid) == 0
    assert env.api.count("media_upload", env.appid) == 0


def test_wechat_refusals_are_shown_in_words(blank_env):
    """A protected word without the licence: WeChat refuses (47001), the page says what is wrong."""
    env = blank_env
    response = _post(env, "setup/name", {"nick_name": "官方花间"}, follow_redirects=True)
    assert env.api.count("setnickname", env.appid, errcode=47001) == 1
    assert "47001" in _flash(response), _flash(response)
    with env.app.app_context():
        assert Activity.query.filter_by(miniprogram_id=env.mp_id, action="setup.name", outcome="failed").count() == 1
