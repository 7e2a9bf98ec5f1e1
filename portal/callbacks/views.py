"""The callback views: size check, verify/decrypt/store through the service, answer `success`.

CSRF does not apply (WeChat signs its pushes instead). Bad input gets a 4xx and changes nothing; our own
failure gets a 503 so WeChat retries; an exception never escapes as a 500.

These routes are WeChat's hot path, so they stay lean: `handle` works on the WSGI environ (POSTs reach it
through `fastpath`, without a request context or werkzeug's request and response objects), the rate limit
is counted in process memory (see `ratelimit`) instead of through Flask-Limiter, nothing touches the
session or the user, and each push writes exactly one log line.
"""

import logging
import re
from urllib.parse import parse_qsl

from flask import Blueprint, current_app, request

from portal.callbacks.ratelimit import SlidingWindowLimiter
from portal.extensions import csrf, db, limiter
from portal.models.callback import SOURCE_AUTH, SOURCE_MESSAGE
from portal.services import pushes

bp = Blueprint("callbacks", __name__)

log = logging.getLogger("portal.callbacks")
APPID_RE = re.compile(r"^wx[0-9a-zA-Z]{6,30}$")
_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}


def _rate_limited(url, address):
    """True once the sender is over CALLBACK_RATE_LIMIT for this URL (per process, see `ratelimit`)."""
    config = current_app.config["CALLBACK_RATE_LIMIT"]
    cached = current_app.extensions.get("callback_rate_limit")
    if cached is None or cached[0] != config:
        cached = current_app.extensions["callback_rate_limit"] = (config, SlidingWindowLimiter.from_string(config))
    return not cached[1].hit((url, address or "-"))


def _query(environ):
    """The query string's parameters, the first value of each (as werkzeug's `request.args.get`)."""
    args = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", "")):
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
        receipt = pushes.receive(source, body, _query(environ), path_appid=appid)
    except pushes.CallbackRejected as exc:
        log.warning("callback rejected (%s): %s", exc.status, exc.reason)
        return "rejected", exc.status
    except Exception:  # noqa: BLE001 - our failure: let WeChat retry, never a 500 page
        db.session.rollback()
        log.exception("callback could not be processed")
        return "retry later", 503
    log.info("push %s %s for %s: %s", source, receipt.kind, receipt.appid or "-", receipt.outcome)
    return "success", 200


def _answer(appid=None):
    """The routes' own answer (POSTs normally go through `fastpath` to `handle` instead)."""
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
