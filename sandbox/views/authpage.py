"""The authorization pages an administrator sees: ``mp.weixin.qq.com/cgi-bin/componentloginpage``,
``open.weixin.qq.com/wxaopen/safe/bindcomponent`` and the legacy ``mp.weixin.qq.com/safe/bindcomponent``.

GET validates component_appid, pre_auth_code, redirect_uri (must be on the component's registered
authorization domains), auth_type and biz_appid, then shows a plain HTML form where the "administrator"
picks a sandbox account. POST with ``action=confirm`` authorizes (push + 302 to
``redirect_uri?auth_code=…&expires_in=…``); ``action=cancel`` pushes nothing and shows a cancelled page.
Stable form names/ids: select ``authorizer_appid``, buttons ``confirm`` / ``cancel``.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request

from .. import authorization, fastregister
from ..model import MINIPROGRAM, OFFICIAL_ACCOUNT
from ..runtime import current_sandbox

bp = Blueprint("authpage", __name__)
PAGES = {"/cgi-bin/componentloginpage": "componentloginpage",
         "/wxaopen/safe/bindcomponent": "bindcomponent",
         "/safe/bindcomponent": "bindcomponent_legacy"}
# auth_type: 1 = official accounts only, 2 = mini-programs only, 3 = both (default when omitted).
# Newer doc versions add further values for other account kinds (unverified); those are shown as "both".
AUTH_TYPES = {"1": {OFFICIAL_ACCOUNT}, "2": {MINIPROGRAM}, "3": {MINIPROGRAM, OFFICIAL_ACCOUNT},
              "4": {MINIPROGRAM, OFFICIAL_ACCOUNT}, "5": {MINIPROGRAM, OFFICIAL_ACCOUNT},
              "6": {MINIPROGRAM, OFFICIAL_ACCOUNT}}


class AuthPageError(ValueError):
    pass


def _params() -> dict:
    source = request.form if request.method == "POST" else request.args
    return {name: source.get(name, "") for name in
            ("component_appid", "pre_auth_code", "redirect_uri", "auth_type", "biz_appid", "category_id_list")}


def _validate(sb, params: dict) -> tuple:
    component = sb.state.components.get(params["component_appid"])
    if component is None:
        raise AuthPageError("invalid component_appid / 第三方平台 appid 无效")
    try:
        authorization.check_preauth_code(sb, component.component_appid, params["pre_auth_code"])
    except ValueError as exc:
        raise AuthPageError(str(exc)) from None
    if not authorization.is_allowed_redirect(component, params["redirect_uri"]):
        raise AuthPageError("redirect_uri is not on the platform's authorization domain / 回调地址不在授权发起页域名内")
    auth_type = params["auth_type"] or "3"
    if auth_type not in AUTH_TYPES:
        raise AuthPageError(f"invalid auth_type {auth_type!r} / auth_type 参数错误")
    accounts = [a for a in sb.state.accounts.values() if a.account_type in AUTH_TYPES[auth_type]]
    # 授权流程技术说明: "auth_type、biz_appid 两个字段如果设置的信息冲突，则biz_appid生效的优先级更高" (an older
    # text: "两个字段互斥"). So both may come and the page offers that one account whatever auth_type says.
    if params["biz_appid"]:
        accounts = [a for a in sb.state.accounts.values() if a.appid == params["biz_appid"]]
        if not accounts:
            raise AuthPageError("invalid biz_appid / 指定的帐号不存在")
    return component, sorted(accounts, key=lambda a: a.nick_name)


def _record(sb, name: str, appid: str, status: int, started: float) -> None:
    sb.calls.record(name, appid, 0 if status < 400 else -1, status, sb.now(),
                    (time.monotonic() - started) * 1000)


def _error(sb, name, params, message, started):
    _record(sb, name, params.get("component_appid", ""), 400, started)
    return render_template("sandbox/auth_error.html", message=message), 400


def auth_page():
    sb, started = current_sandbox(), time.monotonic()
    name = PAGES[request.path]
    params = _params()
    try:
        component, accounts = _validate(sb, params)
    except AuthPageError as exc:
        return _error(sb, name, params, str(exc), started)
    if request.method == "GET":
        _record(sb, name, component.component_appid, 200, started)
        return render_template("sandbox/auth_page.html", component=component, accounts=accounts,
                               params=params, action=request.path)
    if request.form.get("action") != "confirm":
        _record(sb, f"{name}:cancel", component.component_appid, 200, started)
        return render_template("sandbox/auth_cancelled.html", redirect_uri=params["redirect_uri"])
    chosen = request.form.get("authorizer_appid", "")
    if chosen not in {a.appid for a in accounts}:
        return _error(sb, name, params, "pick an account to authorize / 请选择要授权的帐号", started)
    try:
        result = authorization.authorize(sb, component.component_appid, chosen,
                                         preauth_code=params["pre_auth_code"])
    except ValueError as exc:
        return _error(sb, name, params, str(exc), started)
    _record(sb, f"{name}:confirm", chosen, 302, started)
    joiner = "&" if "?" in params["redirect_uri"] else "?"
    query = urlencode({"auth_code": result["auth_code"], "expires_in": result["expires_in"]})
    return redirect(f"{params['redirect_uri']}{joiner}{query}", code=302)


for _path, _name in PAGES.items():
    bp.add_url_rule(_path, endpoint=_name, view_func=auth_page, methods=["GET", "POST"])


@bp.route("/wxawap/fastregisterpersonal", methods=["GET", "POST"])
def fast_register_personal_page():
    """The ``authorize_url`` of a personal fast registration: the user confirms (a new mini-program and the
    ``notify_third_fasteregister`` push) or refuses (status 2, no push). Ids: ``confirm`` / ``refuse``."""
    sb, started = current_sandbox(), time.monotonic()
    taskid = (request.form if request.method == "POST" else request.args).get("taskid", "")
    task = fastregister.personal_task(sb, taskid)
    if task is None:
        return _error(sb, "fastregisterpersonal_page", {}, "invalid taskid / 链接无效", started)
    if request.method == "GET" or task["state"] != "pending":
        _record(sb, "fastregisterpersonal_page", task["component_appid"], 200, started)
        return render_template("sandbox/fastregister_page.html", task=task)
    try:
        if request.form.get("action") == "confirm":
            fastregister.decide(sb, task, "approve")
        else:
            fastregister.refuse_personal(sb, task)
    except LookupError as exc:
        return _error(sb, "fastregisterpersonal_page", {}, str(exc), started)
    _record(sb, f"fastregisterpersonal_page:{request.form.get('action')}", task["component_appid"], 200, started)
    return render_template("sandbox/fastregister_page.html", task=task)
