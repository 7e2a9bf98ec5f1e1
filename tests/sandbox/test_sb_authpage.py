"""The authorization pages: GET validates and shows a form; confirm → 302 + push; cancel → nothing."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

REDIRECT = "https://portal.example.com/authorization/callback?tenant=7"
PATHS = ["/cgi-bin/componentloginpage", "/wxaopen/safe/bindcomponent", "/safe/bindcomponent"]


def page_params(api, platform, **overrides):
    token = platform.component_token()
    code = api.call("/cgi-bin/component/api_create_preauthcode", {"component_appid": platform.appid},
                    component_access_token=token)["pre_auth_code"]
    params = {"component_appid": platform.appid, "pre_auth_code": code, "redirect_uri": REDIRECT,
              "auth_type": "2"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def confirm(api, path, params, appid, action="confirm"):
    form = {**params, "authorizer_appid": appid, "action": action}
    return api.session.post(api.base + path, data=form, allow_redirects=False)


@pytest.mark.parametrize("path", PATHS)
def test_confirm_redirects_with_code_and_pushes(api, platform, receiver, path):
    appid = platform.new_miniprogram(nick_name="甜品店")
    params = page_params(api, platform, action="bindcomponent", no_scan="1") if "safe" in path \
        else page_params(api, platform)
    page = api.session.get(api.base + path, params=params)
    assert page.status_code == 200
    html = page.text
    assert 'id="authorizer_appid"' in html and 'name="authorizer_appid"' in html
    assert 'id="confirm"' in html and 'id="cancel"' in html and "甜品店" in html
    assert re.search(rf'<option value="{appid}"', html)
    resp = confirm(api, path, params, appid)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    query = parse_qs(location.query)
    assert location.netloc == "portal.example.com" and query["tenant"] == ["7"]
    assert query["expires_in"] == ["3600"]
    push = receiver.wait_for("authorized")[0]
    assert push["AuthorizationCode"] == query["auth_code"][0]
    assert push["PreAuthCode"] == params["pre_auth_code"]
    info = api.call("/cgi-bin/component/api_query_auth", {**platform.own, "authorization_code": query["auth_code"][0]},
                    component_access_token=platform.component_token())
    assert info["authorization_info"]["authorizer_appid"] == appid
    again = api.session.get(api.base + path, params=params)
    assert again.status_code == 400 and "pre_auth_code" in again.text  # single use


def test_cancel_pushes_nothing(api, platform, receiver):
    receiver.wait_for("component_verify_ticket")
    appid = platform.new_miniprogram()
    params = page_params(api, platform)
    resp = confirm(api, PATHS[0], params, appid, action="cancel")
    assert resp.status_code == 200 and 'id="cancelled"' in resp.text
    pushes = api.call("/sandbox/pushes", method="GET", wait="1")["pushes"]
    assert [p["push_type"] for p in pushes] == ["component_verify_ticket"]
    # the pre_auth_code was not consumed by cancelling
    assert confirm(api, PATHS[0], params, appid).status_code == 302


def test_reauthorization_through_the_page_is_updateauthorized(api, platform, receiver):
    appid = platform.new_miniprogram()
    platform.authorize(appid)
    assert confirm(api, PATHS[0], page_params(api, platform), appid).status_code == 302
    assert receiver.wait_for("updateauthorized")[0]["AuthorizerAppid"] == appid


@pytest.mark.parametrize("overrides, message", [
    ({"component_appid": "wxnothing"}, "component_appid"),
    ({"pre_auth_code": "preauthcode@@@bogus"}, "pre_auth_code"),
    ({"redirect_uri": "https://evil.example.net/cb"}, "redirect_uri"),
    ({"redirect_uri": "https://notportal.example.com/cb"}, "redirect_uri"),
    ({"auth_type": "0"}, "auth_type"),
    ({"auth_type": "undefined"}, "auth_type"),
    ({"biz_appid": "wxdoesnotexist"}, "biz_appid"),
])
def test_invalid_requests_show_an_error_page(api, platform, overrides, message):
    resp = api.session.get(api.base + PATHS[0], params=page_params(api, platform, **overrides))
    assert resp.status_code == 400 and message in resp.text


def test_expired_preauth_code(api, platform):
    params = page_params(api, platform)
    api.advance(1801)
    resp = api.session.get(api.base + PATHS[0], params=params)
    assert resp.status_code == 400 and "expired" in resp.text


def test_auth_type_and_biz_appid_filter_the_choice(api, platform):
    mp = platform.new_miniprogram(nick_name="MP-one")
    oa = platform.new_miniprogram(nick_name="OA-one", account_type="official_account")
    only_oa = api.session.get(api.base + PATHS[0], params=page_params(api, platform, auth_type="1")).text
    assert "OA-one" in only_oa and "MP-one" not in only_oa
    both = api.session.get(api.base + PATHS[0], params=page_params(api, platform, auth_type=None)).text
    assert "OA-one" in both and "MP-one" in both
    params = page_params(api, platform, biz_appid=mp)
    only_mp = api.session.get(api.base + PATHS[0], params=params).text
    assert f'value="{mp}"' in only_mp and f'value="{oa}"' not in only_mp
    assert confirm(api, PATHS[0], params, oa).status_code == 400  # not offered, cannot be chosen
    # "auth_type、biz_appid 两个字段如果设置的信息冲突，则biz_appid生效的优先级更高": auth_type=1 (official
    # accounts) with a mini-program's biz_appid offers that mini-program
    conflict = api.session.get(api.base + PATHS[0], params=page_params(api, platform, auth_type="1", biz_appid=mp))
    assert conflict.status_code == 200 and f'value="{mp}"' in conflict.text and f'value="{oa}"' not in conflict.text
    calls = api.calls(endpoint="componentloginpage")
    assert calls["counts"]["componentloginpage"] >= 3
