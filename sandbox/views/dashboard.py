"""The sandbox's own pages: the overview at ``/sandbox/``, its buttons (revoke an authorization, push a
ticket, decide an audit or a fast registration now) and the generated avatars. The buttons are plain HTML forms posting to
``/sandbox/ui/…`` that redirect back, so a demo user can click through everything without curl.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request

from .. import audits, authorization, fastregister, registry
from ..avatars import avatar_png
from ..runtime import current_sandbox

bp = Blueprint("dashboard", __name__)


@bp.get("/sandbox/avatars/<appid>.png")
def avatar(appid):
    return Response(avatar_png(appid), mimetype="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask every host for one; answer with a tiny green square instead of a 404."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
           '<rect width="16" height="16" rx="3" fill="#07c160"/></svg>')
    return svg, 200, {"Content-Type": "image/svg+xml", "Cache-Control": "max-age=86400"}


@bp.get("/sandbox/")
def overview():
    sb = current_sandbox()
    with sb.state.lock:
        components = list(sb.state.components.values())
        accounts = list(sb.state.accounts.values())
        latest_audits = {a.appid: sb.state.latest_audit(a) for a in accounts}
        authorizations = list(sb.state.authorizations.values())
        registrations = [dict(t, key=k) for k, t in sb.state.fast_registrations.items()]
        return render_template("sandbox/overview.html", components=components, accounts=accounts,
                               audits=latest_audits, authorizations=authorizations, registrations=registrations,
                               calls=sb.calls.query(limit=30), pushes=sb.pushes.records(limit=30),
                               clock=sb.clock.describe())


@bp.post("/sandbox/ui/unauthorize")
def ui_unauthorize():
    """The administrator revokes the authorization in WeChat: pushes ``unauthorized``."""
    authorization.unauthorize(current_sandbox(), request.form["component_appid"], request.form["authorizer_appid"])
    return redirect("/sandbox/", code=303)


@bp.post("/sandbox/ui/push-ticket")
def ui_push_ticket():
    registry.push_ticket(current_sandbox(), request.form["component_appid"])
    return redirect("/sandbox/", code=303)


@bp.post("/sandbox/ui/decide")
def ui_decide():
    sb = current_sandbox()
    audits.apply_outcome(sb, int(request.form["auditid"]), request.form.get("outcome", "approve"))
    return redirect("/sandbox/", code=303)


@bp.post("/sandbox/ui/fastregister")
def ui_fast_register():
    """The legal person (or the person) decides a fast registration: approve, or reject with status 1001."""
    sb = current_sandbox()
    task = sb.state.fast_registrations.get(request.form["key"])
    if task is not None and task["state"] == "pending":
        fastregister.decide(sb, task, request.form.get("outcome", "approve"))
    return redirect("/sandbox/", code=303)
