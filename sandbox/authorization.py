"""Authorization of accounts to components: pre-auth codes, auth codes, query_auth, revocation.

``authorize`` is what an administrator's scan-and-confirm does (from the HTML page or the control API):
it creates or renews the ``Authorization``, issues an authorization code, and pushes ``authorized`` (or
``updateauthorized`` when the account was already authorized). ``unauthorize`` revokes and pushes
``unauthorized``. ``authorizer_info`` builds the ``api_get_authorizer_info`` answer.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from . import tokens
from .errors import ApiError
from .model import Authorization, Code
from .registry import push_target

PREAUTH, AUTHCODE = "preauth", "authcode"


def create_preauth_code(sb, component_appid: str) -> Code:
    code = Code(code="preauthcode@@@" + secrets.token_urlsafe(48), kind=PREAUTH,
                component_appid=component_appid, expires_at=sb.now() + sb.options.preauth_code_ttl)
    with sb.state.lock:
        sb.state.codes[code.code] = code
        tokens.prune_if_large(sb, sb.now())
    return code


def check_preauth_code(sb, component_appid: str, raw: str | None) -> Code:
    """Raise ValueError with a human message when the pre_auth_code cannot start an authorization."""
    code = sb.state.codes.get(raw or "")
    if code is None or code.kind != PREAUTH or code.component_appid != component_appid:
        raise ValueError("invalid pre_auth_code / 预授权码无效")
    if code.used:
        raise ValueError("pre_auth_code already used / 预授权码已使用")
    if sb.now() >= code.expires_at:
        raise ValueError("pre_auth_code expired / 预授权码已过期")
    return code


def is_allowed_redirect(component, redirect_uri: str) -> bool:
    """redirect_uri must be http(s) on one of the component's 授权发起页域名 (or a subdomain)."""
    parts = urlsplit(redirect_uri or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    for domain in component.authorized_domains:
        domain = domain.lower().strip()
        if domain in (parts.netloc.lower(), parts.hostname) or parts.hostname.endswith("." + domain):
            return True
    return False


def authorize(sb, component_appid: str, authorizer_appid: str, preauth_code: str | None = None,
              func_info: list | None = None, wait: bool = False, push: bool = True) -> dict:
    """Authorize (or re-authorize) an account; push authorized/updateauthorized; return the auth code."""
    now = sb.now()
    with sb.state.lock:
        component = sb.state.components.get(component_appid)
        account = sb.state.accounts.get(authorizer_appid)
        if component is None or account is None:
            raise LookupError("unknown component or account")
        if preauth_code:
            # re-checked under the lock: two confirms racing with one code must not both succeed
            check_preauth_code(sb, component_appid, preauth_code).used = True
        auth = sb.state.authorization(component_appid, authorizer_appid)
        event = "updateauthorized" if auth is not None and auth.is_authorized else "authorized"
        if auth is None:
            auth = Authorization(component_appid, authorizer_appid, "")
            sb.state.authorizations[sb.state.auth_key(component_appid, authorizer_appid)] = auth
        if event == "authorized":
            tokens.bind_refresh_token(sb, auth, tokens.new_refresh_token())
            auth.auth_time = now
        auth.is_authorized = True
        auth.func_info = [int(x) for x in (func_info or account.func_info)]
        code = Code(code="queryauthcode@@@" + secrets.token_urlsafe(48), kind=AUTHCODE,
                    component_appid=component_appid, appid=authorizer_appid,
                    expires_at=now + sb.options.auth_code_ttl)
        sb.state.codes[code.code] = code
        sb.state.dirty = True
        wall = sb.wall_time()
        inner = {"AppId": component_appid, "CreateTime": wall, "InfoType": event,
                 "AuthorizerAppid": authorizer_appid, "AuthorizationCode": code.code,
                 "AuthorizationCodeExpiredTime": wall + sb.options.auth_code_ttl,
                 "PreAuthCode": preauth_code or ""}
        target = push_target(component, "auth")
    if not push:
        return {"auth_code": code.code, "expires_in": sb.options.auth_code_ttl, "event": event, "push_id": None}
    record = sb.pushes.send(target, event, "auth", authorizer_appid, inner, now, wait=wait)
    return {"auth_code": code.code, "expires_in": sb.options.auth_code_ttl, "event": event, "push_id": record.id}


def unauthorize(sb, component_appid: str, authorizer_appid: str, wait: bool = False) -> dict:
    now = sb.now()
    with sb.state.lock:
        component = sb.state.components.get(component_appid)
        auth = sb.state.authorization(component_appid, authorizer_appid)
        if component is None or auth is None or not auth.is_authorized:
            raise LookupError("this account is not authorized to this component")
        auth.is_authorized = False
        auth.revoked_at = now
        sb.state.refresh_tokens.pop(auth.refresh_token, None)
        auth.superseded_refresh_tokens.append(auth.refresh_token)
        auth.refresh_token = ""
        tokens.revoke_tokens(sb, component_appid, authorizer_appid)
        inner = {"AppId": component_appid, "CreateTime": sb.wall_time(), "InfoType": "unauthorized",
                 "AuthorizerAppid": authorizer_appid}
        target = push_target(component, "auth")
        sb.state.dirty = True
    push = sb.pushes.send(target, "unauthorized", "auth", authorizer_appid, inner, now, wait=wait)
    return {"push_id": push.id}


def func_info_list(ids: list) -> list[dict]:
    return [{"funcscope_category": {"id": int(i)}} for i in ids]


def query_auth(sb, component_appid: str, raw_code) -> dict:
    """api_query_auth: 61009 unknown or already used code (a code is single-use), 61010 expired code."""
    now = sb.now()
    with sb.state.lock:
        code = sb.state.codes.get(raw_code) if isinstance(raw_code, str) else None
        if code is None or code.kind != AUTHCODE or code.component_appid != component_appid:
            raise ApiError(61009)
        if code.used:
            raise ApiError(61009)
        if now >= code.expires_at:
            raise ApiError(61010)
        auth = sb.state.authorization(component_appid, code.appid)
        if auth is None or not auth.is_authorized:
            raise ApiError(61003)
        code.used = True
        sb.state.dirty = True
        record = tokens.issue_access_token(sb, tokens.AUTHORIZER, component_appid, code.appid)
        return {"authorization_info": {
            "authorizer_appid": code.appid, "authorizer_access_token": record.token,
            "expires_in": sb.options.token_ttl, "authorizer_refresh_token": auth.refresh_token,
            "func_info": func_info_list(auth.func_info)}}


def authorizer_info(sb, component_appid: str, appid, base_url: str) -> dict:
    with sb.state.lock:
        account = sb.state.accounts.get(appid) if isinstance(appid, str) else None
        auth = sb.state.authorization(component_appid, appid) if account else None
        if account is None or auth is None or not auth.is_authorized:
            raise ApiError(61003)
        info = {
            "nick_name": account.nick_name,
            "head_img": "" if account.head_img is None
            else account.head_img or f"{base_url}sandbox/avatars/{account.appid}.png",
            "service_type_info": {"id": account.service_type_id},
            "verify_type_info": {"id": account.verify_type},
            "user_name": account.user_name, "alias": account.alias,
            "qrcode_url": f"{base_url}sandbox/avatars/{account.appid}.png?kind=qrcode",
            "principal_name": account.principal_name, "signature": account.signature,
            "business_info": {"open_store": 0, "open_scan": 0, "open_pay": 0, "open_card": 0, "open_shake": 0},
            "register_type": 0, "account_status": 1,
            "basic_config": {"is_phone_configured": True, "is_email_configured": True},
        }
        if account.is_miniprogram:
            info["MiniProgramInfo"] = miniprogram_info(account)
        return {"authorizer_info": info, "authorization_info": {
            "authorizer_appid": appid, "authorizer_refresh_token": auth.refresh_token,
            "func_info": func_info_list(auth.func_info)}}


def miniprogram_info(account) -> dict:
    effective = account.effective_domains()
    return {"network": {"RequestDomain": effective.get("requestdomain", []),
                        "WsRequestDomain": effective.get("wsrequestdomain", []),
                        "UploadDomain": effective.get("uploaddomain", []),
                        "DownloadDomain": effective.get("downloaddomain", []),
                        "BizDomain": account.effective_webview_domains(),
                        "UDPDomain": effective.get("udpdomain", [])},
            "categories": [{"first": c.get("first_class", ""), "second": c.get("second_class", "")}
                           for c in account.categories],
            "visit_status": account.visit_status}


def authorizer_list(sb, component_appid: str, offset, count) -> dict:
    if not isinstance(offset, int) or not isinstance(count, int) or offset < 0 or not 0 < count <= 500:
        raise ApiError(40097)
    with sb.state.lock:
        items = [a for a in sb.state.authorizations_of(component_appid) if a.is_authorized]
        items.sort(key=lambda a: a.auth_time)
        page = items[offset:offset + count]
        return {"total_count": len(items), "list": [
            {"authorizer_appid": a.authorizer_appid, "refresh_token": a.refresh_token,
             "auth_time": int(a.auth_time)} for a in page]}
