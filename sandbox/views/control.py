"""The control API under ``/sandbox/``: set up the world, move time, inject faults, read records.

Everything a test or the demo needs without a browser: register components and accounts, authorize and
revoke, push tickets, add drafts/templates, decide audits or set audit rules, inject faults and quotas,
advance the clock, read recorded calls and pushes, reset. JSON in, JSON out; bad input answers HTTP 400
``{"error": …}``. ``?sync=1`` or ``"wait": true`` delivers the pushes a request causes before answering.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, request

from .. import audits, authorization, library, registry
from ..runtime import current_sandbox
from .api import json_response

bp = Blueprint("control", __name__, url_prefix="/sandbox")
PRIVATE_COMPONENT_FIELDS = ("component_appsecret",)


class ControlError(ValueError):
    pass


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


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
    sb, body = current_sandbox(), _body()
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
    sb, body = current_sandbox(), _body()
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
    sb, body = current_sandbox(), _body()
    result = authorization.authorize(sb, body.get("component_appid", ""),
                                     body.get("authorizer_appid") or body.get("appid", ""),
                                     func_info=body.get("func_info"), wait=_wait(body))
    return ok(**result)


@bp.post("/unauthorize")
def unauthorize():
    sb, body = current_sandbox(), _body()
    result = authorization.unauthorize(sb, body.get("component_appid", ""),
                                       body.get("authorizer_appid") or body.get("appid", ""), wait=_wait(body))
    return ok(**result)


@bp.post("/push-ticket")
def push_ticket():
    sb, body = current_sandbox(), _body()
    appid = body.get("component_appid") or next(iter(sb.state.components), "")
    if appid not in sb.state.components:
        raise LookupError(f"no component {appid}")
    push = registry.push_ticket(sb, appid, wait=_wait(body))
    return ok(ticket=sb.state.components[appid].ticket, push=dataclasses.asdict(push))


@bp.post("/drafts")
def add_draft():
    sb, body = current_sandbox(), _body()
    draft = library.add_draft(sb, body)
    return ok(draft_id=draft.draft_id, draft=dataclasses.asdict(draft))


@bp.post("/templates")
def add_template():
    """Shortcut: a draft plus its template in one call (body as for /drafts, plus template_type)."""
    sb, body = current_sandbox(), _body()
    template = library.add_template_directly(sb, body)
    return ok(template_id=template.template_id, template=dataclasses.asdict(template))


@bp.post("/audits/decide")
def decide_audit():
    sb, body = current_sandbox(), _body()
    if "rule" in body:
        rule = audits.normalise_rule(body["rule"])
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


@bp.post("/faults")
def add_faults():
    sb, body = current_sandbox(), _body()
    specs = body["faults"] if isinstance(body.get("faults"), list) else [body]
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
    sb, body = current_sandbox(), _body()
    sb.quotas.set_limit(body.get("endpoint", "*"), int(body["limit"]), body.get("appid") or "*")
    return ok()


@bp.get("/quotas")
def show_quotas():
    return ok(usage=current_sandbox().quotas.usage(request.args.get("appid")))


@bp.get("/clock")
def show_clock():
    return ok(**current_sandbox().clock.describe())


@bp.post("/clock")
def move_clock():
    sb, body = current_sandbox(), _body()
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

    return ok(**install(current_sandbox(), _body()))


@bp.post("/reset")
def reset():
    current_sandbox().reset()
    return ok()
