"""Exception hierarchy of the WeChat client layer and the one errcode -> class table.

Modeled on stripe-python's ``_error.py``: every failure is a `WeChatError` carrying ``retryable``,
``errcode``, ``errmsg``, ``api`` and a ``human(lang)`` text from `errcodes.py`. Subclasses say what the
*caller* must do (refresh a token, wait, ask the merchant to re-authorize, fix the request...). `ERRCODE_CLASSES`
is the only place that maps raw numbers to classes; `error_for_errcode()` builds the exception from it. A code
the portal acts on has a class of its own under its family (`AlreadyReleased` is a `ReviewError`), so callers
write ``except AlreadyReleased:`` and never compare numbers. This module imports only the standard library and
`errcodes`; it must not import requests, Flask or ``portal.*``.
"""

from __future__ import annotations

from typing import Any

from . import errcodes


class WeChatError(Exception):
    """Base of every error raised by ``portal.wechat``."""

    retryable: bool = False
    retry_after: float | None = None  # suggested delay in seconds before a retry, when retryable
    errcode: int | None = None
    errmsg: str = ""
    api: str = ""
    _human: tuple[str, str] | None = None  # fixed (zh, en) text for errors that carry no errcode

    def __init__(self, message: str = "", *, api: str = "") -> None:
        super().__init__(message or self.__class__.__name__)
        self.errmsg = message
        self.api = api

    def __reduce__(self) -> tuple[Any, ...]:
        # Custom constructors break default exception pickling; keep errors picklable for job queues.
        return (_rebuild, (self.__class__, str(self)), self.__dict__)

    def human(self, lang: str = "zh") -> str:
        """Plain-language explanation for the operator, in ``lang`` ("zh" or "en")."""
        if self._human is not None and self.errcode is None:
            return self._human[0 if str(lang).lower().startswith("zh") else 1]
        return errcodes.describe(self.errcode, lang, self.errmsg)


def _rebuild(cls: type[WeChatError], message: str) -> WeChatError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


# --- transport -------------------------------------------------------------------------------------------


class TransportError(WeChatError):
    """No usable answer from WeChat: timeout, connection error, non-2xx HTTP status, unreadable body.

    ``maybe_sent`` is True when the request may have reached WeChat (a 5xx, a read timeout, a connection
    dropped after sending, an unreadable answer) for a call that changes something: WeChat may have acted,
    so the client did not send it again, and the caller must find out by reading (get_latest_auditstatus,
    getversioninfo...) before any repeat.
    """

    retryable = True
    retry_after = 5.0
    maybe_sent = False

    def __init__(self, message: str = "", *, api: str = "", http_status: int | None = None,
                 maybe_sent: bool = False) -> None:
        if maybe_sent:
            message = f"{message} (may have reached WeChat; not sent again)"
        super().__init__(message, api=api)
        self.http_status = http_status
        self.maybe_sent = maybe_sent

    def human(self, lang: str = "zh") -> str:
        if self.maybe_sent:
            return errcodes.MAYBE_SENT[0 if str(lang).lower().startswith("zh") else 1]
        return super().human(lang)


class InvalidResponse(TransportError):
    """WeChat (or a proxy in between) answered 2xx with a body that is not the JSON we expected."""


# --- API errors (errcode != 0) ---------------------------------------------------------------------------


class APIError(WeChatError):
    """WeChat answered with ``errcode != 0``. ``response`` is the decoded JSON body (never the request URL)."""

    def __init__(self, errcode: int, errmsg: str = "", api: str = "", response: Any = None) -> None:
        super().__init__(f"{api or 'wechat'}: errcode={errcode} errmsg={errmsg}", api=api)
        self.errcode = errcode
        self.errmsg = errmsg
        self.response = response

    @classmethod
    def from_portal(cls, errmsg: str, api: str = "") -> APIError:
        """The error WeChat would answer, raised by the portal's own check before (or instead of) a call.

        Only for a class with a code of its own (``errcode`` set on the class, e.g. `PrivacyScanRunning`)."""
        if cls.errcode is None:
            raise TypeError(f"{cls.__name__} stands for no single errcode")
        return cls(cls.errcode, errmsg, api, None)


class TokenError(APIError):
    """The access token was rejected (40001/40014/42001) or missing (41001); the client refreshes once."""


class RateLimited(APIError):
    """A call quota was hit (45009 daily, 45011 per-minute); retry later or clear the quota."""

    retryable = True
    retry_after = 60.0


class SystemBusy(APIError):
    """errcode -1: WeChat is busy; safe to retry after a short pause."""

    retryable = True
    retry_after = 2.0


class AuthorizationLost(APIError):
    """The merchant's authorization is gone (61003) or the refresh token is invalid (61023)."""


class TicketError(APIError):
    """component_verify_ticket expired or invalid (61005/61006): wait for the next push or restart pushes."""


class PermissionDenied(APIError):
    """The platform lacks a permission set or its IP is not whitelisted (48001, 61004, 61007, 40164...)."""


class InvalidRequest(APIError):
    """The request itself was rejected (4xxxx parameter errors, tester/domain/fast-register rules)."""


class ReviewError(APIError):
    """Code management and review refused the step (85xxx/86xxx/87xxx, 61039/61040 privacy checks)."""


# --- the codes the portal acts on: a class each, under its family, carrying its code ------------------------


class AppNotAuthorized(AuthorizationLost):
    """61003: the account has not authorized the platform, or revoked it."""

    errcode = 61003


class RefreshTokenInvalid(AuthorizationLost):
    """61023: the authorizer refresh token is invalid (recoverable from api_get_authorizer_list)."""

    errcode = 61023


class DomainChangesSpent(InvalidRequest):
    """86102: modify_domain(_directly) refused because the month's 50 changes are used."""

    errcode = 86102


class RegistrationPending(InvalidRequest):
    """89251/89252: the fast-registration task waits for the legal person's face check or WeChat's checks."""


class RegistrationNotFound(InvalidRequest):
    """89250: WeChat has no fast-registration task for these details."""


class AuditInProgress(ReviewError):
    """85009: submit_audit refused because a version is already under review."""

    errcode = 85009


class QuotaExhausted(ReviewError):
    """85085: the platform's monthly audit submissions are used up."""

    errcode = 85085


class AlreadyReleased(ReviewError):
    """85052: /wxa/release found the version already released: the release is done."""

    errcode = 85052


class NoCodeSubmitted(ReviewError):
    """86001: WeChat holds no code (or, for get_latest_auditstatus, no audit) submitted by the platform."""

    errcode = 86001


class PrivacyScanRunning(ReviewError):
    """61039: WeChat's privacy scan of the uploaded code has not ended; submitting now is refused."""

    errcode = 61039


class LocationApiRefused(ReviewError):
    """61040: submit_audit refused location APIs the code uses: undeclared in requiredPrivateInfos or not
    permitted (see the commit doc)."""

    errcode = 61040


# --- callbacks -------------------------------------------------------------------------------------------


class CallbackError(WeChatError):
    """A pushed callback could not be trusted or read; answer WeChat without acting on it."""

    _human = ("微信推送的消息无法验证或解析。", "A message pushed by WeChat could not be verified or read.")


class SignatureMismatch(CallbackError):
    """msg_signature (or signature) does not match token/timestamp/nonce/payload."""

    _human = ("推送消息签名不正确，已拒绝。", "The pushed message has a wrong signature and was rejected.")


class DecryptError(CallbackError):
    """The Encrypt payload is not valid base64/AES/PKCS#7 or its length field is inconsistent."""

    _human = ("推送消息无法解密，请检查 EncodingAESKey 配置。", "The pushed message could not be decrypted. "
              "Check the EncodingAESKey setting.")


class AppIdMismatch(CallbackError):
    """The decrypted payload was encrypted for another appid."""

    _human = ("推送消息不是发给本第三方平台的，已拒绝。", "The pushed message was meant for another AppID and was "
              "rejected.")


class MalformedMessage(CallbackError):
    """The XML is not well-formed, uses a DTD/entities, or lacks required fields."""

    _human = ("推送消息格式不正确，已忽略。", "The pushed message is malformed and was ignored.")


class InvalidAESKey(WeChatError, ValueError):
    """The configured EncodingAESKey is not 43 base64 characters decoding to 32 bytes."""

    _human = ("EncodingAESKey 配置不正确（应为 43 位字符）。", "The EncodingAESKey setting is wrong "
              "(it must be 43 characters).")


# --- the one table ---------------------------------------------------------------------------------------

ERRCODE_CLASSES: dict[int, type[APIError]] = {
    -1: SystemBusy, 89401: SystemBusy,
    # token
    40001: TokenError, 40014: TokenError, 42001: TokenError, 41001: TokenError,
    # quotas
    45009: RateLimited, 45011: RateLimited,
    # authorization / credentials
    61003: AppNotAuthorized, 61023: RefreshTokenInvalid,
    61005: TicketError, 61006: TicketError,
    40164: PermissionDenied, 48001: PermissionDenied, 48004: PermissionDenied, 61004: PermissionDenied,
    61007: PermissionDenied, 89254: PermissionDenied,
    # codes from single pages' own tables: getwxacodeunlimit's scene (40169), setprivacysetting's owner_setting
    # (86069), grayrelease (85079-85082) and speedupaudit (89402-89405)
    40169: InvalidRequest, 86069: InvalidRequest,
    85079: ReviewError, 85080: ReviewError, 85081: ReviewError, 85082: ReviewError,
    89402: ReviewError, 89403: ReviewError, 89404: ReviewError, 89405: ReviewError,
    # parameter errors (incl. tester, domain and fast-register rules: the request must change)
    40013: InvalidRequest, 40097: InvalidRequest, 40125: InvalidRequest, 41002: InvalidRequest,
    41030: InvalidRequest, 43001: InvalidRequest, 43002: InvalidRequest, 44002: InvalidRequest,
    47001: InvalidRequest, 48006: InvalidRequest, 61009: InvalidRequest, 61010: InvalidRequest,
    61070: InvalidRequest, 85001: InvalidRequest, 85002: InvalidRequest, 85003: InvalidRequest,
    85004: InvalidRequest, 85015: InvalidRequest, 85016: InvalidRequest, 85017: InvalidRequest,
    85018: InvalidRequest, 85301: InvalidRequest, 86004: InvalidRequest, 86102: DomainChangesSpent,
    89019: InvalidRequest, 89020: InvalidRequest, 89021: InvalidRequest, 89029: InvalidRequest, 89231: InvalidRequest,
    89248: InvalidRequest, 89249: InvalidRequest, 89250: RegistrationNotFound, 89251: RegistrationPending,
    89252: RegistrationPending, 89253: InvalidRequest, 89255: InvalidRequest, 89247: SystemBusy,
    # code management, review, release, templates, privacy
    61039: PrivacyScanRunning, 61040: LocationApiRefused, 85009: AuditInProgress, 85012: ReviewError,
    85013: ReviewError, 85014: ReviewError, 85019: ReviewError, 85020: ReviewError, 85043: ReviewError, 85044: ReviewError,
    85045: ReviewError, 85046: ReviewError, 85047: ReviewError, 85048: ReviewError, 85052: AlreadyReleased,
    85064: ReviewError, 85065: ReviewError, 85077: ReviewError, 85085: QuotaExhausted, 85086: ReviewError,
    85087: ReviewError, 86000: ReviewError, 86001: NoCodeSubmitted, 86002: ReviewError, 86074: ReviewError,
    87013: ReviewError, 9402203: ReviewError,
}

# Token errors after which a fresh token can help (41001 "missing" means our own bug, not a stale token).
REFRESHABLE_TOKEN_ERRCODES = frozenset({40001, 40014, 42001})


def error_for_errcode(errcode: int, errmsg: str = "", api: str = "", response: Any = None) -> APIError:
    """Build the exception for ``errcode`` from `ERRCODE_CLASSES`; unknown codes give a plain `APIError`."""
    cls = ERRCODE_CLASSES.get(errcode, APIError)
    return cls(errcode, errmsg, api, response)


def is_refreshable_token_error(exc: BaseException) -> bool:
    """True if ``exc`` says the token we sent is stale and one refresh + retry is worth it."""
    return isinstance(exc, TokenError) and exc.errcode in REFRESHABLE_TOKEN_ERRCODES

