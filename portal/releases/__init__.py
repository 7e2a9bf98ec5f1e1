"""Code management of mini-programs ("releases": upload, audit, release, roll back), for merchants on their
own mini-programs and staff on any (acting on behalf, logged as such); plus the staff pages across
tenants (`staff_bp`: the list with filters, the WeChat call log, tenant settings)."""

from portal.releases import views_audit, views_params, views_setup  # noqa: F401 - they add their routes to `bp`
from portal.releases.staff_views import staff_bp
from portal.releases.views import bp

__all__ = ["bp", "staff_bp"]
