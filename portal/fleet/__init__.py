"""Staff blueprint of fleet releases: start one, follow its progress live, control it, export its report."""

from flask import Blueprint

bp = Blueprint("fleet", __name__, template_folder="templates")

from portal.fleet import views  # noqa: E402,F401
