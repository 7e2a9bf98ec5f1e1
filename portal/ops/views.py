"""Views of the ops blueprint: plain JSON, no login, no secrets."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from portal.coordination import coordination
from portal.extensions import db

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report, never raise: this endpoint exists to say what is down
        db.session.rollback()
        checks["database"] = f"down: {exc.__class__.__name__}"
    checks.update(coordination().health())
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), (200 if ready else 503)
