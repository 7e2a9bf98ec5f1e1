"""Component credentials, tickets, token lifetimes and the authorization handshake over real HTTP."""

TOKEN = "/cgi-bin/component/api_component_token"
PREAUTH = "/cgi-bin/component/api_create_preauthcode"
QUERY_AUTH = "/cgi-bin/component/api_query_auth"
AUTHORIZER_TOKEN = "/cgi-bin/component/api_authorizer_token"
INFO = "/cgi-bin/component/api_get_authorizer_info"
LIST = "/cgi-bin/component/api_get_authorizer_list"


def token_body(platform, **overrides):
    body = {"component_appid": platform.appid, "component_appsecret": platform.secret,
            "component_verify_ticket": platform.ticket}
    body.update(overrides)
    return body


def test_registration_pushes_a_ticket_that_wechatpy_decrypts(platform, receiver):
    push = receiver.wait_for("component_verify_ticket")[0]
    assert push["ComponentVerifyTicket"] == platform.ticket
    assert push["AppId"] == platform.appid
    raw = receiver.requests[0]
    assert raw["path"] == "/wechat/auth"
    assert raw["query"]["encrypt_type"] == "aes"
    assert {"signature", "timestamp", "nonce", "msg_signature"} <= set(raw["query"])
    assert f"<AppId><![CDATA[{platform.appid}]]></AppId>" in raw["body"]


def test_component_token_errors(api, platform):
    assert api.call(TOKEN, token_body(platform, component_appid="wxnope"))["errcode"] == 40013
    assert api.call(TOKEN, token_body(platform, component_appsecret="wrong"))["errcode"] == 40125
    assert api.call(TOKEN, token_body(platform, component_verify_ticket=None))["errcode"] == 61006
    assert api.call(TOKEN, token_body(platform, component_verify_ticket="ticket@@@made-up"))["errcode"] == 61006
    ok = api.call(TOKEN, token_body(platform))
    assert ok["expires_in"] == 7200 and len(ok["component_access_token"]) > 40
    assert "errcode" not in ok


def test_ticket_expires_after_12_hours_and_new_pushes_supersede(api, platform, receiver):
    api.advance(11 * 3600)  # ticket_interval 600 s: new tickets are pushed on the way
    receiver.wait_for("component_verify_ticket", 2)
    # Pushes are delivered by several threads, so arrival order is not push order: ask the sandbox.
    components = api.call("/sandbox/components", method="GET")["components"]
    newest = next(c["ticket"] for c in components if c["component_appid"] == platform.appid)
    assert newest != platform.ticket
    api.advance(120)  # past the grace period of the superseded ticket
    assert api.call(TOKEN, token_body(platform))["errcode"] == 61006
    assert "component_access_token" in api.call(TOKEN, token_body(platform, component_verify_ticket=newest))


def test_ticket_expired_when_pushes_stop(api, make_platform):
    platform = make_platform(ticket_interval=0)  # no periodic pushes
    api.advance(12 * 3600 + 1)
    assert api.call(TOKEN, token_body(platform))["errcode"] == 61005


def test_start_push_ticket(api, platform, receiver):
    receiver.wait_for("component_verify_ticket")
    assert api.call("/cgi-bin/component/api_start_push_ticket",
                    {"component_appid": platform.appid, "component_secret": "bad"})["errcode"] == 40125
    assert api.call("/cgi-bin/component/api_start_push_ticket",
                    {"component_appid": platform.appid, "component_secret": platform.secret})["errcode"] == 0
    assert len(receiver.wait_for("component_verify_ticket", 2)) == 2


def test_token_lifetime_overlap_and_errors(api, platform):
    first = platform.component_token()
    assert "pre_auth_code" in api.call(PREAUTH, platform.own, component_access_token=first)
    second = platform.component_token()
    # the old token stays valid 5 minutes after a new one is issued
    api.advance(200)
    assert "pre_auth_code" in api.call(PREAUTH, platform.own, component_access_token=first)
    api.advance(150)
    assert api.call(PREAUTH, platform.own, component_access_token=first)["errcode"] == 40001
    assert "pre_auth_code" in api.call(PREAUTH, platform.own, access_token=second)  # both parameter names work
    api.advance(7200)
    assert api.call(PREAUTH, platform.own, component_access_token=second)["errcode"] == 42001
    assert api.call(PREAUTH, {})["errcode"] == 41001
    assert api.call(PREAUTH, platform.own, component_access_token="not a token")["errcode"] == 40014
    assert api.call(PREAUTH, platform.own, component_access_token="12_" + "x" * 100)["errcode"] == 40001


def test_query_auth_and_authorized_push(api, platform, receiver):
    appid = platform.new_miniprogram(nick_name="花店")
    result = platform.authorize(appid)
    assert result["event"] == "authorized"
    push = receiver.wait_for("authorized")[0]
    assert push["AuthorizerAppid"] == appid
    assert push["AuthorizationCode"] == result["auth_code"]
    assert int(push["AuthorizationCodeExpiredTime"]) > int(push["CreateTime"])
    token = platform.component_token()
    info = api.call(QUERY_AUTH, {**platform.own, "authorization_code": result["auth_code"]},
                    component_access_token=token)["authorization_info"]
    assert info["authorizer_appid"] == appid and info["expires_in"] == 7200
    assert info["authorizer_refresh_token"].startswith("refreshtoken@@@")
    assert {"funcscope_category": {"id": 18}} in info["func_info"]
    unknown = {"component_appid": platform.appid, "authorization_code": "nope"}
    assert api.call(QUERY_AUTH, unknown, component_access_token=token)["errcode"] == 61009


def test_auth_code_expiry_is_61010(api, platform):
    appid = platform.new_miniprogram()
    code = platform.authorize(appid)["auth_code"]
    api.advance(3601)
    platform.ticket = api.call("/sandbox/push-ticket", {"component_appid": platform.appid})["ticket"]
    token = platform.component_token()
    body = {"component_appid": platform.appid, "authorization_code": code}
    assert api.call(QUERY_AUTH, body, component_access_token=token)["errcode"] == 61010


def test_refresh_token_rotation_and_61023(api, platform):
    appid, info = platform.authorized_miniprogram()
    token = platform.component_token()
    first_rt = info["authorizer_refresh_token"]
    body = {**platform.own, "authorizer_appid": appid, "authorizer_refresh_token": first_rt}
    refreshed = api.call(AUTHORIZER_TOKEN, body, component_access_token=token)
    assert refreshed["authorizer_refresh_token"] != first_rt
    assert refreshed["expires_in"] == 7200
    assert api.call(AUTHORIZER_TOKEN, body, component_access_token=token)["errcode"] == 61023
    body["authorizer_refresh_token"] = None
    assert api.call(AUTHORIZER_TOKEN, body, component_access_token=token)["errcode"] == 61023
    body["authorizer_refresh_token"] = refreshed["authorizer_refresh_token"]
    assert "authorizer_access_token" in api.call(AUTHORIZER_TOKEN, body, component_access_token=token)
    listed = api.call(LIST, {"component_appid": platform.appid, "offset": 0, "count": 100},
                      component_access_token=token)
    assert listed["total_count"] == 1
    assert listed["list"][0]["refresh_token"] != refreshed["authorizer_refresh_token"]  # rotated again


def test_without_rotation_refresh_token_is_stable(api, make_platform):
    platform = make_platform(rotate_refresh_tokens=False)
    appid, info = platform.authorized_miniprogram()
    body = {"component_appid": platform.appid, "authorizer_appid": appid,
            "authorizer_refresh_token": info["authorizer_refresh_token"]}
    token = platform.component_token()
    for _ in range(2):
        assert api.call(AUTHORIZER_TOKEN, body, component_access_token=token)["authorizer_refresh_token"] == \
            info["authorizer_refresh_token"]


def test_authorizer_info_and_list(api, platform, sandbox_server):
    appid, _ = platform.authorized_miniprogram(nick_name="书店", principal_name="书店公司")
    oa = platform.new_miniprogram(account_type="official_account", nick_name="服务号")
    platform.authorize(oa)
    token = platform.component_token()
    info = api.call(INFO, {"component_appid": platform.appid, "authorizer_appid": appid},
                    component_access_token=token)
    assert info["authorizer_info"]["nick_name"] == "书店"
    assert "MiniProgramInfo" in info["authorizer_info"]
    assert info["authorizer_info"]["user_name"].startswith("gh_")
    avatar = api.session.get(info["authorizer_info"]["head_img"])
    assert avatar.headers["Content-Type"] == "image/png" and avatar.content.startswith(b"\x89PNG")
    oa_info = api.call(INFO, {**platform.own, "authorizer_appid": oa}, component_access_token=token)
    assert "MiniProgramInfo" not in oa_info["authorizer_info"]
    unknown = {**platform.own, "authorizer_appid": "wxunknown"}
    assert api.call(INFO, unknown, component_access_token=token)["errcode"] == 61003
    page = api.call(LIST, {"component_appid": platform.appid, "offset": 1, "count": 1},
                    component_access_token=token)
    assert page["total_count"] == 2 and len(page["list"]) == 1
    too_many = {**platform.own, "offset": 0, "count": 501}
    assert api.call(LIST, too_many, component_access_token=token)["errcode"] == 40097


def test_reauthorization_pushes_updateauthorized(platform, receiver):
    appid = platform.new_miniprogram()
    platform.authorize(appid)
    assert platform.authorize(appid)["event"] == "updateauthorized"
    assert receiver.wait_for("updateauthorized")[0]["AuthorizerAppid"] == appid


def test_unauthorize_invalidates_tokens_and_pushes(api, platform, receiver):
    appid, info = platform.authorized_miniprogram()
    access = info["authorizer_access_token"]
    assert api.call("/wxa/get_category", method="GET", access_token=access)["errcode"] == 0
    api.call("/sandbox/unauthorize", {**platform.own, "authorizer_appid": appid, "wait": True})
    push = receiver.wait_for("unauthorized")[0]
    assert push["AuthorizerAppid"] == appid
    assert api.call("/wxa/get_category", method="GET", access_token=access)["errcode"] == 40001
    token = platform.component_token()
    refresh = api.call(AUTHORIZER_TOKEN, {"component_appid": platform.appid, "authorizer_appid": appid,
                                          "authorizer_refresh_token": info["authorizer_refresh_token"]},
                       component_access_token=token)
    assert refresh["errcode"] == 61003
    # authorizing again gives a fresh "authorized" (not update) and working tokens
    assert platform.authorize(appid)["event"] == "authorized"


def test_clear_quota_variants(api, platform):
    api.call("/sandbox/quotas", {"endpoint": "api_create_preauthcode", "limit": 2})
    token = platform.component_token()
    for _ in range(2):
        assert "pre_auth_code" in api.call(PREAUTH, platform.own, component_access_token=token)
    assert api.call(PREAUTH, platform.own, component_access_token=token)["errcode"] == 45009
    assert api.call("/cgi-bin/component/clear_quota", {"component_appid": platform.appid},
                    component_access_token=token)["errcode"] == 0
    assert "pre_auth_code" in api.call(PREAUTH, platform.own, component_access_token=token)
    assert api.call("/cgi-bin/component/clear_quota/v2",
                    {"component_appid": platform.appid, "appsecret": "bad"})["errcode"] == 40125
    for _ in range(9):
        assert api.call("/cgi-bin/component/clear_quota/v2",
                        {"component_appid": platform.appid, "appsecret": platform.secret})["errcode"] == 0
    assert api.call("/cgi-bin/component/clear_quota/v2",
                    {"component_appid": platform.appid, "appsecret": platform.secret})["errcode"] == 48006


def test_authorizer_clear_quota(api, platform, mp):
    appid, access = mp
    assert api.call("/cgi-bin/clear_quota", {"appid": appid}, access_token=access)["errcode"] == 0
    assert api.call("/cgi-bin/clear_quota", {"appid": "wxother"}, access_token=access)["errcode"] == 40013


def test_token_endpoint_daily_quota(api, platform):
    api.call("/sandbox/quotas", {"endpoint": "api_component_token", "limit": 1})
    platform.component_token()
    assert api.call(TOKEN, token_body(platform))["errcode"] == 45009
    counts = api.calls(endpoint="api_component_token")
    assert counts["counts"] == {"api_component_token": 2}
    assert counts["errcodes"] == {"0": 1, "45009": 1}
    api.advance(86400)
    platform.ticket = api.call("/sandbox/push-ticket", {"component_appid": platform.appid})["ticket"]
    platform.component_token()


def test_ip_whitelist(api, make_platform):
    platform = make_platform(ip_whitelist=["10.1.2.3"])
    assert api.call(TOKEN, token_body(platform))["errcode"] == 61004


def test_authorizer_token_expiry_and_overlap(api, platform, mp):
    appid, access = mp
    assert api.call("/wxa/getvisitstatus", {}, access_token=access)["errcode"] == 0
    api.advance(7201)
    assert api.call("/wxa/getvisitstatus", {}, access_token=access)["errcode"] == 42001
    assert api.call("/wxa/getvisitstatus", {}, access_token="bad token")["errcode"] == 40014
    assert api.call("/wxa/getvisitstatus", {})["errcode"] == 41001


def _decrypt(platform, body):
    from sandbox.crypto import MessageCrypto

    encrypt = body.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    return MessageCrypto(platform.token, platform.aes_key, platform.appid).decrypt(encrypt)[0]


def test_daily_quota_turns_at_midnight_beijing_time(api, platform):
    """45009 is per day; the day begins at 00:00 Beijing time (16:00 UTC), as WeChat's other counts do."""
    from datetime import datetime, timedelta, timezone

    beijing = timezone(timedelta(hours=8))
    now = datetime.fromtimestamp(api.call("/sandbox/clock", method="GET")["now"], beijing)
    half_past_eleven = now.replace(hour=23, minute=30, second=0, microsecond=0)
    if half_past_eleven <= now:  # past 23:30 already: tomorrow's
        half_past_eleven += timedelta(days=1)
    api.advance(half_past_eleven.timestamp() - now.timestamp())  # 23:30 Beijing
    platform.ticket = api.call("/sandbox/push-ticket", {"component_appid": platform.appid})["ticket"]
    api.call("/sandbox/quotas", {"endpoint": "api_component_token", "limit": 1})
    platform.component_token()
    assert api.call(TOKEN, token_body(platform))["errcode"] == 45009
    api.advance(3600)  # 00:30 Beijing, 16:30 UTC: the same UTC day, a new Beijing one
    assert "component_access_token" in api.call(TOKEN, token_body(platform))
