"""Official accounts (公众号) in the sandbox: their kind on the authorization page, their api_get_authorizer_info
answer (no MiniProgramInfo, service and verification type), their permission sets and tokens."""

from urllib.parse import parse_qs, urlsplit

from tests.sandbox.test_sb_authpage import PATHS, confirm, page_params

QUERY_AUTH = "/cgi-bin/component/api_query_auth"
AUTHORIZER_TOKEN = "/cgi-bin/component/api_authorizer_token"
INFO = "/cgi-bin/component/api_get_authorizer_info"


def test_an_official_account_authorized_on_an_auth_type_1_page(api, platform, receiver):
    oa = platform.new_miniprogram(nick_name="花店服务号", account_type="official_account", service_type=2,
                                  verify_type=-1)
    mp = platform.new_miniprogram(nick_name="花店小程序")
    params = page_params(api, platform, auth_type="1")
    page = api.session.get(api.base + PATHS[0], params=params).text
    assert f'value="{oa}"' in page and f'value="{mp}"' not in page
    assert confirm(api, PATHS[0], params, mp).status_code == 400  # a mini-program is not offered on this page
    back = confirm(api, PATHS[0], page_params(api, platform, auth_type="1"), oa)
    assert back.status_code == 302
    code = parse_qs(urlsplit(back.headers["Location"]).query)["auth_code"][0]
    assert receiver.wait_for("authorized")[0]["AuthorizerAppid"] == oa
    token = platform.component_token()
    auth = api.call(QUERY_AUTH, {**platform.own, "authorization_code": code},
                    component_access_token=token)["authorization_info"]
    assert auth["authorizer_appid"] == oa and auth["authorizer_refresh_token"]
    assert {f["funcscope_category"]["id"] for f in auth["func_info"]} >= {1, 2, 3}
    assert 18 not in {f["funcscope_category"]["id"] for f in auth["func_info"]}
    info = api.call(INFO, {**platform.own, "authorizer_appid": oa}, component_access_token=token)["authorizer_info"]
    assert "MiniProgramInfo" not in info
    assert info["service_type_info"] == {"id": 2} and info["verify_type_info"] == {"id": -1}
    refreshed = api.call(AUTHORIZER_TOKEN, {**platform.own, "authorizer_appid": oa,
                                            "authorizer_refresh_token": auth["authorizer_refresh_token"]},
                         component_access_token=token)
    assert refreshed["authorizer_access_token"] and refreshed["authorizer_access_token"] != auth["authorizer_access_token"]


def test_an_auth_type_2_page_never_offers_an_official_account(api, platform):
    oa = platform.new_miniprogram(nick_name="只是公众号", account_type="official_account")
    params = page_params(api, platform, auth_type="2")
    assert f'value="{oa}"' not in api.session.get(api.base + PATHS[0], params=params).text
    refused = confirm(api, PATHS[0], params, oa)
    assert refused.status_code == 400
    assert not api.call("/sandbox/miniprograms/" + oa, method="GET")["miniprogram"]["authorizations"]


def test_service_and_verification_types_are_those_the_doc_lists(api, platform):
    subscription = platform.new_miniprogram(account_type="official_account", service_type=0, verify_type=0)
    token = platform.component_token()
    platform.authorize(subscription)
    info = api.call(INFO, {**platform.own, "authorizer_appid": subscription},
                    component_access_token=token)["authorizer_info"]
    assert info["service_type_info"] == {"id": 0} and info["verify_type_info"] == {"id": 0}
    for bad in ({"service_type": 5}, {"service_type": 2, "verify_type": 7}, {"service_type": True}):
        resp = api.post("/sandbox/miniprograms", {"account_type": "official_account", **bad})
        assert resp.status_code == 400, bad
    assert api.post("/sandbox/miniprograms", {"service_type": 2}).status_code == 400  # a mini-program is 0
    mp = platform.new_miniprogram()
    platform.authorize(mp)
    mp_info = api.call(INFO, {**platform.own, "authorizer_appid": mp}, component_access_token=token)
    assert mp_info["authorizer_info"]["service_type_info"] == {"id": 0}


def test_unauthorized_official_account_loses_its_tokens(api, platform, receiver):
    oa = platform.new_miniprogram(account_type="official_account")
    code = platform.authorize(oa)["auth_code"]
    token = platform.component_token()
    auth = api.call(QUERY_AUTH, {**platform.own, "authorization_code": code},
                    component_access_token=token)["authorization_info"]
    api.call("/sandbox/unauthorize", {"component_appid": platform.appid, "authorizer_appid": oa, "wait": True})
    assert receiver.wait_for("unauthorized")[0]["AuthorizerAppid"] == oa
    answer = api.call(AUTHORIZER_TOKEN, {**platform.own, "authorizer_appid": oa,
                                         "authorizer_refresh_token": auth["authorizer_refresh_token"]},
                      component_access_token=token)
    assert answer["errcode"] in (61003, 61023)
