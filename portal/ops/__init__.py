"""Health endpoints for load balancers and orchestrators: `/healthz` (the process answers) and
`/readyz` (the database and, when configured, Redis answer)."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from portal.ops import views  # noqa: E402,F401
