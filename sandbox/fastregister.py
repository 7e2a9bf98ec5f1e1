"""Fast registration of mini-programs: enterprise (``/cgi-bin/component/fastregisterweapp?action=create|search``)
and personal (``/wxa/component/fastregisterpersonalweapp?action=create|query``).

A task is accepted at once and then waits, as on WeChat, for a person: the legal person (enterprise) or the
user (personal, who opens the task's ``authorize_url``). Nothing happens on a timer: a test or a demo user
plays that person through ``POST /sandbox/fastregister/decide`` (or, for a personal task, the confirm page
this sandbox serves at the ``authorize_url``). Approving creates a new mini-program, already authorized to the
platform, and pushes ``notify_third_fasteregister`` with ``status`` 0 and an ``auth_code`` for
``api_query_auth``; rejecting pushes a documented non-zero ``status`` and no appid.

Errcodes (FIDELITY.md names the evidence for each): enterprise create answers 89253 for a missing field,
47001 for a field of the wrong type, 89248 for a ``code_type`` other than 1/2/3, 89255 for a ``code`` whose
length or shape does not fit its ``code_type``, 86004 for a legal-person WeChat id starting ``unknown``, 61070
for one starting ``mismatch``, 89249 while a task with that name is running; search answers 89250 (no task),
89251 (waiting for the legal person) or 0 (the task is over). Personal create answers 47001 for a missing or
mistyped field and 86004 as above; query answers the task's ``status`` from the doc's enum, 89250 for an
unknown ``taskid``.
"""

from __future__ import annotations

import re
import secrets

from . import authorization, registry
from .errors import ApiError

ENTERPRISE, PERSONAL = "enterprise", "personal"
ENTERPRISE_FIELDS = ("name", "code", "code_type", "legal_persona_wechat", "legal_persona_name")
PERSONAL_FIELDS = ("idname", "wxuser")
# The code's shape per code_type, as the doc's table gives it: 「1:统一社会信用代码(18 位) 2:组织机构代码(9 位
# xxxxxxxx-x) 3:营业执照注册号(15 位)」.
CODE_SHAPES = {1: re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}"), 2: re.compile(r"[0-9A-Z]{8}-[0-9X]"),
               3: re.compile(r"[0-9]{15}")}
# Personal task states from the doc's "Res.status Enum" (0 生成任务, 2 任务已经被用户拒绝, 3 用户同意创建,
# 11 创建失败, 12 创建成功); the face, phone and verification steps in between are not modelled.
CREATED, REFUSED, AGREED, FAILED, SUCCEEDED = 0, 2, 3, 11, 12
# Failure statuses of the push that a decision may name (`reason`), with the msg sent: the codes WeChat's staff
# listed for notify_third_fasteregister (1001-1008), and -1 seen with "authorize third party failed".
FAIL_STATUSES = {-1: "authorize third party failed", 1001: "主体创建小程序数量达到上限",
                 1002: "主体违规命中黑名单", 1003: "管理员绑定账号数量达到上限", 1004: "管理员违规命中黑名单",
                 1005: "管理员手机绑定账号数量达到上限", 1006: "管理员手机号违规命中黑名单",
                 1007: "管理员身份证创建账号数量达到上限", 1008: "管理员身份证违规命中黑名单"}
DEFAULT_FAIL_STATUS = 1001


def _strings(body: dict, fields, missing_code: int) -> None:
    if any(body.get(k) in (None, "") for k in fields):
        raise ApiError(missing_code)
    if any(not isinstance(body[k], str) for k in fields) or not isinstance(body.get("component_phone", ""), str):
        raise ApiError(47001, "data format error: a field is not a string")


def _check_wechat_id(wechat_id: str) -> None:
    if wechat_id.startswith("unknown"):
        raise ApiError(86004)
    if wechat_id.startswith("mismatch"):
        raise ApiError(61070)


def create_enterprise(sb, component_appid: str, body: dict) -> None:
    _strings(body, [k for k in ENTERPRISE_FIELDS if k != "code_type"], 89253)
    code_type = body.get("code_type")
    if code_type is None:
        raise ApiError(89253)
    if isinstance(code_type, bool) or code_type not in (1, 2, 3):
        raise ApiError(89248)
    if not CODE_SHAPES[code_type].fullmatch(body["code"]):
        raise ApiError(89255)
    _check_wechat_id(body["legal_persona_wechat"])
    key = f"{component_appid}|{ENTERPRISE}|{body['name']}"
    with sb.state.lock:
        task = sb.state.fast_registrations.get(key)
        if task is not None and task["state"] == "pending":
            raise ApiError(89249)
        info = {k: body[k] for k in ENTERPRISE_FIELDS}
        info["component_phone"] = body.get("component_phone", "")
        sb.state.fast_registrations[key] = {"component_appid": component_appid, "kind": ENTERPRISE,
                                            "name": body["name"], "info": info, "state": "pending", "appid": ""}
        sb.state.dirty = True


def search_enterprise(sb, component_appid: str, body: dict) -> None:
    _strings(body, ("name", "legal_persona_wechat", "legal_persona_name"), 89253)
    with sb.state.lock:
        task = sb.state.fast_registrations.get(f"{component_appid}|{ENTERPRISE}|{body['name']}")
        if task is None or task["info"]["legal_persona_wechat"] != body["legal_persona_wechat"] \
                or task["info"]["legal_persona_name"] != body["legal_persona_name"]:
            raise ApiError(89250)
        if task["state"] == "pending":
            raise ApiError(89251)


def create_personal(sb, component_appid: str, body: dict, base_url: str) -> dict:
    _strings(body, PERSONAL_FIELDS, 47001)
    _check_wechat_id(body["wxuser"])
    taskid = secrets.token_hex(16)
    info = {"idname": body["idname"], "wxuser": body["wxuser"], "component_phone": body.get("component_phone", "")}
    url = f"{base_url.rstrip('/')}/wxawap/fastregisterpersonal?action=show&taskid={taskid}"
    with sb.state.lock:
        sb.state.fast_registrations[f"{component_appid}|{PERSONAL}|{taskid}"] = {
            "component_appid": component_appid, "kind": PERSONAL, "name": body["idname"], "taskid": taskid,
            "info": info, "state": "pending", "status": CREATED, "appid": "", "authorize_url": url}
        sb.state.dirty = True
    return {"taskid": taskid, "authorize_url": url, "status": CREATED}


def query_personal(sb, component_appid: str, body: dict) -> dict:
    taskid = body.get("taskid")
    if not isinstance(taskid, str) or not taskid:
        raise ApiError(47001, "data format error: missing taskid")
    with sb.state.lock:
        task = sb.state.fast_registrations.get(f"{component_appid}|{PERSONAL}|{taskid}")
        if task is None:
            raise ApiError(89250)
        return {"taskid": taskid, "status": task["status"], "appid": task["appid"],
                "authorize_url": task["authorize_url"]}


def personal_task(sb, taskid: str) -> dict | None:
    """The personal task behind an ``authorize_url`` (any platform's), or None."""
    with sb.state.lock:
        for task in sb.state.fast_registrations.values():
            if task.get("taskid") == taskid:
                return task
    return None


def pending_task(sb, name: str) -> dict:
    """The one running task with this enterprise name or person's name; LookupError if none or several."""
    with sb.state.lock:
        found = [t for t in sb.state.fast_registrations.values() if t["name"] == name and t["state"] == "pending"]
    if len(found) != 1:
        raise LookupError(f"{'no' if not found else 'more than one'} fast registration waiting for {name!r}")
    return found[0]


def decide(sb, task: dict, outcome: str, reason=None, wait: bool = False) -> dict:
    """Approve (new mini-program, authorized, status 0 push) or reject (a documented failure status) a task."""
    if outcome not in ("approve", "reject"):
        raise ValueError("outcome must be approve or reject")
    status = DEFAULT_FAIL_STATUS if reason in (None, "") else reason
    if outcome == "reject" and (isinstance(status, bool) or status not in FAIL_STATUSES):
        raise ValueError(f"reason must be one of the documented failure statuses {sorted(FAIL_STATUSES)}")
    with sb.state.lock:
        if task["state"] != "pending":
            raise LookupError("this fast registration was already decided")
        inner = {"AppId": task["component_appid"], "CreateTime": sb.wall_time(),
                 "InfoType": "notify_third_fasteregister"}
        if outcome == "approve":
            inner.update(_approve(sb, task))
        else:
            task.update(state="failed", status=REFUSED if task["kind"] == PERSONAL else status)
            inner.update(status=status, msg=FAIL_STATUSES[status])
        inner["info"] = dict(task["info"], **({"taskid": task["taskid"]} if task["kind"] == PERSONAL else {}))
        sb.state.dirty = True
        target = registry.push_target(sb.state.components[task["component_appid"]], "auth")
    record = sb.pushes.send(target, "notify_third_fasteregister", "auth", task["appid"] or task["component_appid"],
                            inner, sb.now(), wait=wait)
    return {"state": task["state"], "appid": task["appid"], "status": inner["status"], "push_id": record.id}


def _approve(sb, task: dict) -> dict:
    info = task["info"]
    if task["kind"] == ENTERPRISE:
        spec = {"nick_name": "", "principal_name": info["name"]}
    else:
        spec = {"nick_name": "", "principal_name": "个人"}
    # A fresh mini-program has no name, avatar or introduction yet (its first audit would fail with 86002).
    account = registry.create_account(sb, dict(spec, signature="", head_img=None))
    granted = authorization.authorize(sb, task["component_appid"], account.appid, push=False)
    task.update(state="done", appid=account.appid, status=SUCCEEDED)
    return {"appid": account.appid, "status": 0, "auth_code": granted["auth_code"], "msg": "OK"}


def refuse_personal(sb, task: dict) -> None:
    """The user refused on the confirm page: the task ends with status 2 「任务已经被用户拒绝」, which query
    answers; the doc names no push for it, so none is sent."""
    with sb.state.lock:
        if task["state"] != "pending":
            raise LookupError("this fast registration was already decided")
        task.update(state="failed", status=REFUSED)
        sb.state.dirty = True
