"""Audit endpoints (authorizer token): submit_audit, get_auditstatus, get_latest_auditstatus,
undocodeaudit, speedupaudit and queryquota. Note the key case: ``get_auditstatus`` answers
``screenshot`` while ``get_latest_auditstatus`` answers ``ScreenShot``, as WeChat does.
"""

from __future__ import annotations

from flask import Blueprint

from .. import commits, releases
from ..errors import ApiError
from .api import AUTHORIZER, api_route

bp = Blueprint("audit", __name__)


@api_route(bp, "/wxa/submit_audit", "submit_audit", AUTHORIZER)
def submit_audit(call):
    account = commits.require_miniprogram(call.sb, call)
    return {"auditid": releases.submit_audit(call.sb, account, call.component_appid, call.body)}


@api_route(bp, "/wxa/get_auditstatus", "get_auditstatus", AUTHORIZER)
def get_auditstatus(call):
    account = commits.require_miniprogram(call.sb, call)
    auditid = call.body.get("auditid")
    audit = call.sb.state.audits.get(auditid) if isinstance(auditid, int) else None
    if audit is None or audit.appid != account.appid:
        raise ApiError(85012)
    return {"status": audit.status, "reason": audit.reason, "screenshot": audit.screenshot}


@api_route(bp, "/wxa/get_latest_auditstatus", "get_latest_auditstatus", AUTHORIZER, method="GET")
def get_latest_auditstatus(call):
    account = commits.require_miniprogram(call.sb, call)
    audit = call.sb.state.latest_audit(account)
    if audit is None:
        raise ApiError(86001)
    return {"auditid": audit.auditid, "status": audit.status, "reason": audit.reason,
            "ScreenShot": audit.screenshot, "user_version": audit.code["user_version"],
            "user_desc": audit.code["user_desc"], "submit_audit_time": int(audit.submit_time)}


@api_route(bp, "/wxa/undocodeaudit", "undocodeaudit", AUTHORIZER, method="GET")
def undocodeaudit(call):
    releases.undo_audit(call.sb, commits.require_miniprogram(call.sb, call))
    return {}


@api_route(bp, "/wxa/speedupaudit", "speedupaudit", AUTHORIZER)
def speedupaudit(call):
    account = commits.require_miniprogram(call.sb, call)
    releases.speedup(call.sb, account, call.component_appid, call.body.get("auditid"))
    return {}


@api_route(bp, "/wxa/queryquota", "queryquota", AUTHORIZER, method="GET")
def queryquota(call):
    commits.require_miniprogram(call.sb, call)
    return releases.quota(call.sb, call.sb.state.components[call.component_appid])
