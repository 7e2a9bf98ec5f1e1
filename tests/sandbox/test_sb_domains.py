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
    info = api.call("/cgi-bin/component/api_get_authorizer_info", {**platform.own, "authorizer_appid": appid},
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


def _seconds_into_next_beijing_month(api):
    """How far to move the sandbox clock to be one minute into the next calendar month, Beijing time."""
    from datetime import UTC, datetime, timedelta

    now = api.call("/sandbox/clock", method="GET")["now"]
    beijing = datetime.fromtimestamp(now, UTC) + timedelta(hours=8)
    first = (beijing.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    return int((first - beijing).total_seconds()) + 60


def _fresh_token(api, platform, appid):
    """An authorizer token after a long clock jump (the old token and ticket have expired): a new ticket
    push, then the admin authorizes again."""
    platform.ticket = api.call("/sandbox/push-ticket", {"component_appid": platform.appid})["ticket"]
    code = platform.authorize(appid)["auth_code"]
    info = api.call("/cgi-bin/component/api_query_auth", {"component_appid": platform.appid,
                                                          "authorization_code": code},
                    component_access_token=platform.component_token())
    return info["authorization_info"]["authorizer_access_token"]


def test_fifty_server_domain_changes_a_month_then_86102(api, platform, mp):
    """modifyServerDomain: "每月可提交修改申请50次"; the 51st change request of a Beijing calendar month answers
    86102, both APIs share the count, `get` is a read and never counts, and a new month starts afresh."""
    appid, _ = mp
    api.advance(_seconds_into_next_beijing_month(api))  # all 50 changes fall in one month
    access = _fresh_token(api, platform, appid)
    for i in range(50):
        url = "/wxa/modify_domain" if i % 2 else "/wxa/modify_domain_directly"
        body = {"action": "set", "requestdomain": [f"https://api{i % 2}.portal.example.com"]}
        assert api.call(url, body, access_token=access)["errcode"] == 0, i
        assert api.call(url, {"action": "get"}, access_token=access)["errcode"] == 0
    for url in ("/wxa/modify_domain", "/wxa/modify_domain_directly"):
        refused = api.call(url, {"action": "add", "requestdomain": ["https://new.portal.example.com"]},
                           access_token=access)
        assert refused["errcode"] == 86102, refused
        assert api.call(url, {"action": "get"}, access_token=access)["errcode"] == 0
    changes = api.call(f"/sandbox/miniprograms/{appid}", method="GET")["miniprogram"]["domain_changes"]
    assert list(changes.values()) == [50]
    actions = [c["action"] for c in api.call("/sandbox/calls", method="GET", endpoint="modify_domain",
                                             appid=appid, limit=500)["calls"]]
    assert actions.count("set") == 25 and actions.count("add") == 1 and actions.count("get") == 26
    # business domains are not part of this allowance
    assert api.call("/wxa/setwebviewdomain", {"action": "set", "webviewdomain": ["https://h5.portal.example.com"]},
                    access_token=access)["errcode"] == 0

    api.advance(_seconds_into_next_beijing_month(api))
    access = _fresh_token(api, platform, appid)
    assert api.call("/wxa/modify_domain", {"action": "add", "requestdomain": ["https://new.portal.example.com"]},
                    access_token=access)["errcode"] == 0


def test_server_domains_may_carry_a_port_business_domains_not(api, mp):
    """modifyServerDomain: "可以配置端口,如 https://myserver.com:8080,但是配置后只能向 https://myserver.com:8080
    发起请求"; setwebviewdomain: "业务域名中不能含有端口号". The port is part of the domain."""
    _, access = mp
    url = "/wxa/modify_domain"
    got = api.call(url, {"action": "set", "requestdomain": ["https://api.portal.example.com:8443",
                                                            "https://api.portal.example.com:70000",
                                                            "https://api.portal.example.com:0"]},
                   access_token=access)
    assert got["requestdomain"] == ["https://api.portal.example.com:8443"]
    assert got["invalid_requestdomain"] == ["https://api.portal.example.com:70000", "https://api.portal.example.com:0"]
    added = api.call(url, {"action": "add", "requestdomain": ["https://api.portal.example.com"]}, access_token=access)
    assert added["requestdomain"] == ["https://api.portal.example.com:8443", "https://api.portal.example.com"]
    assert api.call("/wxa/setwebviewdomain", {"action": "set", "webviewdomain": ["https://h5.portal.example.com:8443"]},
                    access_token=access)["errcode"] == 89021
