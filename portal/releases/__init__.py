"""Code management of mini-programs ("releases": upload, audit, release, roll back), for merchants on their
own mini-programs and staff on any (acting on behalf, logged as such); plus the staff pages across
tenants (`staff_bp`: the list with filters, the WeChat call log, tenant settings)."""

from flask import Blueprint

bp = Blueprint("releases", __name__, template_folder="templates")
staff_bp = Blueprint("releases_staff", __name__, template_folder="templates")

from portal.releases import staff_views, views, views_audit, views_params  # noqa: E402,F401
