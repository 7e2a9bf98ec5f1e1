"""Mini-program code endpoints (authorizer token): commit, get_page, get_category, get_qrcode,
security/get_code_privacy_info and getwxacodeunlimit. The rules live in ``sandbox.code``.
"""

from __future__ import annotations

from flask import Blueprint

from .api import AUTHORIZER, api_route

bp = Blueprint("code", __name__)


@api_route(bp, "/wxa/get_category", "get_category", AUTHORIZER, methods=("GET",))
def get_category(call):
    account = call.sb.state.accounts[call.appid]
    return {"category_list": [{"first_class": c.get("first_class", ""), "second_class": c.get("second_class", ""),
                               "third_class": c.get("third_class", ""), "first_id": c.get("first_id", 0),
                               "second_id": c.get("second_id", 0), "third_id": c.get("third_id", 0)}
                              for c in account.categories]}
