"""The control API under ``/sandbox/``: set up the world, move time, inject faults, read records.

Everything a test or the demo needs without a browser: register components and accounts, authorize and
revoke, push tickets, add drafts/templates, decide audits or set audit rules, inject faults and quotas,
advance the clock, read recorded calls and pushes, reset. JSON in, JSON out; bad input, including a field
the endpoint does not declare (named in the answer), answers HTTP 400 ``{"error": …}``. ``?sync=1`` or ``"wait": true`` delivers the pushes a request causes before answering.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, request

from .. import audits, authorization, fastregister, library, registry
from ..faults import Fault
from ..runtime import current_sandbox
from .api import json_response

bp = Blueprint("control", __name__, url_prefix="/sandbox")
PRIVATE_COMPONENT_FIELDS = ("component_appsecret",)


class ControlError(ValueError):
    pass


WAIT_FIELDS = ("wait", "sync")
COMPONENT_FIELDS = registry.COMPONENT_FIELDS + (
    "auth_event_url", "message_url", "name", "authorized_domains", "server_domains", "webview_domains",
    "ip_whitelist", "rotate_refresh_tokens", "submit_quota", "speedup_quota", "ticket_interval",
    "template_limit", "daily_quotas")
ACCOUNT_FIELDS = ("appid", "nick_name", "account_type", "principal_name", "signature", "head_img", "categories",
                  "func_info", "user_name", "alias", "verify_type", "service_type", "visit_status",
                  "location_permissions", "blank")
AUTHORIZE_FIELDS = ("component_appid", "authorizer_appid", "appid")
DRAFT_FIELDS = ("component_appid", "user_version", "user_desc", "pages", "privacy_keys", "location_apis",
                "source_miniprogram_appid", "source_miniprogram", "developer")
DECIDE_FIELDS = ("auditid", "appid", "outcome", "reason", "screenshot", "then", "then_delay")
RULE_FIELDS = ("outcome", "delay", "reason", "screenshot", "delay_reason", "then", "then_delay")
QUOTA_FIELDS = ("endpoint", "limit", "per_minute", "appid")


def check_fields(data: dict, allowed, where: str = "body") -> dict:
    """Refuse a field the endpoint does not declare (a misspelling must not be silently ignored)."""
    unknown = sorted(set(data) - set(allowed) - set(WAIT_FIELDS))
    if unknown:
        raise ControlError(f"unknown field(s) in {where}: {', '.join(unknown)}")
    return data


def _body(*allowed: str) -> dict:
    """The JSON object sent (an empty body is {}), holding only the ``allowed`` fields (and wait/sync)."""
    if not request.get_data(cache=True).strip():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return check_fields(data, allowed)


def _fault_fields() -> set:
    return (set(Fault.__dataclass_fields__) - {"id", "hits"}) | {"outage_seconds", "outage"}


def _wait(body: dict) -> bool:
    return request.args.get("sync") in ("1", "true") or bool(body.get("wait") or body.get("sync"))


def ok(**payload):
    return json_response({"errcode": 0, **payload})


@bp.errorhandler(ControlError)
@bp.errorhandler(registry.RegistryError)
@bp.errorhandler(audits.RuleError)
@bp.errorhandler(LookupError)
@bp.errorhandler(TypeError)
@bp.errorhandler(ValueError)
def _bad_request(exc):
    return json_response({"errcode": 40097, "error": str(exc).strip("'\"")}, 400)


def component_view(component) -> dict:
    data = dataclasses.asdict(component)
    return data


def account_view(sb, account) -> dict:
    data = dataclasses.asdict(account)
    data["is_miniprogram"] = account.is_miniprogram
    data["audits"] = [dataclasses.asdict(a) for a in sb.state.audits_of(account)]
    data["authorizations"] = [{"component_appid": a.component_appid, "is_authorized": a.is_authorized,
                               "refresh_token": a.refresh_token, "auth_time": a.auth_time}
                              for a in sb.state.authorizations.values() if a.authorizer_appid == account.appid]
    return data


@bp.post("/components")
def create_component():
    sb, body = current_sandbox(), _body(*COMPONENT_FIELDS)
    component = registry.register_component(sb, body)
    push = registry.push_ticket(sb, component.component_appid, wait=_wait(body))
    return ok(component=component_view(component), push_id=push.id, ticket=component.ticket)


@bp.get("/components")
def list_components():
    sb = current_sandbox()
    with sb.state.lock:
        return ok(components=[component_view(c) for c in sb.state.components.values()])


@bp.post("/miniprograms")
def create_miniprogram():
    sb, body = current_sandbox(), _body(*ACCOUNT_FIELDS)
    account = registry.create_account(sb, body)
    with sb.state.lock:
        return ok(miniprogram=account_view(sb, account), appid=account.appid)


@bp.get("/miniprograms")
def list_miniprograms():
    sb = current_sandbox()
    with sb.state.lock:
        return ok(miniprograms=[account_view(sb, a) for a in sb.state.accounts.values()])


@bp.get("/miniprograms/<appid>")
def show_miniprogram(appid):
    sb = current_sandbox()
    with sb.state.lock:
        account = sb.state.accounts.get(appid)
        if account is None:
            raise LookupError(f"no account {appid}")
        return ok(miniprogram=account_view(sb, account))


@bp.post("/authorize")
def authorize():
    sb, body = current_sandbox(), _body(*AUTHORIZE_FIELDS, "func_info")
    result = authorization.authorize(sb, body.get("component_appid", ""),
                                     body.get("authorizer_appid") or body.get("appid", ""),
                                     func_info=body.get("func_info"), wait=_wait(body))
    return ok(**result)


@bp.post("/unauthorize")
def unauthorize():
    sb, body = current_sandbox(), _body(*AUTHORIZE_FIELDS)
    result = authorization.unauthorize(sb, body.get("component_appid", ""),
                                       body.get("authorizer_appid") or body.get("appid", ""), wait=_wait(body))
    return ok(**result)


@bp.post("/push-ticket")
def push_ticket():
    sb, body = current_sandbox(), _body("component_appid")
    appid = body.get("component_appid") or next(iter(sb.state.components), "")
    if appid not in sb.state.components:
        raise LookupError(f"no component {appid}")
    push = registry.push_ticket(sb, appid, wait=_wait(body))
    return ok(ticket=sb.state.components[appid].ticket, push=dataclasses.asdict(push))


@bp.post("/messages")
def push_message():
    """A user's message or event to an authorized account, pushed to the platform's message URL."""
    sb, body = current_sandbox(), _body("component_appid", "appid", "msg_type", "content", "event")
    component_appid = body.get("component_appid") or next(iter(sb.state.components), "")
    push = registry.push_user_message(sb, component_appid, body.get("appid", ""), body.get("msg_type", "text"),
                                      str(body.get("content", "")), body.get("event") or "user_enter_tempsession",
                                      wait=_wait(body))
    return ok(push=dataclasses.asdict(push))


@bp.post("/drafts")
def add_draft():
    sb, body = current_sandbox(), _body(*DRAFT_FIELDS)
    draft = library.add_draft(sb, body)
    return ok(draft_id=draft.draft_id, draft=dataclasses.asdict(draft))


@bp.post("/templates")
def add_template():
    """Shortcut: a draft plus its template in one call (body as for /drafts, plus template_type)."""
    sb, body = current_sandbox(), _body(*DRAFT_FIELDS, "template_type")
    template = library.add_template_directly(sb, body)
    return ok(template_id=template.template_id, template=dataclasses.asdict(template))


@bp.post("/audits/decide")
def decide_audit():
    sb = current_sandbox()
    if "rule" in (body := _body(*DECIDE_FIELDS, "rule")):
        check_fields(body, ("appid", "rule"))
        if not isinstance(body["rule"], dict):
            raise ControlError("rule must be a JSON object")
        rule = audits.normalise_rule(check_fields(body["rule"], RULE_FIELDS, "rule"))
        with sb.state.lock:
            if body.get("appid"):
                account = sb.state.accounts.get(body["appid"])
                if account is None:
                    raise LookupError(f"no account {body['appid']}")
                account.audit_rule = rule
            else:
                sb.state.default_audit_rule = rule
        return ok(rule=rule)
    auditid = _pending_auditid(sb, body)
    outcome = body.get("outcome", "approve")
    if outcome not in audits.OUTCOMES:
        raise ControlError("outcome must be approve, reject or delay")
    with sb.state.lock:
        audit = sb.state.audits[auditid]
        for key in ("then", "then_delay", "reason", "screenshot"):
            if key in body:
                audit.rule[key] = float(body[key]) if key == "then_delay" else body[key]
    audit = audits.apply_outcome(sb, auditid, outcome, body.get("reason"), body.get("screenshot"),
                                 wait=_wait(body))
    return ok(audit=dataclasses.asdict(audit))


def _pending_auditid(sb, body: dict) -> int:
    if body.get("auditid"):
        return int(body["auditid"])
    with sb.state.lock:
        account = sb.state.accounts.get(body.get("appid", ""))
        audit = sb.state.latest_audit(account) if account else None
        if audit is None or not audit.is_pending:
            raise LookupError("no audit in review for this appid")
        return audit.auditid


@bp.post("/fastregister/decide")
def decide_fast_registration():
    """Play the legal person (enterprise) or the user (personal) of the one running task with this name."""
    sb, body = current_sandbox(), _body("name", "outcome", "reason")
    if not isinstance(body.get("name"), str) or not body["name"]:
        raise ControlError("name (the enterprise's or the person's name) is required")
    task = fastregister.pending_task(sb, body["name"])
    return ok(**fastregister.decide(sb, task, body.get("outcome"), body.get("reason"), wait=_wait(body)))


@bp.post("/faults")
def add_faults():
    sb, body = current_sandbox(), _body("faults", *_fault_fields())
    specs = body["faults"] if isinstance(body.get("faults"), list) else [body]
    for spec in specs:
        if not isinstance(spec, dict):
            raise ControlError("each fault must be a JSON object")
        check_fields(spec, _fault_fields(), "fault")
    added = [dataclasses.asdict(sb.faults.add(spec, sb.now())) for spec in specs]
    return ok(faults=added)


@bp.get("/faults")
def list_faults():
    return ok(faults=current_sandbox().faults.list())


@bp.delete("/faults")
def clear_faults():
    current_sandbox().faults.clear()
    return ok()


@bp.post("/quotas")
def set_quota():
    """A daily limit (``limit``: 45009 past it) and/or a per-minute one (``per_minute``: 45011)."""
    sb, body = current_sandbox(), _body(*QUOTA_FIELDS)
    if "limit" not in body and "per_minute" not in body:
        raise ControlError("missing field: limit or per_minute")
    endpoint, appid = body.get("endpoint", "*"), body.get("appid") or "*"
    if "limit" in body:
        sb.quotas.set_limit(endpoint, int(body["limit"]), appid)
    if "per_minute" in body:
        sb.quotas.set_minute_limit(endpoint, int(body["per_minute"]), appid)
    return ok()


@bp.get("/quotas")
def show_quotas():
    return ok(usage=current_sandbox().quotas.usage(request.args.get("appid")))


@bp.get("/clock")
def show_clock():
    return ok(**current_sandbox().clock.describe())


@bp.post("/clock")
def move_clock():
    sb, body = current_sandbox(), _body("advance", "speed")
    if body.get("speed"):
        sb.clock.set_speed(float(body["speed"]))
    if body.get("advance"):
        sb.clock.advance(float(body["advance"]))
    ran = sb.scheduler.run_due(wait=_wait(body))
    return ok(jobs_run=ran, **sb.clock.describe())


@bp.get("/calls")
def show_calls():
    args = request.args
    errcode = args.get("errcode")
    return ok(**current_sandbox().calls.query(args.get("endpoint"), args.get("appid"),
                                              int(errcode) if errcode not in (None, "") else None,
                                              int(args.get("limit", 50))))


@bp.get("/pushes")
def show_pushes():
    sb, args = current_sandbox(), request.args
    if args.get("wait") in ("1", "true"):
        sb.pushes.wait_idle(float(args.get("timeout", 10)))
    return ok(pushes=sb.pushes.records(args.get("type"), args.get("appid"), int(args.get("limit", 100))),
              pending=sb.pushes.pending())


@bp.post("/demo")
def install_demo():
    """Install the demo accounts (and a demo component when the body carries its credentials)."""
    from ..demo import install_demo as install

    return ok(**install(current_sandbox(), _body(*COMPONENT_FIELDS)))


@bp.post("/reset")
def reset():
    _body()
    current_sandbox().reset()
    return ok()
