"""Receivers standing in for the operator's systems (``sandbox/receivers.py``): the URL the portal forwards
pushes to, and the control API that configures a receiver and reads what it got."""

from __future__ import annotations

from flask import Blueprint, request

from ..runtime import current_sandbox
from .api import json_response
from .control import ControlError, _bad_request, _body, ok

bp = Blueprint("receivers", __name__, url_prefix="/sandbox")
for _error in (ControlError, TypeError, ValueError):
    bp.register_error_handler(_error, _bad_request)
CONFIG_FIELDS = ("fail_first", "fail_status", "hang_first", "hang_seconds", "delay_seconds")
SECONDS_FIELDS = ("hang_seconds", "delay_seconds")


@bp.post("/receiver/<name>")
def receive(name):
    status, text = current_sandbox().receivers.receive(name, request.get_data(), request.headers)
    return json_response({"result": text}, status)


@bp.post("/receivers/<name>")
def configure(name):
    body = _body(*CONFIG_FIELDS)
    values = {k: (float(v) if k in SECONDS_FIELDS else int(v)) for k, v in body.items() if k in CONFIG_FIELDS}
    return ok(config=current_sandbox().receivers.configure(name, values))


@bp.get("/receivers/<name>")
def show(name):
    return ok(**current_sandbox().receivers.show(name))


@bp.delete("/receivers/<name>")
def clear(name):
    current_sandbox().receivers.clear(name)
    return ok()
