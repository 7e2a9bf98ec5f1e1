"""Registering components and creating accounts (mini-programs / official accounts) in the sandbox.

``register_component`` validates the platform's settings (43-character EncodingAESKey, ``$APPID$`` in the
message URL) and ``create_account`` fills every field the caller left out with a sensible generated value,
so a test can say ``{"nick_name": "Shop"}`` and get a complete mini-program. Also holds the component
ticket logic (push a new ticket, check one presented to ``api_component_token``).
"""

from __future__ import annotations

import hashlib
import secrets

from .crypto import CryptoError, MessageCrypto
from .errors import ApiError
from .model import MINIPROGRAM, OFFICIAL_ACCOUNT, Account, Component
from .pushes import PushTarget

DEFAULT_FUNC_INFO = [17, 18, 19, 25, 30, 31, 36, 37, 40, 48, 49]
DEFAULT_OA_FUNC_INFO = [1, 2, 3, 4, 6, 7, 11, 15, 22, 23, 24, 26]
# api_get_authorizer_info's 公众号类型 and 公众号认证类型 tables (service_type_info / verify_type_info ids).
OA_SERVICE_TYPES = (0, 1, 2)
VERIFY_TYPES = (-1, 0, 1, 3, 4)
DEFAULT_CATEGORIES = [{"first_id": 304, "first_class": "商家自营", "second_id": 785, "second_class": "服装/鞋/箱包"}]
COMPONENT_FIELDS = ("component_appid", "component_appsecret", "token", "encoding_aes_key")


class RegistryError(ValueError):
    """Bad control-API input (answered with HTTP 400)."""


def register_component(sb, spec: dict) -> Component:
    missing = [name for name in COMPONENT_FIELDS if not spec.get(name)]
    if missing:
        raise RegistryError(f"missing field(s): {', '.join(missing)}")
    try:
        MessageCrypto(spec["token"], spec["encoding_aes_key"], spec["component_appid"])
    except CryptoError as exc:
        raise RegistryError(str(exc)) from exc
    if spec.get("message_url") and "$APPID$" not in spec["message_url"]:
        raise RegistryError("message_url must contain the literal $APPID$")
    fields = {k: v for k, v in spec.items() if k in Component.__dataclass_fields__}
    fields.setdefault("rotate_refresh_tokens", sb.options.rotate_refresh_tokens)
    fields.setdefault("ticket_interval", sb.options.ticket_interval)
    component = Component(**fields)
    component.server_domains = list(spec.get("server_domains") or component.authorized_domains)
    component.webview_domains = list(spec.get("webview_domains") or component.authorized_domains)
    component.created_at = sb.now()
    with sb.state.lock:
        sb.state.components[component.component_appid] = component
        sb.state.drafts.setdefault(component.component_appid, {})
        sb.state.templates.setdefault(component.component_appid, {})
        sb.state.dirty = True
    return component


def _generated_appid(prefix: str = "wx") -> str:
    return prefix + secrets.token_hex(8)


def create_account(sb, spec: dict) -> Account:
    account_type = spec.get("account_type", MINIPROGRAM)
    if account_type not in (MINIPROGRAM, OFFICIAL_ACCOUNT):
        raise RegistryError("account_type must be 'miniprogram' or 'official_account'")
    appid = spec.get("appid") or _generated_appid()
    digest = hashlib.sha1(appid.encode()).hexdigest()
    is_mp = account_type == MINIPROGRAM
    fields = {k: v for k, v in spec.items() if k in Account.__dataclass_fields__}
    fields.update(appid=appid, account_type=account_type)
    if spec.get("blank"):  # a new mini-program: no name, avatar, introduction or category yet (86002)
        fields.update(nick_name="", signature="", head_img=None, categories=[])
    fields.setdefault("nick_name", ("小程序" if is_mp else "公众号") + f" {appid[-4:]}")
    fields.setdefault("user_name", f"gh_{digest[:12]}")
    fields.setdefault("principal_name", "沙箱测试有限公司")
    fields.setdefault("signature", "A sandbox account for testing 代小程序实现业务.")
    fields.setdefault("categories", list(DEFAULT_CATEGORIES) if is_mp else [])
    fields.setdefault("func_info", list(DEFAULT_FUNC_INFO if is_mp else DEFAULT_OA_FUNC_INFO))
    fields.setdefault("service_type", 0 if is_mp else 2)
    _check_types(fields, is_mp)
    account = Account(**fields)
    account.func_info = [int(x) for x in account.func_info]
    account.location_permissions = _location_permissions(account.location_permissions)
    account.privacy = account.privacy or {"dev": None, "live": None}
    with sb.state.lock:
        if appid in sb.state.accounts:
            raise RegistryError(f"account {appid} already exists")
        sb.state.accounts[appid] = account
        sb.state.dirty = True
    return account


def _check_types(fields: dict, is_mp: bool) -> None:
    if fields["service_type"] not in ((0,) if is_mp else OA_SERVICE_TYPES) or isinstance(fields["service_type"], bool):
        raise RegistryError("service_type must be 0 (订阅号), 1 (升级的订阅号) or 2 (服务号) for an official account, "
                            "and 0 for a mini-program")
    verify = fields.get("verify_type", 0)
    if verify not in VERIFY_TYPES or isinstance(verify, bool):
        raise RegistryError(f"verify_type must be one of {', '.join(map(str, VERIFY_TYPES))}")


def _location_permissions(value) -> list:
    """The location APIs the account may use, as API names ("wx.getLocation"; "getLocation" is accepted)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RegistryError("location_permissions must be a list of API names such as wx.getLocation")
    return [v.strip() if v.strip().startswith("wx.") else "wx." + v.strip() for v in value]


def push_target(component: Component, kind: str, appid: str = "") -> PushTarget:
    url = component.auth_event_url if kind == "auth" else component.message_url.replace("$APPID$", appid)
    return PushTarget(component.component_appid, component.token, component.encoding_aes_key, url)


def push_ticket(sb, component_appid: str, wait: bool = False):
    """Issue a new component_verify_ticket and push it to the authorization event URL."""
    now = sb.now()
    with sb.state.lock:
        component = sb.state.components[component_appid]
        if component.ticket:
            component.previous_ticket = component.ticket
            component.previous_ticket_valid_until = now + sb.options.ticket_grace
        component.ticket = "ticket@@@" + secrets.token_urlsafe(64)
        component.ticket_issued_at = now
        component.next_ticket_at = now + component.ticket_interval
        inner = {"AppId": component_appid, "CreateTime": sb.wall_time(), "InfoType": "component_verify_ticket",
                 "ComponentVerifyTicket": component.ticket}
        target = push_target(component, "auth")
    return sb.pushes.send(target, "component_verify_ticket", "auth", component_appid, inner, now, wait=wait)


def check_ticket(sb, component: Component, ticket) -> None:
    """61006 for a missing/unknown/superseded ticket, 61005 for one older than its 12 h life."""
    now = sb.now()
    if not isinstance(ticket, str) or not ticket or ticket in ("null", "None", "undefined"):
        raise ApiError(61006)
    if ticket == component.ticket:
        if now >= component.ticket_issued_at + sb.options.ticket_ttl:
            raise ApiError(61005)
        return
    if ticket == component.previous_ticket and now < component.previous_ticket_valid_until:
        return
    raise ApiError(61006)


def check_component_secret(sb, component_appid, secret) -> Component:
    component = sb.state.components.get(component_appid or "")
    if component is None:
        raise ApiError(40013)
    if secret != component.component_appsecret:
        raise ApiError(40125)
    return component


MESSAGE_TYPES = ("text", "image", "event")


def push_user_message(sb, component_appid: str, appid: str, msg_type: str, content: str = "",
                      event: str = "user_enter_tempsession", wait: bool = False):
    """A user's customer-service message (text or image) or user event to an authorized account, pushed to
    the platform's message URL as WeChat forwards what the platform receives on an account's behalf."""
    if msg_type not in MESSAGE_TYPES:
        raise RegistryError(f"msg_type must be one of {', '.join(MESSAGE_TYPES)}")
    now = sb.now()
    with sb.state.lock:
        component = sb.state.components.get(component_appid)
        account = sb.state.accounts.get(appid)
        if component is None or account is None:
            raise LookupError(f"no component {component_appid} or account {appid}")
        authorization = sb.state.authorization(component_appid, appid)
        if authorization is None or not authorization.is_authorized:
            raise RegistryError(f"{appid} has not authorized {component_appid}: WeChat pushes it nothing")
        inner = {"ToUserName": account.user_name, "FromUserName": "o" + secrets.token_hex(12),
                 "CreateTime": sb.wall_time(), "MsgType": msg_type}
        if msg_type == "text":
            inner.update(Content=content or "hello", MsgId=secrets.randbelow(2 ** 63))
        elif msg_type == "image":
            media = secrets.token_hex(8)
            inner.update(PicUrl=f"https://mmbiz.qpic.cn/sandbox/{media}", MediaId="sandbox_media_" + media,
                         MsgId=secrets.randbelow(2 ** 63))
        else:
            inner.update(Event=event, SessionFrom=content)
        target = push_target(component, "message", appid)
    kind = event if msg_type == "event" else msg_type
    return sb.pushes.send(target, kind, "message", appid, inner, now, wait=wait, to_user=account.user_name)
