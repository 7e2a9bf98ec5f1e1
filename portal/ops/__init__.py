"""Health endpoints for load balancers and orchestrators: `/healthz` (the process answers) and
`/readyz` (the database and, when configured, Redis answer)."""

from portal.ops.views import bp

__all__ = ["bp"]
