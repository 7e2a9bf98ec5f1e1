"""Decrypted callback XML -> small frozen dataclasses.

`parse_event()` turns the inner XML of a push (already verified and decrypted by `crypto.MessageCrypto`) into
one of: `TicketEvent`, `AuthorizedEvent`, `UpdateAuthorizedEvent`, `UnauthorizedEvent`, `FastRegisterEvent`
(authorization-event URL, keyed by ``InfoType``), `AuditSuccessEvent`, `AuditFailEvent`, `AuditDelayEvent`,
`NicknameAuditEvent`, `CategoryAuditEvent`, `PrivacyApplyEvent` (message URL, keyed by ``Event``) or
`GenericEvent` for anything else. Every event has ``kind``, ``create_time``, ``appid`` (the account it concerns) and ``dedup_key``. Parsing (`crypto.parse_xml`) refuses DTDs
and entities; malformed input raises `MalformedMessage`. Imports the standard library only (and `crypto`); no
Flask, database or ``portal.*`` outside this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from .crypto import parse_xml
from .errors import MalformedMessage


@dataclass(frozen=True)
class Event:
    """Common shape: ``kind`` is the InfoType or Event name, ``appid`` the account the push concerns."""

    kind: str
    appid: str
    create_time: int
    fields: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def dedup_key(self) -> tuple[str, str, int]:
        """(appid, kind, create_time): WeChat retries a push with the same values."""
        return (self.appid, self.kind, self.create_time)


@dataclass(frozen=True)
class TicketEvent(Event):
    """InfoType ``component_verify_ticket`` (every 10 minutes, valid 12 h); ``appid`` is the component appid."""

    ticket: str = field(default="", repr=False)


@dataclass(frozen=True)
class _AuthorizationChange(Event):
    component_appid: str = ""
    authorization_code: str = field(default="", repr=False)  # a short-lived credential: keep out of logs
    authorization_code_expired_time: int = 0
    pre_auth_code: str = field(default="", repr=False)

    @property
    def authorizer_appid(self) -> str:
        return self.appid


@dataclass(frozen=True)
class AuthorizedEvent(_AuthorizationChange):
    """InfoType ``authorized``: call ``api_query_auth(authorization_code)`` at once."""


@dataclass(frozen=True)
class UpdateAuthorizedEvent(_AuthorizationChange):
    """InfoType ``updateauthorized``: permission sets changed; re-run ``api_query_auth``."""


@dataclass(frozen=True)
class UnauthorizedEvent(Event):
    """InfoType ``unauthorized``: the merchant revoked the authorization of ``appid``."""

    component_appid: str = ""

    @property
    def authorizer_appid(self) -> str:
        return self.appid


@dataclass(frozen=True)
class FastRegisterEvent(Event):
    """InfoType ``notify_third_fasteregister``; ``appid`` is the new mini-program (empty on failure).

    ``status == 0`` means success: call ``api_query_auth(auth_code)``. ``info`` is the enterprise shape
    (name, code, code_type, legal_persona_*) or the personal shape (wxuser, idname) - see ``is_personal``.
    """

    component_appid: str = ""
    status: int = -1
    auth_code: str = field(default="", repr=False)
    msg: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_success(self) -> bool:
        return self.status == 0

    @property
    def is_personal(self) -> bool:
        return "wxuser" in self.info or "idname" in self.info

    @property
    def taskid(self) -> str:
        return str(self.info.get("taskid") or self.fields.get("taskid") or "")


@dataclass(frozen=True)
class _AuditEvent(Event):
    to_user_name: str = ""  # the mini-program's original id (gh_...)


@dataclass(frozen=True)
class AuditSuccessEvent(_AuditEvent):
    """Event ``weapp_audit_success``."""

    succ_time: int = 0


@dataclass(frozen=True)
class AuditFailEvent(_AuditEvent):
    """Event ``weapp_audit_fail``; ``screenshots`` are media ids split from ``ScreenShot`` ("a|b")."""

    reason: str = ""
    fail_time: int = 0
    screenshots: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditDelayEvent(_AuditEvent):
    """Event ``weapp_audit_delay``: a success or fail push still follows later."""

    reason: str = ""
    delay_time: int = 0


@dataclass(frozen=True)
class SetupResultEvent(Event):
    """The outcome of a setup audit: ``approved`` (ret / status 3) or rejected (2) with ``reason``."""

    approved: bool = False
    reason: str = ""


@dataclass(frozen=True)
class NicknameAuditEvent(SetupResultEvent):
    """Event ``wxa_nickname_audit``: ``ret`` 2 失败 / 3 成功 for the requested ``nickname``."""

    nickname: str = ""


@dataclass(frozen=True)
class CategoryAuditEvent(SetupResultEvent):
    """Event ``wxa_category_audit``: ``ret`` 2 驳回 / 3 通过 for category ``first``/``second``."""

    first: int = 0
    second: int = 0


@dataclass(frozen=True)
class PrivacyApplyEvent(SetupResultEvent):
    """Event ``wxa_privacy_apply``: ``result_info`` of a location-API application (status 2 / 3)."""

    api_name: str = ""
    audit_id: str = ""


@dataclass(frozen=True)
class GenericEvent(Event):
    """Any other push; all top-level fields stay available in ``fields``."""


def element_to_value(element: Element) -> Any:
    """Text for a leaf; for a parent a dict (repeated children become lists)."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    result: dict[str, Any] = {}
    for child in children:
        value = element_to_value(child)
        if child.tag in result:
            previous = result[child.tag]
            result[child.tag] = previous + [value] if isinstance(previous, list) else [previous, value]
        else:
            result[child.tag] = value
    return result


def _int(fields: dict[str, Any], name: str, *, required: bool = False) -> int:
    value = fields.get(name)
    if value in (None, ""):
        if required:
            raise MalformedMessage(f"missing {name}")
        return 0
    try:
        return int(str(value).strip())
    except ValueError:
        raise MalformedMessage(f"{name} is not an integer") from None


def _text(fields: dict[str, Any], name: str, *, required: bool = False) -> str:
    value = fields.get(name)
    if isinstance(value, dict | list):
        raise MalformedMessage(f"{name} is not a text field")
    text = (value or "").strip() if isinstance(value, str) else ""
    if required and not text:
        raise MalformedMessage(f"missing {name}")
    return text


def parse_event(xml: bytes | str, authorizer_appid: str | None = None) -> Event:
    """Parse a decrypted push into an event dataclass.

    ``authorizer_appid`` is the appid from the message-URL path (``/$APPID$``); message-URL pushes name the
    mini-program only by its original id (``ToUserName``), which is used when no appid is given.

    :raise MalformedMessage: unsafe/malformed XML, missing ``CreateTime`` or a required field.
    """
    root = parse_xml(xml)
    value = element_to_value(root)
    fields: dict[str, Any] = value if isinstance(value, dict) else {}
    create_time = _int(fields, "CreateTime", required=True)
    if fields.get("InfoType"):
        return _parse_platform_event(fields, create_time)
    return _parse_message_event(fields, create_time, authorizer_appid)


def _parse_platform_event(fields: dict[str, Any], create_time: int) -> Event:
    info_type = _text(fields, "InfoType", required=True)
    component_appid = _text(fields, "AppId")
    common = {"kind": info_type, "create_time": create_time, "fields": fields}
    if info_type == "component_verify_ticket":
        return TicketEvent(appid=component_appid, ticket=_text(fields, "ComponentVerifyTicket", required=True),
                           **common)
    if info_type in ("authorized", "updateauthorized"):
        cls = AuthorizedEvent if info_type == "authorized" else UpdateAuthorizedEvent
        return cls(
            appid=_text(fields, "AuthorizerAppid", required=True), component_appid=component_appid,
            authorization_code=_text(fields, "AuthorizationCode", required=True),
            authorization_code_expired_time=_int(fields, "AuthorizationCodeExpiredTime"),
            pre_auth_code=_text(fields, "PreAuthCode"), **common,
        )
    if info_type == "unauthorized":
        return UnauthorizedEvent(appid=_text(fields, "AuthorizerAppid", required=True),
                                 component_appid=component_appid, **common)
    if info_type == "notify_third_fasteregister":
        return _parse_fast_register(fields, component_appid, common)
    return GenericEvent(appid=_text(fields, "AuthorizerAppid") or component_appid, **common)


def _parse_fast_register(fields: dict[str, Any], component_appid: str, common: dict[str, Any]) -> Event:
    info = fields.get("info")
    if info not in (None, "") and not isinstance(info, dict):
        raise MalformedMessage("info is not a structure")
    return FastRegisterEvent(
        # A failed registration has no new appid; key it by the platform so dedup still works.
        appid=_text(fields, "appid") or component_appid, component_appid=component_appid,
        status=_int(fields, "status", required=True), auth_code=_text(fields, "auth_code"),
        msg=_text(fields, "msg"), info=info or {}, **common,
    )


def _parse_message_event(fields: dict[str, Any], create_time: int, authorizer_appid: str | None) -> Event:
    to_user = _text(fields, "ToUserName")
    appid = authorizer_appid or to_user
    if not appid:
        raise MalformedMessage("cannot tell which account the push concerns")
    msg_type = _text(fields, "MsgType") or "unknown"
    kind = _text(fields, "Event") if msg_type == "event" else msg_type
    common = {"kind": kind or msg_type, "appid": appid, "create_time": create_time, "fields": fields}
    if kind == "weapp_audit_success":
        return AuditSuccessEvent(to_user_name=to_user, succ_time=_int(fields, "SuccTime"), **common)
    if kind == "weapp_audit_fail":
        shots = _text(fields, "ScreenShot") or _text(fields, "Screenshot") or _text(fields, "screenshot")
        return AuditFailEvent(
            to_user_name=to_user, reason=_text(fields, "Reason"), fail_time=_int(fields, "FailTime"),
            screenshots=tuple(s for s in shots.split("|") if s), **common,
        )
    if kind == "weapp_audit_delay":
        return AuditDelayEvent(to_user_name=to_user, reason=_text(fields, "Reason"),
                               delay_time=_int(fields, "DelayTime"), **common)
    if kind in ("wxa_nickname_audit", "wxa_category_audit", "wxa_privacy_apply"):
        return _parse_setup_result(kind, fields, common)
    return GenericEvent(**common)


def _parse_setup_result(kind: str, fields: dict[str, Any], common: dict[str, Any]) -> Event:
    if kind == "wxa_nickname_audit":
        return NicknameAuditEvent(approved=_int(fields, "ret", required=True) == 3, reason=_text(fields, "reason"),
                                  nickname=_text(fields, "nickname"), **common)
    if kind == "wxa_category_audit":
        return CategoryAuditEvent(approved=_int(fields, "ret", required=True) == 3, reason=_text(fields, "reason"),
                                  first=_int(fields, "first"), second=_int(fields, "second"), **common)
    info = fields.get("result_info")
    if not isinstance(info, dict):
        raise MalformedMessage("result_info is not a structure")
    return PrivacyApplyEvent(approved=_int(info, "status", required=True) == 3, reason=_text(info, "reason"),
                             api_name=_text(info, "api_name"), audit_id=_text(info, "audit_id"), **common)
