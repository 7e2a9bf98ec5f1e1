"""Views of the ops blueprint: plain JSON, no login, no secrets.

`/readyz` is public, so it says only what is down ("unavailable"); why (the exception and its message,
which can name hosts, drivers and versions) goes to the log.
"""

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from portal.coordination import coordination
from portal.extensions import db

bp = Blueprint("ops", __name__)

log = logging.getLogger("portal.ops")
UNAVAILABLE = "unavailable"


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - report, never raise: this endpoint exists to say what is down
        db.session.rollback()
        log.warning("readiness: the database is unavailable", exc_info=True)
        checks["database"] = UNAVAILABLE
    checks.update(coordination().health())
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), (200 if ready else 503)
