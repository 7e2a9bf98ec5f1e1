"""WeChat third-party platform client and callback crypto: the pure layer under the portal.

Only requests, pycryptodome and the standard library are imported anywhere in this package; no
Flask, SQLAlchemy, RQ, Redis or ``portal.*`` outside ``portal.wechat``. Config, the HTTP session, the
`TokenStore` and an optional call observer are handed in through `WeChatClient`'s constructor.
"""

from .callbacks import (
    AuditDelayEvent,
    AuditFailEvent,
    AuditSuccessEvent,
    AuthorizedEvent,
    Event,
    FastRegisterEvent,
    GenericEvent,
    TicketEvent,
    UnauthorizedEvent,
    UpdateAuthorizedEvent,
    parse_event,
)
from .client import WeChatClient
from .crypto import MessageCrypto, parse_envelope, parse_xml
from .errcodes import describe
from .errors import (
    APIError,
    AppIdMismatch,
    AuthorizationLost,
    CallbackError,
    DecryptError,
    InvalidAESKey,
    InvalidRequest,
    InvalidResponse,
    MalformedMessage,
    PermissionDenied,
    RateLimited,
    ReviewError,
    SignatureMismatch,
    SystemBusy,
    TicketError,
    TokenError,
    TransportError,
    WeChatError,
)
from .http import CallRecord, TokenBinding, WeChatHTTP
from .settings import WeChatConfig
from .tokens import TokenStore

__all__ = [
    "APIError", "AppIdMismatch", "AuditDelayEvent", "AuditFailEvent", "AuditSuccessEvent", "AuthorizationLost",
    "AuthorizedEvent", "CallRecord", "CallbackError", "DecryptError", "Event", "FastRegisterEvent",
    "GenericEvent", "InvalidAESKey", "InvalidRequest", "InvalidResponse", "MalformedMessage", "MessageCrypto",
    "PermissionDenied", "RateLimited", "ReviewError", "SignatureMismatch", "SystemBusy", "TicketError",
    "TicketEvent", "TokenBinding", "TokenError", "TokenStore", "TransportError", "UnauthorizedEvent",
    "UpdateAuthorizedEvent", "WeChatClient", "WeChatConfig", "WeChatError", "WeChatHTTP", "describe",
    "parse_envelope", "parse_event", "parse_xml",
]
