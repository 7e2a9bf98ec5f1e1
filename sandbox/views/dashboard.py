"""The sandbox's own pages: the overview at ``/sandbox/`` and the generated avatars."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from ..avatars import avatar_png
from ..runtime import current_sandbox

bp = Blueprint("dashboard", __name__)


@bp.get("/sandbox/avatars/<appid>.png")
def avatar(appid):
    return Response(avatar_png(appid), mimetype="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/sandbox/")
def overview():
    sb = current_sandbox()
    with sb.state.lock:
        components = list(sb.state.components.values())
        accounts = list(sb.state.accounts.values())
        audits = {a.appid: sb.state.latest_audit(a) for a in accounts}
        authorizations = list(sb.state.authorizations.values())
        return render_template("sandbox/overview.html", components=components, accounts=accounts,
                               audits=audits, authorizations=authorizations,
                               calls=sb.calls.query(limit=30), pushes=sb.pushes.records(limit=30),
                               clock=sb.clock.describe())
