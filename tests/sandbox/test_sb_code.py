"""Commit, pages, categories, QR codes, privacy scan and privacy settings."""

import json

from tests.sandbox.helpers import PRIVACY, add_template, commit

GET = "GET"


def test_commit_validation_errcodes(api, platform, mp):
    appid, access = mp
    tid = add_template(api, platform)
    assert commit(api, access, 999)["errcode"] == 85014
    quoted = {"template_id": str(tid), "user_version": "1", "user_desc": "", "ext_json": "{}"}
    assert api.call("/wxa/commit", quoted, access_token=access)["errcode"] == 85014  # quoted template_id
    assert api.call("/wxa/commit", {"template_id": tid, "user_version": "1", "user_desc": "", "ext_json": {"a": 1}},
                    access_token=access)["errcode"] == 47001  # ext_json must be a string
    assert api.post("/wxa/commit", None, access_token=access).json()["errcode"] in (0, 85014, 47001, 40097)
    resp = api.session.post(api.base + "/wxa/commit", data="not json", params={"access_token": access})
    assert resp.json()["errcode"] == 47001
    assert api.call("/wxa/commit", {"template_id": tid, "user_version": "1", "user_desc": "", "ext_json": "{bad"},
                    access_token=access)["errcode"] == 85048
    assert commit(api, access, tid, ext=["list"])["errcode"] == 85013
    assert commit(api, access, tid, ext={"extAppid": "wxsomeoneelse"})["errcode"] == 85013
    assert commit(api, access, tid, ext={"pages": ["pages/nope/nope"]})["errcode"] == 85045
    assert commit(api, access, tid, ext={"extPages": {"pages/nope/nope": {}}})["errcode"] == 85045
    assert commit(api, access, tid, ext={"pages": []})["errcode"] == 85047
    tab = {"pages": ["pages/index/index"], "tabBar": {"list": [{"pagePath": "pages/me/me"}]}}
    assert commit(api, access, tid, ext=tab)["errcode"] == 85046
    assert commit(api, access, tid, version="x" * 65)["errcode"] == 40097
    ok = commit(api, access, tid, ext={"extAppid": appid, "ext": {"shop": 1}, "pages": ["pages/index/index"]})
    assert ok == {"errcode": 0, "errmsg": "ok"}
    assert api.call("/wxa/get_page", method=GET, access_token=access)["page_list"] == ["pages/index/index"]


def test_standard_template_accepts_only_extappid_ext_and_window(api, platform, mp):
    """Commit doc: a standard template's ext_json supports only {"extAppid", "ext", "window"}; any other key
    is 9402203 (标准模板extjson错误), including the extEnable a normal template takes."""
    appid, access = mp
    tid = add_template(api, platform, template_type=1)
    for extra in ({"extEnable": True}, {"requiredPrivateInfos": ["getLocation"]}, {"directCommit": False},
                  {"pages": ["pages/index/index"]}):
        answer = commit(api, access, tid, ext={"extAppid": appid, "ext": {"a": 1}, **extra})
        assert answer["errcode"] == 9402203 and next(iter(extra)) in answer["errmsg"]
    assert commit(api, access, tid, ext={"extAppid": appid, "ext": {"a": 1}, "window": {}})["errcode"] == 0
    normal = add_template(api, platform)
    assert commit(api, access, normal, ext={"extEnable": True, "extAppid": appid, "ext": {},
                                            "requiredPrivateInfos": ["getLocation"]})["errcode"] == 0


def test_get_page_without_commit_and_category(api, mp):
    _, access = mp
    assert api.call("/wxa/get_page", method=GET, access_token=access)["errcode"] == 86001
    categories = api.call("/wxa/get_category", method=GET, access_token=access)["category_list"]
    assert categories and {"first_class", "second_class", "first_id", "second_id"} <= set(categories[0])


def test_official_account_and_missing_permission(api, platform):
    oa, info = platform.authorized_miniprogram(account_type="official_account")
    assert api.call("/wxa/get_category", method=GET,
                    access_token=info["authorizer_access_token"])["errcode"] == 85015
    _, info = platform.authorized_miniprogram(func_info=[17, 19])
    assert api.call("/wxa/get_category", method=GET,
                    access_token=info["authorizer_access_token"])["errcode"] == 48001


def test_get_qrcode_is_a_png_that_changes_with_version(api, platform, mp):
    _, access = mp
    assert api.call("/wxa/get_qrcode", method=GET, access_token=access)["errcode"] == 86001
    tid = add_template(api, platform)
    commit(api, access, tid, version="1.0.0")
    first = api.get("/wxa/get_qrcode", access_token=access, path="pages/index/index?x=1")
    assert first.headers["Content-Type"] == "image/png" and first.content[:8] == b"\x89PNG\r\n\x1a\n"
    commit(api, access, tid, version="2.0.0")
    second = api.get("/wxa/get_qrcode", access_token=access, path="pages/index/index?x=1")
    assert second.content != first.content
    assert api.calls(endpoint="get_qrcode")["counts"]["get_qrcode"] == 3


def test_code_privacy_scan_window(api, platform, mp):
    _, access = mp
    tid = add_template(api, platform, privacy_keys=["UserInfo", "Location"], location_apis=["getLocation"])
    commit(api, access, tid)
    assert api.call("/wxa/security/get_code_privacy_info", method=GET, access_token=access)["errcode"] == 61039
    api.advance(31)
    assert api.call("/wxa/security/get_code_privacy_info", method=GET, access_token=access)["errcode"] == 0
    commit(api, access, tid)  # every commit restarts the scan
    assert api.call("/wxa/security/get_code_privacy_info", method=GET, access_token=access)["errcode"] == 61039


def test_code_privacy_info_lists_location_api_names(api, platform):
    """getCodePrivacyInfo: without_auth_list = 没权限的隐私接口的api英文名, without_conf_list = 没配置的隐私接口的
    api英文名 - the doc's own example: getLocation declared but not granted, onLocationChange neither."""
    _, info = platform.authorized_miniprogram()
    access = info["authorizer_access_token"]
    tid = add_template(api, platform, privacy_keys=["UserInfo", "Location"],
                       location_apis=["getLocation", "onLocationChange"])
    commit(api, access, tid, ext={"requiredPrivateInfos": ["getLocation"]})
    api.advance(31)
    scan = api.call("/wxa/security/get_code_privacy_info", method=GET, access_token=access)
    assert scan["without_auth_list"] == ["wx.getLocation", "wx.onLocationChange"]
    assert scan["without_conf_list"] == ["wx.onLocationChange"]  # privacy-guideline keys never appear here
    _, info = platform.authorized_miniprogram(location_permissions=["wx.getLocation", "onLocationChange"])
    access = info["authorizer_access_token"]
    commit(api, access, tid, ext={"requiredPrivateInfos": ["getLocation", "onLocationChange", "chooseAddress"]})
    api.advance(31)
    scan = api.call("/wxa/security/get_code_privacy_info", method=GET, access_token=access)
    assert scan["without_auth_list"] == ["wx.chooseAddress"]  # declared in ext.json, not granted
    assert scan["without_conf_list"] == []
    assert api.post("/sandbox/miniprograms", {"location_permissions": "wx.getLocation"}).status_code == 400


def test_privacy_settings(api, platform, mp):
    _, access = mp
    tid = add_template(api, platform, privacy_keys=["UserInfo"])
    commit(api, access, tid)
    url = "/cgi-bin/component/setprivacysetting"
    assert api.call(url, {**PRIVACY, "owner_setting": {"notice_method": "x"}}, access_token=access)["errcode"] == 86069
    assert api.call(url, {"privacy_ver": 1, "owner_setting": PRIVACY["owner_setting"]},
                    access_token=access)["errcode"] == 86074
    assert api.call(url, {**PRIVACY, "privacy_ver": 1}, access_token=access)["errcode"] == 40097
    assert api.call(url, PRIVACY, access_token=access)["errcode"] == 0
    got = api.call("/cgi-bin/component/getprivacysetting", {"privacy_ver": 2}, access_token=access)
    assert got["code_exist"] == 1 and got["privacy_list"] == ["UserInfo"]
    assert got["setting_list"][0]["privacy_label"] == "用户信息（微信昵称、头像）"
    assert got["owner_setting"]["contact_email"] == "dev@example.com"
    live = api.call("/cgi-bin/component/getprivacysetting", {"privacy_ver": 1}, access_token=access)
    assert live["code_exist"] == 0 and live["setting_list"] == []
    assert "ext_json" not in json.dumps(got)


def test_wxacode_unlimit(api, platform, mp):
    _, access = mp
    url = "/wxa/getwxacodeunlimit"
    assert api.call(url, {"scene": "a=1", "page": "pages/index/index"}, access_token=access)["errcode"] == 41030
    assert api.call(url, {"scene": "x" * 33}, access_token=access)["errcode"] == 40169
    image = api.post(url, {"scene": "a=1", "page": "pages/index/index", "check_path": False}, access_token=access)
    assert image.headers["Content-Type"] == "image/png" and image.content.startswith(b"\x89PNG")
    tid = add_template(api, platform)
    commit(api, access, tid)
    trial = api.post(url, {"scene": "a=1", "page": "pages/shop/shop", "env_version": "trial"}, access_token=access)
    assert trial.headers["Content-Type"] == "image/png"


def test_uploadmedia(api, mp):
    _, access = mp
    url = api.base + "/wxa/uploadmedia"
    resp = api.session.post(url, params={"access_token": access},
                            files={"media": ("shot.png", b"\x89PNG fake", "image/png")}).json()
    assert resp["errcode"] == 0 and resp["mediaid"].startswith("sandbox_media_")
    assert api.session.post(url, params={"access_token": access}).json()["errcode"] == 41005
