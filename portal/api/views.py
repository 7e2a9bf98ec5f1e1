"""Views of the token service API. Callers authenticate with `Authorization: Bearer <key>`; errors are JSON
`{"error": {"code", "message"}}` with the stable codes of `openapi.json`. Every call is logged with its key's
name, never with a token."""

import json
import logging
import time

from flask import Blueprint, current_app, g, jsonify, request
from limits import parse
from werkzeug.exceptions import HTTPException

from portal.extensions import csrf, db, limiter
from portal.services import token_api

log = logging.getLogger("portal.api")

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # no cookies are read here: a key in a header is the only credential


@bp.before_request
def authenticate():
    g.api_started, g.api_key_name = time.perf_counter(), None
    if request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    scheme, _sep, raw_key = header.partition(" ")
    caller = token_api.authenticate(raw_key.strip() if scheme.lower() == "bearer" else "")
    g.api_caller, g.api_key_name = caller, caller.name
    _rate_limit(caller)
    token_api.record_use(caller)


def _rate_limit(caller):
    """API_RATE_LIMIT per key, in the rate limiter's storage (Redis when configured: every process counts)."""
    item = parse(current_app.config["API_RATE_LIMIT"])
    try:
        allowed = limiter.limiter.hit(item, "api-key", str(caller.id))
    except Exception as exc:  # noqa: BLE001 - the limit protects the portal; tokens still come from the database
        log.warning("API rate limit not checked (%s): storage unavailable", exc.__class__.__name__)
        return
    if not allowed:
        reset = limiter.limiter.get_window_stats(item, "api-key", str(caller.id)).reset_time
        raise token_api.ApiRateLimited(f"More than {item} calls with this key; slow down.",
                                       retry_after=max(1, int(reset - time.time()) + 1))


@bp.after_request
def log_call(response):
    log.info("api %s %s status=%s key=%s %.1fms", request.method, request.path, response.status_code,
             g.get("api_key_name") or "-", (time.perf_counter() - g.get("api_started", time.perf_counter())) * 1000)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(token_api.TokenServiceError)
def token_service_error(exc):
    response = _error(exc.status_code, exc.code, exc.message)
    if isinstance(exc, token_api.ApiRateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    if exc.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
    return response


@bp.errorhandler(HTTPException)
def http_error(exc):
    return _error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or exc.name)


@bp.errorhandler(Exception)
def unexpected_error(exc):
    db.session.rollback()
    log.exception("api %s %s failed", request.method, request.path)
    return _error(500, "internal_error", "The portal failed to answer; the error was logged.")


def _error(status, code, message):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _token(served):
    return jsonify({"access_token": served.access_token, "expires_in": served.expires_in, "appid": served.appid})


@bp.route("/component/access-token")
def component_access_token():
    return _token(token_api.component_token(g.api_caller))


@bp.route("/authorizers/<appid>/access-token")
def authorizer_access_token(appid):
    return _token(token_api.authorizer_token(g.api_caller, appid))


@bp.route("/authorizers/<appid>/access-token/invalidate", methods=["POST"])
def invalidate_authorizer_access_token(appid):
    body = request.get_json(silent=True)
    rejected = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(rejected, str) or not 0 < len(rejected) <= 512:
        raise token_api.InvalidApiRequest('Send JSON {"access_token": "<the token WeChat rejected>"}.')
    return _token(token_api.invalidate_authorizer_token(g.api_caller, appid, rejected))


@bp.route("/openapi.json")
def openapi():
    with bp.open_resource("openapi.json") as fh:
        return jsonify(json.load(fh))
