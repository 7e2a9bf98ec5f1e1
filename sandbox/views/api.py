"""The machinery every emulated WeChat endpoint goes through.

``api_route`` registers a handler under its WeChat path, endpoint name and the one HTTP method its doc
page names. ``dispatch`` then, for every call: identifies the caller (token owner or ``component_appid`` in
the body), applies injected faults, answers the other method with 43001/43002, validates the token
(41001/40014/40001/42001), charges the daily quota (45009), runs the handler, turns ``ApiError`` into
WeChat's JSON error body, and records the call with its errcode — also when it failed.
An ``after_call`` fault runs the call first and then loses its answer (an HTTP error or a hang).
"""

from __future__ import annotations

import json
import logging
import time

from flask import Response, request

from .. import tokens
from ..errors import ApiError
from ..runtime import current_sandbox

log = logging.getLogger(__name__)
COMPONENT, AUTHORIZER, ANY_TOKEN = "component", "authorizer", "any"
# These answers carry no errcode/errmsg on success, like WeChat's.
BARE_SUCCESS = {"api_component_token", "api_create_preauthcode", "api_query_auth", "api_authorizer_token",
                "api_get_authorizer_info", "api_get_authorizer_list"}
# These pages require a JSON body even with no fields in it (「要传空的json，不传会报错」): 44002 without one.
# release: 「post的data为空，不等于不需要传data，否则会报错【errcode: 44002 "errmsg": "empty post data"】」;
# getvisitstatus: 「要传空的json，不传会报错44002」.
BODY_REQUIRED = {"getversioninfo", "get_webviewdomain_confirmfile", "getprivacysetting", "release",
                 "getvisitstatus"}


class ApiCall:
    """One incoming call: its parsed body, its token record and whose call it is."""

    def __init__(self, sb, name: str, token_kind: str | None):
        self.sb, self.name, self.token_kind = sb, name, token_kind
        self.token: tokens.TokenRecord | None = None
        self._body = None

    @property
    def body(self) -> dict:
        """The JSON body; 47001 when it is not a JSON object (an empty body counts as {})."""
        if self._body is None:
            raw = request.get_data(cache=True)
            try:
                self._body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise ApiError(47001) from None
            if not isinstance(self._body, dict):
                raise ApiError(47001)
        return self._body

    def require(self, *fields: str) -> dict:
        """The JSON body with every named field present (the doc marks them 必填); 47001 names a missing one.

        WeChat's errcode for a missing required field is not documented; 47001 (data format error) is the
        code it gives to bodies that do not match the expected shape.
        """
        body = self.body
        missing = [name for name in fields if body.get(name) is None]
        if missing:
            raise ApiError(47001, f"data format error: missing {', '.join(missing)}")
        return body

    def raw_token(self) -> str | None:
        if self.token_kind == COMPONENT:
            # WeChat's legacy doc pages use component_access_token=, the newer ones access_token=;
            # which name each path accepts is unverified, so every component path accepts both.
            return request.args.get("component_access_token") or request.args.get("access_token")
        return request.args.get("access_token")

    def identify(self) -> str:
        if self.token_kind:
            record = tokens.peek(self.sb, self.raw_token())
            if record is not None:
                return record.appid
            return ""
        try:
            value = self.body.get("component_appid") or self.body.get("appid") or ""
        except ApiError:
            return ""
        return value if isinstance(value, str) else ""

    def authenticate(self) -> None:
        if not self.token_kind:
            return
        raw = self.raw_token()
        if self.token_kind == ANY_TOKEN:
            record = tokens.peek(self.sb, raw)
            kind = record.kind if record else tokens.AUTHORIZER
            self.token = tokens.check_access_token(self.sb, kind, raw)
        else:
            self.token = tokens.check_access_token(self.sb, self.token_kind, raw)

    @property
    def component_appid(self) -> str:
        return self.token.component_appid

    @property
    def appid(self) -> str:
        return self.token.appid


def api_route(bp, rule: str, name: str, token: str | None = None, method: str = "POST"):
    """Register ``handler(call)`` at ``rule`` for the one HTTP ``method`` its doc page names; it runs
    holding the state lock (handlers never block). The other method answers 43001/43002 as WeChat does."""
    def decorator(handler):
        def locked(call):
            with call.sb.state.lock:
                return handler(call)

        def view():
            return dispatch(name, token, locked, method)

        view.__name__ = f"api_{name}"
        bp.add_url_rule(rule, endpoint=name, view_func=view, methods=["GET", "POST"])
        return handler

    return decorator


def json_response(payload: dict, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False), status=status,
                    mimetype="application/json", content_type="application/json; charset=utf-8")


def require_json_body(call: ApiCall) -> dict:
    """The JSON body, which must be sent: 44002 "empty post data" when there is none at all (``{}`` is fine)."""
    if not request.get_data(cache=True).strip():
        raise ApiError(44002, "empty post data")
    return call.body


def _apply_fault(effect) -> Response | None:
    if effect.latency:
        time.sleep(effect.latency)
    if effect.hang:
        time.sleep(effect.hang)
        return Response("gateway timeout (injected)", status=504, mimetype="text/plain")
    if effect.http_status:
        return Response(f"injected HTTP {effect.http_status}", status=effect.http_status, mimetype="text/plain")
    if effect.errcode is not None:
        raise ApiError(effect.errcode, effect.errmsg)
    return None


def dispatch(name: str, token_kind: str | None, handler, method: str = "POST") -> Response:
    sb = current_sandbox()
    started = time.monotonic()
    call = ApiCall(sb, name, token_kind)
    appid = call.identify()
    fault_label = None
    sb.calls.arrived(name, appid)
    try:
        try:
            effect = sb.faults.effect_for(name, appid, sb.now())
            response = None
            if effect is not None:
                fault_label = effect.label
                response = None if effect.after_call else _apply_fault(effect)
            if response is None:
                if request.method != method:
                    raise ApiError(43001 if method == "GET" else 43002)
                response, errcode = _perform(sb, call, name, appid, handler)
            else:
                errcode = -1
            if effect is not None and effect.after_call:
                response = _apply_fault(effect) or response  # WeChat acted; the answer is lost on the way
        except ApiError as exc:
            response, errcode = json_response(exc.as_dict(), exc.http_status), exc.errcode
        sb.calls.record(name, appid, errcode, response.status_code, sb.now(),
                        (time.monotonic() - started) * 1000, fault_label, _action(call))
    finally:  # recorded first: a call is always either in flight or in the record
        sb.calls.left(name, appid)
    return response


def _action(call: ApiCall) -> str | None:
    """The body's ``action`` (modify_domain's get/set, ...), so a record tells a read from a change."""
    action = call._body.get("action") if isinstance(call._body, dict) else None
    return action if isinstance(action, str) else None


def _perform(sb, call: ApiCall, name: str, appid: str, handler) -> tuple[Response, int]:
    """Authenticate, charge the quota and run the handler: its response and errcode."""
    try:
        call.authenticate()
        overrides = _quota_overrides(sb, call)
        sb.quotas.consume(name, appid, sb.now(), overrides)
        if name in BODY_REQUIRED:
            require_json_body(call)
        response = _to_response(name, handler(call))
    except ApiError as exc:
        return json_response(exc.as_dict(), exc.http_status), exc.errcode
    except Exception:  # a sandbox bug answers like WeChat's "system error", but loudly in the log
        log.exception("sandbox handler %s failed", name)
        return json_response(ApiError(-1).as_dict()), -1
    return response, 0 if response.status_code == 200 else -1


def _quota_overrides(sb, call: ApiCall) -> dict | None:
    component_appid = call.token.component_appid if call.token else call.identify()
    component = sb.state.components.get(component_appid)
    return component.daily_quotas if component else None


def _to_response(name: str, result) -> Response:
    if isinstance(result, Response):
        return result
    payload = dict(result or {})
    if name not in BARE_SUCCESS and "errcode" not in payload:
        payload = {"errcode": 0, "errmsg": "ok", **payload}
    return json_response(payload)
