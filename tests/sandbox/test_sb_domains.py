"""Server domains (platform list vs direct), web-view domains and testers."""

GET = "GET"


def test_modify_domain_filters_to_platform_domains(api, mp):
    _, access = mp
    url = "/wxa/modify_domain"
    got = api.call(url, {"action": "add", "requestdomain": ["https://api.portal.example.com", "https://evil.com",
                                                           "https://1.2.3.4"],
                         "wsrequestdomain": ["wss://ws.portal.example.com"]}, access_token=access)
    assert got["errcode"] == 0
    assert got["requestdomain"] == ["https://api.portal.example.com"]
    assert got["invalid_requestdomain"] == ["https://evil.com", "https://1.2.3.4"]
    assert got["wsrequestdomain"] == ["wss://ws.portal.example.com"]
    assert api.call(url, {"action": "add", "requestdomain": ["https://evil.com"]},
                    access_token=access)["errcode"] == 85017
    assert api.call(url, {"action": "add", "requestdomain": ["http://portal.example.com"]},
                    access_token=access)["errcode"] == 85017  # scheme must be https
    assert api.call(url, {"action": "bogus"}, access_token=access)["errcode"] == 40097
    deleted = api.call(url, {"action": "delete", "requestdomain": ["https://api.portal.example.com"]},
                       access_token=access)
    assert deleted["requestdomain"] == []
    assert api.call(url, {"action": "get"}, access_token=access)["wsrequestdomain"] == ["wss://ws.portal.example.com"]


def test_direct_domains_and_effective_view(api, platform, mp):
    appid, access = mp
    direct = api.call("/wxa/modify_domain_directly", {"action": "set", "requestdomain": ["https://cdn.other.com"]},
                      access_token=access)
    assert direct["requestdomain"] == ["https://cdn.other.com"]
    api.call("/wxa/modify_domain", {"action": "set", "requestdomain": ["https://portal.example.com"]},
             access_token=access)
    effective = api.call("/wxa/get_effective_domain", {}, access_token=access)
    assert effective["direct_domain"]["requestdomain"] == ["https://cdn.other.com"]
    assert effective["third_domain"]["requestdomain"] == ["https://portal.example.com"]
    assert set(effective["effective_domain"]["requestdomain"]) == {"https://cdn.other.com",
                                                                   "https://portal.example.com"}
    token = platform.component_token()
    info = api.call("/cgi-bin/component/api_get_authorizer_info", {"authorizer_appid": appid},
                    component_access_token=token)
    assert "https://cdn.other.com" in info["authorizer_info"]["MiniProgramInfo"]["network"]["RequestDomain"]


def test_webview_domains(api, mp):
    _, access = mp
    url = "/wxa/setwebviewdomain"
    assert api.call(url, {"action": "add", "webviewdomain": ["https://h5.nowhere.com"]},
                    access_token=access)["errcode"] == 89021
    added = api.call(url, {"action": "add", "webviewdomain": ["https://h5.portal.example.com"]}, access_token=access)
    assert added["webviewdomain"] == ["https://h5.portal.example.com"]
    assert api.call(url, {"action": "add", "webviewdomain": ["https://h5.portal.example.com"]},
                    access_token=access)["errcode"] == 89019
    assert api.call(url, {"action": "get"}, access_token=access)["webviewdomain"] == ["https://h5.portal.example.com"]
    assert api.call(url, {"action": "delete", "webviewdomain": ["https://h5.portal.example.com"]},
                    access_token=access)["webviewdomain"] == []


def test_testers(api, mp):
    _, access = mp
    assert api.call("/wxa/bind_tester", {"wechatid": "x"}, access_token=access)["errcode"] == 85001
    assert api.call("/wxa/bind_tester", {"wechatid": "unknown_person"}, access_token=access)["errcode"] == 85001
    bound = api.call("/wxa/bind_tester", {"wechatid": "alice_2024"}, access_token=access)
    assert bound["errcode"] == 0 and len(bound["userstr"]) == 32
    assert api.call("/wxa/bind_tester", {"wechatid": "alice_2024"}, access_token=access)["errcode"] == 85004
    members = api.call("/wxa/memberauth", {"action": "get_experiencer"}, access_token=access)["members"]
    assert members == [{"userstr": bound["userstr"]}]
    assert api.call("/wxa/memberauth", {"action": "nope"}, access_token=access)["errcode"] == 40097
    api.call("/wxa/unbind_tester", {"userstr": bound["userstr"]}, access_token=access)
    assert api.call("/wxa/memberauth", {"action": "get_experiencer"}, access_token=access)["members"] == []
    for i in range(15):
        assert api.call("/wxa/bind_tester", {"wechatid": f"tester{i:03d}"}, access_token=access)["errcode"] == 0
    assert api.call("/wxa/bind_tester", {"wechatid": "one_too_many"}, access_token=access)["errcode"] == 85002
    assert api.call("/wxa/unbind_tester", {"wechatid": "tester000"}, access_token=access)["errcode"] == 0
    assert len(api.call("/wxa/memberauth", {"action": "get_experiencer"}, access_token=access)["members"]) == 14


def test_direct_webview_domains_confirm_file_and_effective_view(api, mp):
    _, access = mp
    direct = api.call("/wxa/setwebviewdomain_directly", {"action": "add", "webviewdomain": ["https://h5.any.com"]},
                      access_token=access)
    assert direct["webviewdomain"] == ["https://h5.any.com"]
    api.call("/wxa/setwebviewdomain", {"action": "set", "webviewdomain": ["https://portal.example.com"]},
             access_token=access)
    effective = api.call("/wxa/get_effective_webviewdomain", {}, access_token=access)
    assert effective["direct_webviewdomain"] == ["https://h5.any.com"]
    assert effective["third_webviewdomain"] == ["https://portal.example.com"]
    assert set(effective["effective_webviewdomain"]) == {"https://h5.any.com", "https://portal.example.com"}
    confirm = api.call("/wxa/get_webviewdomain_confirmfile", {}, access_token=access)
    assert confirm["file_name"].endswith(".txt") and len(confirm["file_content"]) == 32
    assert api.call("/wxa/get_webviewdomain_confirmfile", {}, access_token=access) == confirm
