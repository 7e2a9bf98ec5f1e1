"""Setting up a mini-program (authorizer token): basic information (getaccountbasicinfo, setnickname,
api_wxa_querynickname, modifyheadimage, modifysignature), temporary media (cgi-bin/media/upload),
categories (getallcategories, getcategory, addcategory, deletecategory) and location-API permissions
(get_privacy_interface, apply_privacy_interface); plus the control endpoints that decide the name,
category and location-API audits (``/sandbox/setup/...``), each pushing its result. Rules: ``sandbox.setup``.
"""

from __future__ import annotations

from flask import Blueprint, request

from .. import commits, setup
from ..errors import ApiError
from ..runtime import current_sandbox
from . import control
from .api import AUTHORIZER, api_route, json_response
from .code import media_format

bp = Blueprint("setup", __name__)
control_bp = Blueprint("setup_control", __name__, url_prefix="/sandbox/setup")
BASIC_INFO_SETS = (3, 30)  # 「该接口所属的权限集 id 为：3、30」 (getaccountbasicinfo, modifyheadimage)
# 新增临时素材: 「图片（image）: 10M，支持PNG\JPEG\JPG\GIF格式」
MEDIA_IMAGE_LIMIT = 10 * 1024 * 1024


def _account(call, sets=(30,)):
    return commits.require_miniprogram(call.sb, call, permission_sets=sets)


@api_route(bp, "/cgi-bin/account/getaccountbasicinfo", "getaccountbasicinfo", AUTHORIZER)
def getaccountbasicinfo(call):
    account = _account(call, BASIC_INFO_SETS)
    return setup.basic_info(account, f"{request.host_url}sandbox/avatars/{account.appid}.png")


@api_route(bp, "/wxa/setnickname", "setnickname", AUTHORIZER)
def setnickname(call):
    return setup.set_nickname(call.sb, _account(call), call.body)


@api_route(bp, "/wxa/api_wxa_querynickname", "api_wxa_querynickname", AUTHORIZER)
def querynickname(call):
    body = call.require("audit_id")
    return setup.query_nickname(_account(call), body["audit_id"])


@api_route(bp, "/cgi-bin/account/modifyheadimage", "modifyheadimage", AUTHORIZER)
def modifyheadimage(call):
    setup.modify_head_image(call.sb, _account(call, BASIC_INFO_SETS), call.body)
    return {}


@api_route(bp, "/cgi-bin/account/modifysignature", "modifysignature", AUTHORIZER)
def modifysignature(call):
    setup.modify_signature(call.sb, _account(call, BASIC_INFO_SETS), call.body)
    return {}


@api_route(bp, "/cgi-bin/media/upload", "media_upload", AUTHORIZER)
def media_upload(call):
    """新增临时素材, ``type=image`` only in the sandbox: 40004 another type, 41005 no file, 40005 not a
    PNG/JPEG/GIF, 40009 an image over 10 MB. Answers ``{type, media_id, created_at}``."""
    account = _account(call, (3, 18, 30))
    if request.args.get("type") != "image":
        raise ApiError(40004)
    media = request.files.get("media")
    content = media.read() if media is not None else b""
    if not content:
        raise ApiError(41005)
    if media_format(content[:12]) not in ("png", "jpeg", "gif"):
        raise ApiError(40005)
    if len(content) > MEDIA_IMAGE_LIMIT:
        raise ApiError(40009)
    media_id = setup.store_media(account, "image", len(content), call.sb.wall_time())
    call.sb.state.dirty = True
    return {"type": "image", "media_id": media_id, "created_at": int(call.sb.wall_time())}


@api_route(bp, "/cgi-bin/wxopen/getallcategories", "getallcategories", AUTHORIZER, method="GET")
def getallcategories(call):
    _account(call)
    return {"categories_list": {"categories": setup.all_categories()}}


@api_route(bp, "/cgi-bin/wxopen/getcategory", "getcategory", AUTHORIZER, method="GET")
def getcategory(call):
    return setup.categories_view(_account(call))


@api_route(bp, "/cgi-bin/wxopen/addcategory", "addcategory", AUTHORIZER)
def addcategory(call):
    setup.add_categories(call.sb, _account(call), call.body)
    return {}


@api_route(bp, "/cgi-bin/wxopen/deletecategory", "deletecategory", AUTHORIZER)
def deletecategory(call):
    setup.delete_category(call.sb, _account(call), call.require("first", "second"))
    return {}


@api_route(bp, "/wxa/security/get_privacy_interface", "get_privacy_interface", AUTHORIZER, method="GET")
def get_privacy_interface(call):
    return {"interface_list": setup.interface_list(commits.require_miniprogram(call.sb, call))}


@api_route(bp, "/wxa/security/apply_privacy_interface", "apply_privacy_interface", AUTHORIZER)
def apply_privacy_interface(call):
    account = commits.require_miniprogram(call.sb, call)
    return {"audit_id": setup.apply_interface(call.sb, account, call.body)}


# --- control: decide the audits -----------------------------------------------------------------------------

DECIDE_FIELDS = ("appid", "outcome", "reason")


@control_bp.errorhandler(setup.DecisionError)
@control_bp.errorhandler(control.ControlError)
@control_bp.errorhandler(LookupError)
@control_bp.errorhandler(ValueError)
def _bad_request(exc):
    return json_response({"errcode": 40097, "error": str(exc).strip("'\"")}, 400)


def _decision(*extra):
    sb, body = current_sandbox(), control._body(*DECIDE_FIELDS, *extra)
    account = sb.state.accounts.get(body.get("appid") or "")
    if account is None:
        raise LookupError(f"no account {body.get('appid')}")
    outcome = body.get("outcome", "approve")
    if outcome not in ("approve", "reject"):
        raise control.ControlError("outcome must be approve or reject")
    return sb, body, account, outcome == "approve", body.get("reason") or "(sandbox) 审核未通过"


def _answer(push, **payload):
    return control.ok(push_id=push.id if push is not None else None, **payload)


@control_bp.post("/nickname/decide")
def decide_nickname():
    sb, body, account, approve, reason = _decision()
    push, audit = setup.decide_nickname(sb, account, approve, reason, wait=control._wait(body))
    return _answer(push, audit=audit)


@control_bp.post("/categories/decide")
def decide_category():
    sb, body, account, approve, reason = _decision("second")
    push, entry = setup.decide_category(sb, account, body.get("second"), approve, reason, wait=control._wait(body))
    return _answer(push, category=entry)


@control_bp.post("/privacy-interface/decide")
def decide_interface():
    sb, body, account, approve, reason = _decision("api_name")
    push, state = setup.decide_interface(sb, account, body.get("api_name"), approve, reason,
                                         wait=control._wait(body))
    return _answer(push, application=state)
