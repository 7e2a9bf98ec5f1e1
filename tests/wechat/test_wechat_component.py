"""Component API over real HTTP: credentials, authorization flow, authorizer list, quotas, templates."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from portal.wechat import WeChatClient, WeChatConfig
from portal.wechat.errors import AuthorizationLost, TicketError
from tests.wechat.conftest import COMPONENT_APPID

MP = "wxa1b2c3d4e5f60708"


def test_get_component_token_sends_secret_in_body_and_no_token(server, client):
    server.on("/cgi-bin/component/api_component_token",
              {"component_access_token": "cat-1", "expires_in": 7200})
    result = client.component.get_component_token("ticket@@@1")
    assert (result.access_token, result.expires_in) == ("cat-1", 7200)
    assert "cat-1" not in repr(result)
    seen = server.seen()[0]
    assert seen.method == "POST" and seen.args == {}
    assert seen.json() == {"component_appid": COMPONENT_APPID, "component_appsecret": "test-appsecret-value",
                           "component_verify_ticket": "ticket@@@1"}


def test_get_component_token_errors(server, client):
    server.on("/cgi-bin/component/api_component_token", {"errcode": 61006, "errmsg": "invalid ticket"})
    with pytest.raises(TicketError):
        client.component.get_component_token("stale")
    with pytest.raises(ValueError):
        client.component.get_component_token("")


def test_start_push_ticket(server, client):
    client.component.start_push_ticket()
    assert server.seen()[0].json() == {"component_appid": COMPONENT_APPID,
                                       "component_secret": "test-appsecret-value"}


def test_create_preauthcode_and_urls(server, client):
    server.on("/cgi-bin/component/api_create_preauthcode", {"pre_auth_code": "preauthcode@@@z", "expires_in": 1800})
    code = client.component.create_preauthcode()
    assert code.pre_auth_code == "preauthcode@@@z"
    seen = server.seen()[0]
    assert seen.args == {"component_access_token": "component-secret-token-1"}
    assert seen.json() == {"component_appid": COMPONENT_APPID}

    redirect = "https://portal.example.com/authorization/done?tenant=7"
    pc = urlsplit(client.component.pc_authorization_url(code.pre_auth_code, redirect))
    assert (pc.scheme, pc.netloc, pc.path) == ("https", "mp.example.test", "/cgi-bin/componentloginpage")
    assert parse_qs(pc.query) == {"component_appid": [COMPONENT_APPID], "pre_auth_code": ["preauthcode@@@z"],
                                  "redirect_uri": [redirect], "auth_type": ["2"]}
    assert "redirect_uri=https%3A%2F%2Fportal.example.com" in pc.query

    mobile = client.component.mobile_authorization_url(code.pre_auth_code, redirect, biz_appid=MP)
    parts = urlsplit(mobile)
    assert mobile.startswith("https://open.example.test/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&")
    assert parts.fragment == "wechat_redirect"
    # auth_type and biz_appid exclude each other (授权流程技术说明): one account named, no type sent
    assert parse_qs(parts.query)["biz_appid"] == [MP] and "auth_type" not in parse_qs(parts.query)
    for auth_type in (None, 1, 2):
        one = client.component.pc_authorization_url("p", redirect, auth_type=auth_type, biz_appid=MP)
        assert "auth_type" not in one and "biz_appid=" + MP in one


def test_query_auth(server, client):
    server.on("/cgi-bin/component/api_query_auth", {"authorization_info": {
        "authorizer_appid": MP, "authorizer_access_token": "aat", "expires_in": 7200,
        "authorizer_refresh_token": "refresh@@@1",
        "func_info": [{"funcscope_category": {"id": 17}}, {"funcscope_category": {"id": 18}}, {"bad": 1}]}})
    auth = client.component.query_auth("queryauthcode@@@x")
    assert (auth.authorizer_appid, auth.access_token, auth.refresh_token) == (MP, "aat", "refresh@@@1")
    assert auth.func_ids == (17, 18)
    assert server.seen()[0].json()["authorization_code"] == "queryauthcode@@@x"


def test_refresh_authorizer_token_keeps_rotated_refresh_token(server, client):
    server.on("/cgi-bin/component/api_authorizer_token",
              {"authorizer_access_token": "aat-2", "expires_in": 7200, "authorizer_refresh_token": "refresh@@@2"},
              {"authorizer_access_token": "aat-3", "expires_in": 7200})
    first = client.component.refresh_authorizer_token(MP, "refresh@@@1")
    assert (first.access_token, first.refresh_token) == ("aat-2", "refresh@@@2")
    second = client.component.refresh_authorizer_token(MP, "refresh@@@2")
    assert second.refresh_token == "refresh@@@2"  # not rotated: keep the one sent
    assert server.seen()[0].json() == {"component_appid": COMPONENT_APPID, "authorizer_appid": MP,
                                       "authorizer_refresh_token": "refresh@@@1"}
    with pytest.raises(ValueError):
        client.component.refresh_authorizer_token(MP, "")


def test_refresh_authorizer_token_61023(server, client):
    server.on("/cgi-bin/component/api_authorizer_token", {"errcode": 61023, "errmsg": "refresh_token is invalid"})
    with pytest.raises(AuthorizationLost) as info:
        client.component.refresh_authorizer_token(MP, "lost")
    assert "refresh" in info.value.human("en").lower()


def test_get_authorizer_info(server, client):
    server.on("/cgi-bin/component/api_get_authorizer_info", {
        "authorizer_info": {"nick_name": "小店", "head_img": "h", "user_name": "gh_1", "principal_name": "某公司",
                            "MiniProgramInfo": {"network": {}}},
        "authorization_info": {"authorizer_appid": MP, "func_info": [{"funcscope_category": {"id": 18}}]}})
    info = client.component.get_authorizer_info(MP)
    assert info.is_miniprogram and info.nick_name == "小店" and info.func_ids == (18,)


def test_authorizer_list_pages(server, client):
    rows = [{"authorizer_appid": f"wx{i:016d}", "refresh_token": f"r{i}", "auth_time": 1700000000 + i}
            for i in range(5)]
    server.on("/cgi-bin/component/api_get_authorizer_list",
              {"total_count": 5, "list": rows[:2]}, {"total_count": 5, "list": rows[2:4]},
              {"total_count": 5, "list": rows[4:]})
    items = list(client.component.iter_authorizers(page_size=2))
    assert [i.refresh_token for i in items] == ["r0", "r1", "r2", "r3", "r4"]
    assert [s.json()["offset"] for s in server.seen()] == [0, 2, 4]
    with pytest.raises(ValueError):
        client.component.get_authorizer_list(0, 501)


def test_authorizer_list_stops_on_empty_page(server, client):
    server.on("/cgi-bin/component/api_get_authorizer_list", {"total_count": 10, "list": []})
    assert list(client.component.iter_authorizers()) == []


def test_clear_quota_variants(server, client):
    client.component.clear_quota()
    client.component.clear_quota_v2(appid=MP)
    client.miniprogram(MP).clear_quota()
    first, second, third = server.seen()
    assert first.path == "/cgi-bin/component/clear_quota" and "component_access_token" in first.args
    assert second.path == "/cgi-bin/component/clear_quota/v2" and second.args == {}
    assert second.json() == {"component_appid": COMPONENT_APPID, "appsecret": "test-appsecret-value", "appid": MP}
    assert third.path == "/cgi-bin/clear_quota" and third.json() == {"appid": MP} and "access_token" in third.args


def test_fast_register(server, client):
    client.component.fast_register_weapp("某某科技", "91110000000000000X", 1, "legalwx", "张三", "13800000000")
    seen = server.seen()[0]
    assert seen.args["action"] == "create" and seen.json()["code_type"] == 1


def test_template_library(server, client):
    server.on("/wxa/gettemplatedraftlist", {"draft_list": [
        {"draft_id": 3, "user_version": "1.0.1", "user_desc": "d", "create_time": 1}]})
    server.on("/wxa/gettemplatelist", {"template_list": [
        {"template_id": 12, "user_version": "1.0.1", "user_desc": "d", "create_time": 2, "template_type": 0,
         "source_miniprogram_appid": MP}]})
    assert client.templates.get_drafts()[0].draft_id == 3
    client.templates.add_to_template(3)
    templates = client.templates.get_templates(template_type=0)
    assert templates[0].template_id == 12
    client.templates.delete_template(12)
    drafts, add, listing, delete = server.seen()
    assert (drafts.method, listing.method, add.method, delete.method) == ("GET", "GET", "POST", "POST")
    assert listing.args["template_type"] == "0"
    assert all(s.args["access_token"] == "component-secret-token-1" for s in server.seen())
    assert add.json() == {"draft_id": 3, "template_type": 0} and delete.json() == {"template_id": 12}


def test_config_from_mapping_and_client_without_store():
    config = WeChatConfig.from_mapping({"WECHAT_COMPONENT_APPID": "wxc", "WECHAT_API_BASE": "http://127.0.0.1:1/",
                                        "WECHAT_MP_BASE": "", "WECHAT_READ_TIMEOUT": "4"}, max_retries=0)
    assert config.api_base == "http://127.0.0.1:1" and config.mp_base == "https://mp.weixin.qq.com"
    assert config.read_timeout == 4.0 and config.max_retries == 0
    assert "secret" not in repr(WeChatConfig("wxc", component_appsecret="secret"))
    client = WeChatClient(config)
    with pytest.raises(RuntimeError):
        client.miniprogram(MP)
    with pytest.raises(RuntimeError):
        client.component.create_preauthcode()
