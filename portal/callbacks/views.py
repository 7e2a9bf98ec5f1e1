"""The callback views: size check, verify/decrypt/store through the service, answer `success`.

CSRF does not apply (WeChat signs its pushes instead). Bad input gets a 4xx and changes nothing; our own
failure gets a 503 so WeChat retries; an exception never escapes as a 500.

These routes are WeChat's hot path, so they stay lean: the rate limit is counted in process memory (see
`ratelimit`) instead of through Flask-Limiter, nothing touches the session or the user, and each push writes
exactly one log line.
"""

import logging
import re

from flask import current_app, request

from portal.callbacks import bp
from portal.callbacks.ratelimit import SlidingWindowLimiter
from portal.extensions import csrf, db, limiter
from portal.models.callback import SOURCE_AUTH, SOURCE_MESSAGE
from portal.services import callbacks as callbacks_service

log = logging.getLogger("portal.callbacks")
APPID_RE = re.compile(r"^wx[0-9a-zA-Z]{6,30}$")
_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}


def _plain(text, status):
    return text, status, _PLAIN


def _rate_limited(url):
    """True once the sender is over CALLBACK_RATE_LIMIT for this URL (per process, see `ratelimit`)."""
    config = current_app.config["CALLBACK_RATE_LIMIT"]
    cached = current_app.extensions.get("callback_rate_limit")
    if cached is None or cached[0] != config:
        cached = current_app.extensions["callback_rate_limit"] = (config, SlidingWindowLimiter.from_string(config))
    return not cached[1].hit((url, request.remote_addr or "-"))


def _read_body():
    limit = current_app.config["CALLBACK_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        return None
    body = request.stream.read(limit + 1)
    return None if len(body) > limit else body


def _handle(source, appid=None):
    if _rate_limited(source):
        log.warning("callback rejected (429): over the rate limit")
        return _plain("too many requests", 429)
    body = _read_body()
    if body is None:
        log.warning("callback rejected: body larger than %d bytes", current_app.config["CALLBACK_MAX_BYTES"])
        return _plain("payload too large", 413)
    try:
        receipt = callbacks_service.receive(source, body, request.args, path_appid=appid)
    except callbacks_service.CallbackRejected as exc:
        log.warning("callback rejected (%s): %s", exc.status, exc.reason)
        return _plain("rejected", exc.status)
    except Exception:  # noqa: BLE001 - our failure: let WeChat retry, never a 500 page
        db.session.rollback()
        log.exception("callback could not be processed")
        return _plain("retry later", 503)
    log.info("push %s %s for %s: %s", source, receipt.kind, receipt.appid or "-", receipt.outcome)
    return _plain("success", 200)


@bp.route("/auth-events", methods=["POST"])
@csrf.exempt
@limiter.exempt
def auth_events():
    return _handle(SOURCE_AUTH)


@bp.route("/events/<appid>", methods=["POST"])
@csrf.exempt
@limiter.exempt
def message_events(appid):
    if not APPID_RE.match(appid):
        return _plain("unknown appid", 404)
    return _handle(SOURCE_MESSAGE, appid)
