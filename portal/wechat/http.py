"""The one place that sends HTTP requests to WeChat.

`WeChatHTTP` wraps an injected ``requests.Session``: base URL and timeouts from config, UTF-8 JSON bodies
written with ``ensure_ascii=False`` (some WeChat APIs store ``\\uXXXX`` escapes literally), transport retries
with bounded exponential backoff and jitter only for what is safe to send again: a request that never left
(the connection could not be made) and a read marked ``idempotent=True`` (any transport failure, 5xx
included). A call that changes something (commit, submit_audit, release...) and got a 5xx, a read timeout
or a dropped connection may have reached WeChat: it is never sent again here, it raises a `TransportError`
with ``maybe_sent=True`` for the caller to resolve by reading. Binary (image) bodies are
returned as an `Image` (with its type), ``errcode != 0`` turned into the typed exception from `errors`, and one
token refresh + retry on 40001/40014/42001 through compare-and-invalidate. Tokens never reach logs,
exception messages or the metrics observer. Imports requests (plus its transport urllib3, to tell "never
sent" from "sent then dropped" and to redact urllib3's DEBUG lines) and the standard library only; no Flask
or ``portal.*`` outside this package.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from .errors import (
    InvalidResponse,
    TransportError,
    WeChatError,
    error_for_errcode,
    is_refreshable_token_error,
)

log = logging.getLogger("portal.wechat.http")

SECRET_PARAMS = ("component_access_token", "access_token", "authorizer_access_token", "refresh_token",
                 "authorizer_refresh_token", "component_appsecret", "appsecret", "secret", "ticket")
_SECRET_RE = re.compile(r"(?i)\b(" + "|".join(SECRET_PARAMS) + r")=([^&\s\"'#]+)")


def redact(text: str) -> str:
    """Replace the value of every token/secret query parameter in ``text`` with ``***``."""
    return _SECRET_RE.sub(r"\1=***", text) if "=" in text else text  # most log lines have no parameter


class _RedactingFilter(logging.Filter):
    """Scrubs tokens from urllib3's request lines (it logs the full URL at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_redaction() -> None:
    """Attach the token-redacting filter to urllib3's connection-pool logger (idempotent)."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
        logger.addFilter(_RedactingFilter())


@dataclass(frozen=True)
class TokenBinding:
    """How a call authenticates: query parameter name, a getter and a compare-and-invalidate callback."""

    param: str
    get: Callable[[], str]
    invalidate: Callable[[str], None]


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, handed to the observer. Holds no token, URL query or body."""

    api: str
    method: str
    path: str
    appid: str | None
    errcode: int | None  # 0 on success, None when WeChat gave no JSON answer
    http_status: int | None
    latency_ms: float
    attempt: int
    error: str | None  # exception class name, or None


Observer = Callable[[CallRecord], None]


@dataclass(frozen=True)
class Image:
    """A binary answer (get_qrcode, getwxacodeunlimit): the bytes and their media type."""

    content: bytes = field(repr=False)
    content_type: str


# WeChat's get_qrcode page shows ``Content-Type: image/jpeg``; the portal serves images on with
# ``X-Content-Type-Options: nosniff``, so the type is read from the bytes and the label is only a fallback.
_IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                     (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


def image_type(content: bytes, declared: str = "") -> str:
    """The media type of ``content`` from its magic number; else the declared ``image/*`` type, else
    ``application/octet-stream``."""
    for signature, media_type in _IMAGE_SIGNATURES:
        if content.startswith(signature):
            return media_type
    declared = declared.split(";", 1)[0].strip().lower()
    return declared if declared.startswith("image/") else "application/octet-stream"


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    api: str
    appid: str | None
    params: Mapping[str, Any] | None
    body: bytes | None
    files: Any
    binary: bool
    idempotent: bool


class WeChatHTTP:
    """Sends requests to ``base_url`` through ``session``; see the module docstring for the rules.

    Constructing one installs `install_log_redaction` so urllib3's DEBUG lines never show tokens.
    """

    def __init__(self, session: requests.Session, base_url: str, *, connect_timeout: float = 3.05,
                 read_timeout: float = 15.0, max_retries: int = 2, backoff_base: float = 0.5,
                 backoff_max: float = 8.0, observer: Observer | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.observer = observer
        self._sleep = sleep
        install_log_redaction()

    def call(self, method: str, path: str, *, api: str, token: TokenBinding | None = None,
             appid: str | None = None, params: Mapping[str, Any] | None = None, json: Any = None,
             files: Any = None, binary: bool = False, idempotent: bool = False) -> Any:
        """Send one API call and return the decoded JSON dict (or an `Image` for a binary answer if ``binary``).

        ``idempotent=True`` marks a call that only reads (sending it twice changes nothing at WeChat), so a
        5xx or a timeout is retried; every other call is retried only when it surely never left.
        :raise TransportError: no usable answer after the allowed retries (``maybe_sent`` when a call that
            is not idempotent may have reached WeChat).
        :raise APIError: (a subclass from `errors.ERRCODE_CLASSES`) WeChat answered ``errcode != 0``.
        """
        body = None
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        req = _Request(method.upper(), path, api, appid, params, body, files, binary, idempotent)
        if token is None:
            return self._send(req, None)
        value = token.get()
        try:
            return self._send(req, (token.param, value))
        except WeChatError as exc:
            if not is_refreshable_token_error(exc):
                raise
            # Drop the token only if it is still the cached one (another worker may have refreshed it
            # already), then retry exactly once with whatever the store hands out now.
            log.info("wechat %s: token rejected (errcode=%s); refreshing once", api, exc.errcode)
            token.invalidate(value)
            return self._send(req, (token.param, token.get()))

    # --- attempts ---

    def _send(self, req: _Request, token: tuple[str, str] | None) -> Any:
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(req, token, attempt)
            except _Retry as retry:
                if attempt > self.max_retries:
                    raise retry.error from None
                delay = self._backoff(attempt)
                log.warning("wechat %s: %s; retry %d/%d in %.2fs", req.api, retry.error.errmsg, attempt,
                            self.max_retries, delay)
                self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _attempt(self, req: _Request, token: tuple[str, str] | None, attempt: int) -> Any:
        params = dict(req.params or {})
        if token is not None:
            params[token[0]] = token[1]
        shown = self._shown_path(req)
        started = time.monotonic()
        status: int | None = None
        errcode: int | None = None
        error: WeChatError | None = None
        try:
            response = self._session_request(req, params, shown)
            status = response.status_code
            result = self._decode(req, response, shown)
            errcode = 0
            return result
        except WeChatError as exc:
            error = exc
            errcode = exc.errcode
            raise
        except _Retry as retry:
            error = retry.error
            raise
        finally:
            if error is not None and status is None:
                status = getattr(error, "http_status", None)
            elapsed = (time.monotonic() - started) * 1000
            self._record(req, shown, errcode, status, elapsed, attempt, error)

    def _session_request(self, req: _Request, params: dict[str, Any], shown: str) -> requests.Response:
        headers = {"Content-Type": "application/json; charset=utf-8"} if req.body is not None else None
        try:
            response = self.session.request(req.method, self.base_url + req.path, params=params or None,
                                            data=req.body, files=req.files, headers=headers,
                                            timeout=self.timeout)
        except requests.RequestException as exc:
            never_sent = _never_sent(exc)
            error = TransportError(f"{req.method} {shown}: {type(exc).__name__}: {redact(str(exc))}",
                                   api=req.api, maybe_sent=not never_sent and not req.idempotent)
            if never_sent or req.idempotent:
                raise _Retry(error) from None
            raise error from None
        if response.status_code >= 500:
            # WeChat (or its gateway) got the request: only a read may be sent again
            error = TransportError(f"{req.method} {shown}: HTTP {response.status_code}", api=req.api,
                                   http_status=response.status_code, maybe_sent=not req.idempotent)
            if req.idempotent:
                raise _Retry(error)
            raise error
        if not 200 <= response.status_code < 300:
            raise TransportError(f"{req.method} {shown}: HTTP {response.status_code}", api=req.api,
                                 http_status=response.status_code)
        return response

    def _decode(self, req: _Request, response: requests.Response, shown: str) -> Any:
        content = response.content
        ctype = response.headers.get("Content-Type", "").lower()
        if req.binary and "json" not in ctype and (ctype.startswith("image/")
                                                   or not content.lstrip().startswith(b"{")):
            return Image(content, image_type(content, ctype))
        try:
            data = jsonlib.loads(content.decode("utf-8"), strict=False)
        except (UnicodeDecodeError, ValueError):
            raise InvalidResponse(f"{req.method} {shown}: body is not JSON ({ctype or 'no content-type'})",
                                  api=req.api, http_status=response.status_code,
                                  maybe_sent=not req.idempotent) from None
        if not isinstance(data, dict):
            raise InvalidResponse(f"{req.method} {shown}: JSON body is not an object", api=req.api,
                                  http_status=response.status_code)
        try:
            errcode = int(data.get("errcode") or 0)
        except (TypeError, ValueError):
            raise InvalidResponse(f"{req.method} {shown}: errcode is not a number", api=req.api) from None
        if errcode != 0:
            raise error_for_errcode(errcode, str(data.get("errmsg", "")), req.api, data)
        if req.binary:
            raise InvalidResponse(f"{req.method} {shown}: expected an image, got JSON", api=req.api)
        return data

    def _shown_path(self, req: _Request) -> str:
        if not req.params:
            return req.path
        return req.path + "?" + redact(urlencode({k: v for k, v in req.params.items() if v is not None}))

    def _record(self, req: _Request, shown: str, errcode: int | None, status: int | None, elapsed: float,
                attempt: int, error: WeChatError | None) -> None:
        if error is None:
            log.debug("wechat %s %s %s -> ok in %.0f ms", req.api, req.method, shown, elapsed)
        else:
            # WeChat's own refusals are routine (e.g. polling 61039); transport failures deserve a warning.
            level = logging.INFO if errcode is not None else logging.WARNING
            log.log(level, "wechat %s %s %s -> %s (errcode=%s, http=%s) in %.0f ms", req.api, req.method, shown,
                    type(error).__name__, errcode, status, elapsed)
        if self.observer is None:
            return
        record = CallRecord(api=req.api, method=req.method, path=req.path, appid=req.appid, errcode=errcode,
                            http_status=status, latency_ms=round(elapsed, 2), attempt=attempt,
                            error=type(error).__name__ if error is not None else None)
        try:
            self.observer(record)
        except Exception:  # an observer bug must never break a WeChat call
            log.exception("wechat call observer failed for %s", req.api)


class _Retry(Exception):
    """Internal: the attempt failed in a way that is safe to repeat (never sent, or an idempotent read)."""

    def __init__(self, error: TransportError) -> None:
        super().__init__(error.errmsg)
        self.error = error


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached WeChat (connect failed), so resending cannot duplicate it.

    A connection reset *after* sending (e.g. during submit_audit) is not retried unless the call is an
    idempotent read: WeChat may have acted.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        if isinstance(reason, MaxRetryError):
            return isinstance(reason.reason, NewConnectionError)
    return False
