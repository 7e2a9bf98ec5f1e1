"""Component (third-party platform) endpoints of ``api.weixin.qq.com/cgi-bin/component/``.

Credentials (api_component_token, api_start_push_ticket), the authorization handshake
(api_create_preauthcode, api_query_auth, api_authorizer_token) and the authorizer read APIs
(api_get_authorizer_info, api_get_authorizer_list), plus the three clear_quota variants.
"""

from __future__ import annotations

from flask import Blueprint, request

from .. import authorization, fastregister, registry, tokens
from ..errors import ApiError
from .api import ANY_TOKEN, COMPONENT, api_route

bp = Blueprint("component", __name__)
PREFIX = "/cgi-bin/component"


def own_body(call) -> dict:
    """The body of a component-token call, whose ``component_appid`` (必填 on these pages) must name the
    token's platform: 41002 (appid missing) without it, 40013 (invalid appid) for another platform's.
    The docs give no errcode for either; these are WeChat's global codes for the two cases."""
    body = call.body
    given = body.get("component_appid")
    if not given:
        raise ApiError(41002)
    if given != call.component_appid:
        raise ApiError(40013)
    return body


@api_route(bp, f"{PREFIX}/api_component_token", "api_component_token")
def api_component_token(call):
    body = call.body
    component = registry.check_component_secret(call.sb, body.get("component_appid"),
                                                body.get("component_appsecret"))
    if component.ip_whitelist and request.remote_addr not in component.ip_whitelist:
        raise ApiError(61004)
    registry.check_ticket(call.sb, component, body.get("component_verify_ticket"))
    record = tokens.issue_access_token(call.sb, tokens.COMPONENT, component.component_appid,
                                       component.component_appid)
    return {"component_access_token": record.token, "expires_in": call.sb.options.token_ttl}


@api_route(bp, f"{PREFIX}/api_start_push_ticket", "api_start_push_ticket")
def api_start_push_ticket(call):
    body = call.body
    # The doc names the field component_secret; some SDKs send component_appsecret. Accept both.
    secret = body.get("component_secret", body.get("component_appsecret"))
    component = registry.check_component_secret(call.sb, body.get("component_appid"), secret)
    registry.push_ticket(call.sb, component.component_appid)
    return {"errcode": 0, "errmsg": "ok"}


@api_route(bp, f"{PREFIX}/api_create_preauthcode", "api_create_preauthcode", COMPONENT)
def api_create_preauthcode(call):
    own_body(call)
    code = authorization.create_preauth_code(call.sb, call.component_appid)
    return {"pre_auth_code": code.code, "expires_in": call.sb.options.preauth_code_ttl}


@api_route(bp, f"{PREFIX}/api_query_auth", "api_query_auth", COMPONENT)
def api_query_auth(call):
    return authorization.query_auth(call.sb, call.component_appid, own_body(call).get("authorization_code"))


@api_route(bp, f"{PREFIX}/api_authorizer_token", "api_authorizer_token", COMPONENT)
def api_authorizer_token(call):
    body = own_body(call)
    return tokens.refresh_authorizer_token(call.sb, call.component_appid, body.get("authorizer_appid"),
                                           body.get("authorizer_refresh_token"))


@api_route(bp, f"{PREFIX}/api_get_authorizer_info", "api_get_authorizer_info", COMPONENT)
def api_get_authorizer_info(call):
    return authorization.authorizer_info(call.sb, call.component_appid, own_body(call).get("authorizer_appid"),
                                         request.host_url)


@api_route(bp, f"{PREFIX}/api_get_authorizer_list", "api_get_authorizer_list", COMPONENT)
def api_get_authorizer_list(call):
    own_body(call)
    body = call.require("offset", "count")  # both 必填; "count ... 拉取数量，最大为 500"
    return authorization.authorizer_list(call.sb, call.component_appid, body["offset"], body["count"])


@api_route(bp, "/cgi-bin/clear_quota", "clear_quota", ANY_TOKEN)
def clear_quota(call):
    appid = call.body.get("appid")
    if appid != call.token.appid:
        raise ApiError(40013)
    call.sb.quotas.clear(appid, call.sb.now())
    return {}


@api_route(bp, f"{PREFIX}/clear_quota", "component_clear_quota", COMPONENT)
def component_clear_quota(call):
    own_body(call)
    call.sb.quotas.clear(call.component_appid, call.sb.now())
    return {}


@api_route(bp, f"{PREFIX}/clear_quota/v2", "clear_quota_v2")
def clear_quota_v2(call):
    body = call.body
    component = registry.check_component_secret(call.sb, body.get("component_appid"), body.get("appsecret"))
    target = body.get("appid") or component.component_appid
    if target != component.component_appid:
        auth = call.sb.state.authorization(component.component_appid, target)
        if auth is None or not auth.is_authorized:
            raise ApiError(61003)
    call.sb.quotas.clear(target, call.sb.now())
    return {}


@api_route(bp, f"{PREFIX}/fastregisterweapp", "fastregisterweapp", COMPONENT)
def fastregisterweapp(call):
    action = request.args.get("action")
    if action == "create":
        fastregister.create_enterprise(call.sb, call.component_appid, call.body)
    elif action == "search":
        fastregister.search_enterprise(call.sb, call.component_appid, call.body)
    else:
        raise ApiError(40097)
    return {}


@api_route(bp, "/wxa/component/fastregisterpersonalweapp", "fastregisterpersonalweapp", COMPONENT)
def fastregisterpersonalweapp(call):
    action = request.args.get("action")
    if action == "create":
        return fastregister.create_personal(call.sb, call.component_appid, call.body, request.host_url)
    if action == "query":
        return fastregister.query_personal(call.sb, call.component_appid, call.body)
    raise ApiError(-1, "invalid action")  # the old page's table: 「-1 | 非法 action 参数 | invalid action」
