"""Template library endpoints (component token): gettemplatedraftlist, addtotemplate,
gettemplatelist (GET, ``template_type`` in the query string) and deletetemplate.
"""

from __future__ import annotations

from flask import Blueprint, request

from .. import library
from ..errors import ApiError
from .api import COMPONENT, api_route

bp = Blueprint("templates", __name__)


@api_route(bp, "/wxa/gettemplatedraftlist", "gettemplatedraftlist", COMPONENT, method="GET")
def gettemplatedraftlist(call):
    return {"draft_list": library.draft_list(call.sb, call.component_appid)}


@api_route(bp, "/wxa/addtotemplate", "addtotemplate", COMPONENT)
def addtotemplate(call):
    body = call.body
    library.add_to_template(call.sb, call.component_appid, body.get("draft_id"), body.get("template_type", 0))
    return {}


@api_route(bp, "/wxa/gettemplatelist", "gettemplatelist", COMPONENT, method="GET")
def gettemplatelist(call):
    raw = request.args.get("template_type")
    try:
        template_type = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        raise ApiError(40097) from None
    return {"template_list": library.template_list(call.sb, call.component_appid, template_type)}


@api_route(bp, "/wxa/deletetemplate", "deletetemplate", COMPONENT)
def deletetemplate(call):
    library.delete_template(call.sb, call.component_appid, call.body.get("template_id"))
    return {}
