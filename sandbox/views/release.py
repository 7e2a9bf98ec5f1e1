"""Release endpoints (authorizer token): release, revertcoderelease (+ get_history_version), grayrelease,
getgrayreleaseplan, revertgrayrelease, change_visitstatus, getvisitstatus and getversioninfo.
"""

from __future__ import annotations

from flask import Blueprint, request

from .. import commits, releases
from ..errors import ApiError
from .api import AUTHORIZER, api_route

bp = Blueprint("release", __name__)
# getvisitstatus doc: "0表示已暂停服务（包含主动暂停服务违规被暂停服务）。1表示未暂停服务。"
VISIT_STATUS = {"open": 1, "close": 0}


@api_route(bp, "/wxa/release", "release", AUTHORIZER)
def release(call):
    account = commits.require_miniprogram(call.sb, call)
    releases.release(call.sb, account)
    return {}


@api_route(bp, "/wxa/revertcoderelease", "revertcoderelease", AUTHORIZER, method="GET")
def revertcoderelease(call):
    account = commits.require_miniprogram(call.sb, call)
    if request.args.get("action") == "get_history_version":
        return {"version_list": releases.history_versions(account)}
    releases.revert_release(call.sb, account, request.args.get("app_version"))
    return {}


@api_route(bp, "/wxa/grayrelease", "grayrelease", AUTHORIZER)
def grayrelease(call):
    releases.gray_release(call.sb, commits.require_miniprogram(call.sb, call), call.body)
    return {}


@api_route(bp, "/wxa/getgrayreleaseplan", "getgrayreleaseplan", AUTHORIZER, method="GET")
def getgrayreleaseplan(call):
    account = commits.require_miniprogram(call.sb, call)
    plan = account.gray_plan or {"status": 0, "create_timestamp": 0, "gray_percentage": 0,
                                 "support_debuger_first": False, "support_experiencer_first": False}
    return {"gray_release_plan": {k: v for k, v in plan.items() if k != "auditid"}}


@api_route(bp, "/wxa/revertgrayrelease", "revertgrayrelease", AUTHORIZER, method="GET")
def revertgrayrelease(call):
    releases.revert_gray_release(call.sb, commits.require_miniprogram(call.sb, call))
    return {}


@api_route(bp, "/wxa/change_visitstatus", "change_visitstatus", AUTHORIZER)
def change_visitstatus(call):
    account = commits.require_miniprogram(call.sb, call)
    action = call.require("action")["action"]
    if action not in VISIT_STATUS:
        raise ApiError(40097)
    account.visit_status = VISIT_STATUS[action]
    return {}


@api_route(bp, "/wxa/getvisitstatus", "getvisitstatus", AUTHORIZER)
def getvisitstatus(call):
    return {"status": commits.require_miniprogram(call.sb, call).visit_status}


@api_route(bp, "/wxa/getversioninfo", "getversioninfo", AUTHORIZER)
def getversioninfo(call):
    return releases.version_info(commits.require_miniprogram(call.sb, call))
