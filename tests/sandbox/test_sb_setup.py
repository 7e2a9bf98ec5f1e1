"""Setting up a mini-program: basic information, temporary media, categories and location APIs, the audits
the control API decides with their pushes, and submit_audit's 86002 / 85008 for a new mini-program."""

import pytest
import requests

from sandbox.avatars import avatar_png
from tests.sandbox.helpers import committed_and_scanned, submit

GET = "GET"


@pytest.fixture
def blank(platform):
    """A new mini-program (no name, avatar, introduction or category), authorized: (appid, access token)."""
    appid, info = platform.authorized_miniprogram(blank=True)
    return appid, info["authorizer_access_token"]


def _upload(api, access, content=None, name="a.png", kind="image"):
    files = {"media": (name, content if content is not None else avatar_png(name), "image/png")}
    return requests.post(api.base + "/cgi-bin/media/upload", params={"access_token": access, "type": kind},
                         files=files, timeout=10).json()


def _info(api, access):
    return api.call("/cgi-bin/account/getaccountbasicinfo", {}, access_token=access)


def test_a_new_miniprogram_is_refused_until_it_is_set_up(api, platform, blank):
    appid, access = blank
    info = _info(api, access)
    assert (info["nickname"], info["head_image_info"]["head_image_url"], info["signature_info"]["signature"]) == \
        ("", "", "")
    committed_and_scanned(api, platform, access)
    assert submit(api, access)["errcode"] == 86002
    assert api.call("/wxa/setnickname", {"nick_name": "花间咖啡"}, access_token=access) == \
        {"errcode": 0, "errmsg": "ok", "wording": "", "audit_id": 0}
    media_id = _upload(api, access)["media_id"]
    crop = {"head_img_media_id": media_id, "x1": "0", "y1": "0", "x2": "1", "y2": "1"}
    assert api.call("/cgi-bin/account/modifyheadimage", crop, access_token=access)["errcode"] == 0
    assert api.call("/cgi-bin/account/modifysignature", {"signature": "花间咖啡点单"}, access_token=access)["errcode"] == 0
    assert submit(api, access)["errcode"] == 85008  # no approved category yet
    added = {"categories": [{"first": 304, "second": 785, "certicates": []}]}
    assert api.call("/cgi-bin/wxopen/addcategory", added, access_token=access)["errcode"] == 0
    assert api.call("/wxa/get_category", method=GET, access_token=access)["category_list"][0]["second_id"] == 785
    assert submit(api, access)["errcode"] == 0
    info = _info(api, access)
    assert info["nickname"] == "花间咖啡" and info["head_image_info"]["head_image_url"].endswith(f"{appid}.png")


def test_basic_information_errcodes(api, blank):
    _appid, access = blank
    name = lambda body: api.call("/wxa/setnickname", body, access_token=access)["errcode"]  # noqa: E731
    assert name({}) == 47001
    assert name({"nick_name": "花间小程序"}) == 40097  # 「不支持包含“小程序”关键字的昵称」
    assert name({"nick_name": "官方花间"}) == 47001  # a protected word needs the licence
    assert name({"nick_name": "官方花间", "license": "not-a-media-id"}) == 40007
    assert _upload(api, access, b"not an image")["errcode"] == 40005
    assert _upload(api, access, kind="voice")["errcode"] == 40004
    media_id = _upload(api, access)["media_id"]
    head = {"head_img_media_id": media_id, "x1": "0.9", "y1": "0", "x2": "0.1", "y2": "1"}
    assert api.call("/cgi-bin/account/modifyheadimage", head, access_token=access)["errcode"] == 53205
    head.update(head_img_media_id="from-uploadmedia")
    assert api.call("/cgi-bin/account/modifyheadimage", head, access_token=access)["errcode"] == 40007
    assert api.call("/cgi-bin/account/modifysignature", {"signature": "好"}, access_token=access)["errcode"] == 53204
    assert api.call("/wxa/api_wxa_querynickname", {"audit_id": 1}, access_token=access)["errcode"] == 91011
    assert api.call("/cgi-bin/account/getaccountbasicinfo", method=GET, access_token=access)["errcode"] == 43002


def test_name_audit_is_decided_by_the_control_api_and_pushed(api, platform, receiver, blank):
    appid, access = blank
    licence = _upload(api, access)["media_id"]
    answer = api.call("/wxa/setnickname", {"nick_name": "官方花间", "license": licence}, access_token=access)
    assert answer["errcode"] == 0 and answer["audit_id"]
    query = {"audit_id": answer["audit_id"]}
    assert api.call("/wxa/api_wxa_querynickname", query, access_token=access)["audit_stat"] == 1
    assert _info(api, access)["nickname"] == ""  # the name waits for its audit
    api.call("/sandbox/setup/nickname/decide", {"appid": appid, "outcome": "approve", "wait": True})
    assert api.call("/wxa/api_wxa_querynickname", query, access_token=access)["audit_stat"] == 3
    assert _info(api, access)["nickname"] == "官方花间"
    push = receiver.wait_for("wxa_nickname_audit")[0]
    assert (push["ret"], push["nickname"]) == ("3", "官方花间")
    assert requests.post(api.base + "/sandbox/setup/nickname/decide", json={"appid": appid},
                         timeout=10).status_code == 400  # nothing left to decide


def test_categories_needing_documents_wait_for_their_audit(api, receiver, blank):
    appid, access = blank
    add = lambda items: api.call("/cgi-bin/wxopen/addcategory", {"categories": items},  # noqa: E731
                                 access_token=access)["errcode"]
    tree = api.call("/cgi-bin/wxopen/getallcategories", method=GET, access_token=access)["categories_list"]
    food = next(c for c in tree["categories"] if c["id"] == 790)
    assert food["father"] == 304 and food["qualify"]["exter_list"][0]["inner_list"][0]["name"] == "《食品经营许可证》"
    assert add([{"first": 304, "second": 790, "certicates": []}]) == 53305
    assert add([{"first": 287, "second": 790}]) == 53303
    permit = _upload(api, access)["media_id"]
    assert add([{"first": 304, "second": 790, "certicates": [{"key": "《食品经营许可证》", "value": permit}]}]) == 0
    assert add([{"first": 304, "second": 790, "certicates": [{"key": "《食品经营许可证》", "value": permit}]}]) == 53304
    held = api.call("/cgi-bin/wxopen/getcategory", method=GET, access_token=access)
    assert [(c["second"], c["audit_status"]) for c in held["categories"]] == [(790, 1)]
    assert api.call("/wxa/get_category", method=GET, access_token=access)["category_list"] == []
    api.call("/sandbox/setup/categories/decide", {"appid": appid, "outcome": "reject", "reason": "资质模糊",
                                                  "wait": True})
    push = receiver.wait_for("wxa_category_audit")[0]
    assert (push["ret"], push["second"], push["reason"]) == ("2", "790", "资质模糊")
    assert api.call("/cgi-bin/wxopen/deletecategory", {"first": 304, "second": 790}, access_token=access)["errcode"] == 0
    assert api.call("/cgi-bin/wxopen/deletecategory", {"first": 304, "second": 790}, access_token=access)["errcode"] == \
        53303


def test_location_api_applications(api, receiver, blank):
    appid, access = blank
    apply = lambda **body: api.call("/wxa/security/apply_privacy_interface", body, access_token=access)  # noqa: E731
    assert apply(api_name="wx.getLocation")["errcode"] == 61034
    assert apply(api_name="wx.getLocation", content="导航")["errcode"] == 61034  # 「三选一填写」
    assert apply(api_name="wx.getUserInfo", content="x", url_list=["https://a.example"])["errcode"] == 61035
    assert apply(api_name="wx.getLocation", content="导航", video_list=["https://a.example/v.mov"])["errcode"] == 61032
    assert apply(api_name="wx.getLocation", content="导航", pic_list=["https://a.example/p.png"])["audit_id"]
    assert apply(api_name="wx.getLocation", content="导航", pic_list=["https://a.example/p.png"])["errcode"] == 61031
    rows = {r["api_name"]: r for r in api.call("/wxa/security/get_privacy_interface", method=GET,
                                                access_token=access)["interface_list"]}
    assert rows["wx.getLocation"]["status"] == 3 and rows["wx.chooseLocation"]["status"] == 1
    api.call("/sandbox/setup/privacy-interface/decide", {"appid": appid, "api_name": "wx.getLocation",
                                                         "outcome": "approve", "wait": True})
    receiver.wait_for("wxa_privacy_apply")
    plain = api.call("/sandbox/pushes", method=GET, type="wxa_privacy_apply")["pushes"][0]["plaintext"]
    assert "<result_info><api_name><![CDATA[wx.getLocation]]></api_name>" in plain
    assert "<status><![CDATA[3]]></status>" in plain
    rows = api.call("/wxa/security/get_privacy_interface", method=GET, access_token=access)["interface_list"]
    assert next(r for r in rows if r["api_name"] == "wx.getLocation")["status"] == 5
    assert "wx.getLocation" in api.call(f"/sandbox/miniprograms/{appid}", method=GET)["miniprogram"][
        "location_permissions"]
