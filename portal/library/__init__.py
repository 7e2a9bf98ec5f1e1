"""Staff blueprint of the template library: drafts, templates, our notes and where each template runs."""

from flask import Blueprint

bp = Blueprint("library", __name__, template_folder="templates")

from portal.library import views  # noqa: E402,F401
