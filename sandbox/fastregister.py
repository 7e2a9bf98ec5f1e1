"""Fast registration of enterprise mini-programs (``fastregisterweapp?action=create|search``).

A task is accepted at once (errcode only, like WeChat); after ``audit_delay`` sandbox seconds the scheduler
completes it: a new mini-program is created, already authorized to the component, and
``notify_third_fasteregister`` is pushed with ``status`` 0 and an ``auth_code`` for ``api_query_auth``.
Validation: 89253 missing fields, 89248 bad code_type, 86004 unknown legal-person WeChat id ("unknown…"),
89249 a task with this name is already running; search answers 89250 (no task), 89251 (waiting for the
legal person's face check) or 0 (done).
"""

from __future__ import annotations

from . import authorization, registry
from .errors import ApiError

REQUIRED = ("name", "code", "code_type", "legal_persona_wechat", "legal_persona_name")


def create_task(sb, component_appid: str, body: dict) -> None:
    if any(body.get(k) in (None, "") for k in REQUIRED):
        raise ApiError(89253)
    if body["code_type"] not in (1, 2, 3):
        raise ApiError(89248)
    if not isinstance(body["legal_persona_wechat"], str) or body["legal_persona_wechat"].startswith("unknown"):
        raise ApiError(86004)
    key = f"{component_appid}|{body['name']}"
    task = sb.state.fast_registrations.get(key)
    if task is not None and task["status"] == "pending":
        raise ApiError(89249)
    info = {k: body.get(k, "") for k in REQUIRED + ("component_phone",)}
    sb.state.fast_registrations[key] = {"component_appid": component_appid, "info": info, "status": "pending",
                                        "done_at": sb.now() + sb.options.audit_delay, "appid": ""}
    sb.state.dirty = True


def search_task(sb, component_appid: str, body: dict) -> None:
    task = sb.state.fast_registrations.get(f"{component_appid}|{body.get('name')}")
    if task is None or task["info"]["legal_persona_wechat"] != body.get("legal_persona_wechat"):
        raise ApiError(89250)
    if task["status"] == "pending":
        raise ApiError(89251)


def due_tasks(sb) -> list[str]:
    now = sb.now()
    with sb.state.lock:
        return [k for k, t in sb.state.fast_registrations.items() if t["status"] == "pending" and t["done_at"] <= now]


def complete_task(sb, key: str, wait: bool = False) -> None:
    with sb.state.lock:
        task = sb.state.fast_registrations.get(key)
        if task is None or task["status"] != "pending":
            return
        info = task["info"]
        account = registry.create_account(sb, {"nick_name": info["name"], "principal_name": info["name"]})
        granted = authorization.authorize(sb, task["component_appid"], account.appid, push=False)
        task.update(status="done", appid=account.appid)
        component = sb.state.components[task["component_appid"]]
        inner = {"AppId": component.component_appid, "CreateTime": sb.wall_time(),
                 "InfoType": "notify_third_fasteregister", "appid": account.appid, "status": 0,
                 "auth_code": granted["auth_code"], "msg": "OK", "info": info}
        target = registry.push_target(component, "auth")
    sb.pushes.send(target, "notify_third_fasteregister", "auth", account.appid, inner, sb.now(), wait=wait)
