"""Places where the sandbox used to differ from the official pages (FIDELITY.md's "Known differences").

Each test quotes the doc sentence it holds the sandbox to.
"""

from datetime import datetime, timedelta, timezone

from tests.sandbox.helpers import add_template, commit, committed_and_scanned, submit

GET = "GET"
BEIJING = timezone(timedelta(hours=8))


def test_setwebviewdomain_without_action_adds_every_platform_business_domain(api, make_platform):
    """modifyJumpDomain: "如果没有指定 action，则默认将第三方平台登记的小程序业务域名全部添加到该小程序"."""
    platform = make_platform(webview_domains=["portal.example.com", "h5.example.org"])
    _, info = platform.authorized_miniprogram(nick_name="业务域名")
    access = info["authorizer_access_token"]
    url = "/wxa/setwebviewdomain"
    assert api.call(url, {"action": "set", "webviewdomain": ["https://portal.example.com"]},
                    access_token=access)["errcode"] == 0
    assert api.call(url, {}, access_token=access)["errcode"] == 0
    stored = api.call(url, {"action": "get"}, access_token=access)["webviewdomain"]
    assert stored == ["https://portal.example.com", "https://h5.example.org"]


def test_setwebviewdomain_directly_requires_action(api, mp):
    """modifyJumpDomainDirectly marks ``action`` 必填 是: refused like modify_domain's (47001)."""
    _, access = mp
    refused = api.call("/wxa/setwebviewdomain_directly", {"webviewdomain": ["https://h5.any.com"]},
                       access_token=access)
    assert refused["errcode"] == 47001 and "action" in refused["errmsg"]
    assert api.call("/wxa/setwebviewdomain_directly", {}, access_token=access)["errcode"] == 47001
    assert api.call("/wxa/setwebviewdomain_directly", {"action": "get"}, access_token=access)["errcode"] == 0


def test_authorizer_list_requires_offset_and_count(api, platform, mp):
    """getAuthorizerList: ``offset`` and ``count`` are both 必填 是; count 「拉取数量，最大为 500」."""
    url, token = "/cgi-bin/component/api_get_authorizer_list", platform.component_token()
    for body in ({"count": 10}, {"offset": 0}, {}):
        refused = api.call(url, {**platform.own, **body}, component_access_token=token)
        assert refused.get("errcode") == 47001, body
    too_many = api.call(url, {**platform.own, "offset": 0, "count": 501}, component_access_token=token)
    assert too_many["errcode"] == 40097
    listed = api.call(url, {**platform.own, "offset": 0, "count": 500}, component_access_token=token)
    assert listed["total_count"] == 1 and listed["list"][0]["authorizer_appid"] == mp[0]


def test_submit_audit_refuses_six_items_and_long_feedback(api, platform, mp):
    """submitAudit: item_list 「至多填写 5 项」 (85023 "item size is not in valid range") and feedback_info
    「至多 200 字」 (the doc gives no errcode: 40097 invalid args)."""
    _, access = mp
    committed_and_scanned(api, platform, access)
    item = {"address": "pages/index/index", "first_class": "工具", "second_class": "效率",
            "first_id": 1, "second_id": 2}
    assert submit(api, access, item_list=[item] * 6)["errcode"] == 85023
    assert submit(api, access, item_list=[item], feedback_info="字" * 201)["errcode"] == 40097
    accepted = submit(api, access, item_list=[item] * 5, feedback_info="字" * 200)
    assert accepted["errcode"] == 0 and accepted["auditid"] > 0


def upload(api, access, name, content):
    return api.session.post(api.base + "/wxa/uploadmedia", params={"access_token": access},
                            files={"media": (name, content, "application/octet-stream")}).json()


PNG = b"\x89PNG\r\n\x1a\n"
MP4 = b"\x00\x00\x00\x18ftypmp42"


def test_uploadmedia_checks_format_and_size(api, mp):
    """uploadMediaToCodeAudit: 「图片（image）: 2M，支持PNG\\JPEG\\JPG\\GIF格式 视频（video）：10MB，支持MP4格式」;
    40005 「上传素材文件格式不对」, 40006 (invalid media size) past the limit."""
    _, access = mp
    assert upload(api, access, "shot.bmp", b"BM" + b"\0" * 64)["errcode"] == 40005
    assert upload(api, access, "shot", PNG + b"\0" * 64)["errcode"] == 40005
    assert upload(api, access, "shot.jpg", PNG + b"\0" * 64)["errcode"] == 40005  # name and bytes disagree
    assert upload(api, access, "shot.png", PNG + b"\0" * (2 * 1024 * 1024))["errcode"] == 40006
    image = upload(api, access, "shot.JPG", b"\xff\xd8\xff\xe0" + b"\0" * (2 * 1024 * 1024 - 4))
    assert image["errcode"] == 0 and image["type"] == "image"
    assert upload(api, access, "clip.mp4", MP4 + b"\0" * (10 * 1024 * 1024))["errcode"] == 40006
    video = upload(api, access, "clip.mp4", MP4 + b"\0" * 1024)
    assert video["errcode"] == 0 and video["type"] == "video"


def released(api, platform, access, version):
    tid = add_template(api, platform)
    assert commit(api, access, tid, version=version)["errcode"] == 0
    api.advance(31)
    assert submit(api, access)["errcode"] == 0
    api.advance(61)
    assert api.call("/wxa/release", {}, access_token=access)["errcode"] == 0


def history(api, access):
    data = api.call("/wxa/revertcoderelease", method=GET, access_token=access, action="get_history_version")
    return [v["user_version"] for v in data["version_list"]]


def test_revertcoderelease_keeps_five_versions_and_none_after_a_rollback(api, platform, mp):
    """revertCodeRelease: 「可指定版本进行回滚，但最多保存最近发布或回退的5个版本」 and
    「当前版本回退后，不能再调用版本回退接口，也不会再查到版本信息。」"""
    _, access = mp
    versions = [f"1.0.{n}" for n in range(6)]
    for version in versions:
        released(api, platform, access, version)
    assert history(api, access) == list(reversed(versions))[:5]
    oldest = api.call("/wxa/revertcoderelease", method=GET, access_token=access, action="get_history_version")
    assert api.call("/wxa/revertcoderelease", method=GET, access_token=access,
                    app_version=oldest["version_list"][-1]["app_version"] - 1)["errcode"] == 87012
    assert api.call("/wxa/revertcoderelease", method=GET, access_token=access)["errcode"] == 0
    assert history(api, access) == []
    info = api.call("/wxa/getversioninfo", {}, access_token=access)
    assert info["release_info"]["release_version"] == "1.0.4"


def test_clear_quota_month_is_a_beijing_calendar_month(api, platform):
    """clearQuota: 「每个账号每月共10次清零操作机会」: the 10 come back when the month turns, 00:00 Beijing time."""
    now = api.call("/sandbox/clock", method=GET)["now"]
    soon = datetime.fromtimestamp(now, BEIJING) + timedelta(minutes=30)
    next_month = (soon.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    api.advance(next_month.timestamp() - 600 - now)  # ten minutes before the month turns in Beijing
    body = {"component_appid": platform.appid, "appsecret": platform.secret}
    for _ in range(10):
        assert api.call("/cgi-bin/component/clear_quota/v2", body)["errcode"] == 0
    assert api.call("/cgi-bin/component/clear_quota/v2", body)["errcode"] == 48006
    api.advance(1200)  # ten minutes into the new month (still the old month in UTC)
    assert api.call("/cgi-bin/component/clear_quota/v2", body)["errcode"] == 0


def test_normal_templates_carry_no_audit_fields(api, platform):
    """getTemplateList: audit_scene, audit_status and reason are 「普通模板不返回该值」."""
    add_template(api, platform)
    add_template(api, platform, template_type=1)
    token = platform.component_token()
    listed = api.call("/wxa/gettemplatelist", method=GET, access_token=token)["template_list"]
    normal = next(t for t in listed if t["template_type"] == 0)
    standard = next(t for t in listed if t["template_type"] == 1)
    assert not {"audit_scene", "audit_status", "reason"} & set(normal)
    assert standard["audit_status"] == 3
