"""Places where the sandbox used to differ from the official pages (FIDELITY.md's "Known differences").

Each test quotes the doc sentence it holds the sandbox to.
"""


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
