"""Staff pages for tenants and their merchant users."""

from flask import Blueprint

bp = Blueprint("tenants", __name__, template_folder="templates")

from portal.tenants import views  # noqa: E402,F401
