"""The start page: staff see the platform overview, merchants their tenant's mini-programs."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, template_folder="templates")

from portal.dashboard import views  # noqa: E402,F401
