"""The callback views: size check, verify/decrypt/store through the service, answer `success`.

CSRF does not apply (WeChat signs its pushes instead). Bad input gets a 4xx and changes nothing; our own
failure gets a 503 so WeChat retries; an exception never escapes as a 500.

These routes are WeChat's hot path, so they stay lean: `handle` works on the WSGI environ, the rate limit
is counted in process memory (see `ratelimit`) instead of through Flask-Limiter, nothing touches the
session or the user, and each push writes exactly one log line (a spooled or queued push when it is
stored, with the request id of the request that brought it).

A short way through Flask (`CallbackFastPath`): a push is a POST from WeChat's servers: no cookie, no user,
no page, no form. Flask's full pipeline would still open the session cookie, run every before/after-request
hook (Flask-Limiter's, Flask-Login's remember cookie, CSRF), match the URL again and build the response
through werkzeug's `Response`, which together cost about as much CPU as the push itself. This WSGI
middleware sends POSTs to the two callback URLs straight to `handle`, inside an application context (so
`current_app`, `g` and `db.session` work and are torn down as usual) but without a request context: the
handler reads what it needs (query string, body, sender address) from the WSGI environ, and the answer -
always a short plain text - goes out through `start_response` with the security headers built once per app.
It keeps what the hooks give these URLs: the request id (for the log line and the X-Request-Id header) and
the security headers. CSRF does not apply to them (they are exempt), and their rate limit is counted by the
handler itself. Everything else, and any other method on these paths, takes Flask's full pipeline.
"""

import logging
import re
from types import MappingProxyType
from urllib.parse import unquote_plus

from flask import Blueprint, current_app, g, request
from werkzeug.http import HTTP_STATUS_CODES

from portal.callbacks.ratelimit import SlidingWindowLimiter
from portal.coordination import coordination
from portal.extensions import csrf, db, limiter
from portal.logging_setup import request_id_for
from portal.models.callback import SOURCE_AUTH, SOURCE_MESSAGE
from portal.services import pushes

bp = Blueprint("callbacks", __name__)

log = logging.getLogger("portal.callbacks")
APPID_RE = re.compile(r"^wx[0-9a-zA-Z]{6,30}$")
_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}


def _rate_limited(url, address):
    """True once the sender is over CALLBACK_RATE_LIMIT for this URL (per process, see `ratelimit`)."""
    config = current_app.config["CALLBACK_RATE_LIMIT"]
    limits = coordination().here(f"callback_rate_limit:{config}",
                                 lambda: SlidingWindowLimiter.from_string(config))
    return not limits.hit((url, address or "-"))


def _query(environ):
    """The query string's parameters, the first non-blank value of each, as werkzeug's `request.args.get`
    and `parse_qsl` read them. WeChat's values (digits, hex, an openid) carry no escapes, so a value is only
    unquoted when it has one: `parse_qsl` unquotes every name and value, a tenth of a push's CPU here."""
    args = {}
    for pair in environ.get("QUERY_STRING", "").split("&"):
        name, equals, value = pair.partition("=")
        if not value or not equals:
            continue
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        args.setdefault(name, value)
    return args


def _read_body(environ, limit):
    """The body, or None when it is larger than `limit` bytes (as werkzeug reads it: by Content-Length, or
    to the end of a chunked body the server has terminated; nothing otherwise)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > limit:
        return None
    stream = environ["wsgi.input"]
    if length < 0:
        body = stream.read(limit + 1) if environ.get("wsgi.input_terminated") else b""
        return None if len(body) > limit else body
    chunks, left = [], length
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def handle(environ, appid=None):
    """One POST to a callback URL (`appid` from /events/<appid>, None for /auth-events): (text, status)."""
    source = SOURCE_AUTH if appid is None else SOURCE_MESSAGE
    if appid is not None and not APPID_RE.match(appid):
        return "unknown appid", 404
    if _rate_limited(source, environ.get("REMOTE_ADDR")):
        log.warning("callback rejected (429): over the rate limit")
        return "too many requests", 429
    body = _read_body(environ, current_app.config["CALLBACK_MAX_BYTES"])
    if body is None:
        log.warning("callback rejected: body larger than %d bytes", current_app.config["CALLBACK_MAX_BYTES"])
        return "payload too large", 413
    try:
        receipt = pushes.receive(source, body, _query(environ), path_appid=appid, request_id=g.get("request_id"))
    except pushes.CallbackRejected as exc:
        log.warning("callback rejected (%s): %s", exc.status, exc.reason)
        return "rejected", exc.status
    except Exception:  # noqa: BLE001 - our failure: let WeChat retry, never a 500 page
        db.session.rollback()
        log.exception("callback could not be processed")
        return "retry later", 503
    if not pushes.is_deferred(receipt):  # a spooled or queued push's line is written when it is stored
        pushes.log_push(receipt)
    return "success", 200


def _answer(appid=None):
    """The routes' own answer (POSTs normally go through `CallbackFastPath` to `handle` instead)."""
    text, status = handle(request.environ, appid)
    return text, status, _PLAIN


@bp.route("/auth-events", methods=["POST"])
@csrf.exempt
@limiter.exempt
def auth_events():
    return _answer()


@bp.route("/events/<appid>", methods=["POST"])
@csrf.exempt
@limiter.exempt
def message_events(appid):
    return _answer(appid)


# as werkzeug writes them: "200 OK", "403 FORBIDDEN"
_STATUS_LINES = MappingProxyType({status: f"{status} {text.upper()}" for status, text in HTTP_STATUS_CODES.items()})


def _status_line(status):
    return _STATUS_LINES.get(status) or f"{status} UNKNOWN"


class CallbackFastPath:
    """WSGI middleware: POSTs to the callback URLs go to `handle` in an app context (see the module's doc)."""

    def __init__(self, app, wsgi_app, prefix):
        self.app, self.wsgi_app = app, wsgi_app
        self.auth_path, self.message_prefix = f"{prefix}/auth-events", f"{prefix}/events/"

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST":
            path = environ.get("PATH_INFO", "")
            if path == self.auth_path:
                return self._serve(environ, start_response, None)
            if path.startswith(self.message_prefix):
                appid = path[len(self.message_prefix):]
                if appid and "/" not in appid:  # what the route's <appid> would match
                    return self._serve(environ, start_response, appid)
        return self.wsgi_app(environ, start_response)

    def _serve(self, environ, start_response, appid):
        app = self.app
        with app.app_context():
            g.request_id = request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
            try:
                text, status = handle(environ, appid)
            except Exception:  # noqa: BLE001 - never a 500 page: WeChat retries on 503
                log.exception("callback could not be processed")
                text, status = "retry later", 503
        body = text.encode("utf-8")
        start_response(_status_line(status), [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("X-Request-Id", request_id), *self.app.extensions["security_headers"]])
        return [body]
