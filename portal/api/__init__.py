"""The token service API (`bp`, under /api/v1: Bearer keys, JSON, no session and no CSRF) that hands the
operator's other systems the access tokens the portal keeps, and the staff pages of its keys (`staff_bp`)."""

from portal.api.staff_views import staff_bp
from portal.api.views import bp

__all__ = ["bp", "staff_bp"]
