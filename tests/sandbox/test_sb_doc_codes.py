"""Errcodes and rules taken from single doc pages: speedupaudit (89402/89404/89405), grayrelease (85081),
setprivacysetting (86069), getwxacodeunlimit (40169, permission set 17) and get_qrcode (set 18 or 86)."""

import pytest

from tests.sandbox.helpers import PRIVACY, committed_and_scanned, submit

GET = "GET"


def speedup(api, access, auditid):
    return api.call("/wxa/speedupaudit", {"auditid": auditid}, access_token=access)


def test_speedup_answers_the_doc_codes(make_platform, api):
    platform = make_platform(speedup_quota=1)
    _, info = platform.authorized_miniprogram()
    access = info["authorizer_access_token"]
    committed_and_scanned(api, platform, access)
    first = submit(api, access)["auditid"]
    assert speedup(api, access, 987654)["errcode"] == 89402  # 该审核单不在待审核队列
    assert speedup(api, access, first)["errcode"] == 0
    again = speedup(api, access, first)
    assert again["errcode"] == 89404 and again["errmsg"] == "本单已加速成功，请勿重复提交"
    assert api.call("/wxa/undocodeaudit", method=GET, access_token=access)["errcode"] == 0
    assert speedup(api, access, first)["errcode"] == 89402  # withdrawn: no longer in the queue
    second = submit(api, access)["auditid"]
    assert speedup(api, access, second)["errcode"] == 89405  # the month's one speed-up is spent
    assert api.calls(endpoint="speedupaudit")["errcodes"].keys() == {"0", "89402", "89404", "89405"}


def test_gray_release_percentage_is_85081(api, platform, mp):
    _, access = mp
    committed_and_scanned(api, platform, access)
    submit(api, access)
    api.advance(61)
    for body in ({"gray_percentage": 101}, {"gray_percentage": -1}, {"gray_percentage": "10"},
                 {"gray_percentage": True}, {}, {"gray_percentage": 0}):
        assert api.call("/wxa/grayrelease", body, access_token=access)["errcode"] == 85081, body
    # doc: 0 ~ 100; "如果gray_percentage=0，support_experiencer_first与support_debuger_first二选一必填"
    body = {"gray_percentage": 0, "support_experiencer_first": True}
    assert api.call("/wxa/grayrelease", body, access_token=access)["errcode"] == 0
    plan = api.call("/wxa/getgrayreleaseplan", method=GET, access_token=access)["gray_release_plan"]
    assert plan["status"] == 1 and plan["gray_percentage"] == 0 and plan["support_experiencer_first"]


@pytest.mark.parametrize("owner", [{"notice_method": "弹窗"}, {"contact_email": "dev@example.com"},
                                   {"contact_phone": "", "notice_method": "弹窗"}, {}])
def test_owner_setting_missing_a_required_field_is_86069(api, mp, owner):
    _, access = mp
    got = api.call("/cgi-bin/component/setprivacysetting", {**PRIVACY, "owner_setting": owner}, access_token=access)
    assert got == {"errcode": 86069, "errmsg": "owner_setting必填字段字段缺失"}


def test_owner_setting_sent_as_a_string_is_47001(api, mp):
    _, access = mp
    body = {**PRIVACY, "owner_setting": '{"contact_email": "dev@example.com", "notice_method": "弹窗"}'}
    assert api.call("/cgi-bin/component/setprivacysetting", body, access_token=access)["errcode"] == 47001


def test_wxacode_scene_length_is_40169(api, mp):
    _, access = mp
    url = "/wxa/getwxacodeunlimit"
    for body in ({"scene": "x" * 33}, {"scene": ""}, {"page": "pages/index/index"}):
        got = api.call(url, {**body, "check_path": False}, access_token=access)
        assert got["errcode"] == 40169 and got["errmsg"].startswith("invalid length for scene"), body
    image = api.post(url, {"scene": "x" * 32, "check_path": False}, access_token=access)
    assert image.content.startswith(b"\x89PNG")


def test_wxacode_needs_set_17_and_the_trial_qrcode_set_18_or_86(api, platform):
    body = {"scene": "a=1", "check_path": False}
    _, only_18 = platform.authorized_miniprogram(func_info=[18])
    assert api.call("/wxa/getwxacodeunlimit", body, access_token=only_18["authorizer_access_token"])["errcode"] == 48001
    _, only_17 = platform.authorized_miniprogram(func_info=[17])
    image = api.post("/wxa/getwxacodeunlimit", body, access_token=only_17["authorizer_access_token"])
    assert image.headers["Content-Type"] == "image/png"
    assert api.call("/wxa/get_qrcode", method=GET, access_token=only_17["authorizer_access_token"])["errcode"] == 48001

    _, only_86 = platform.authorized_miniprogram(func_info=[86])
    # past the permission check (48001) to the next one: no trial version yet (86001)
    assert api.call("/wxa/get_qrcode", method=GET, access_token=only_86["authorizer_access_token"])["errcode"] == 86001
