"""Staff pages about the platform itself: credentials health, all mini-programs, WeChat's pushes."""

from flask import Blueprint

bp = Blueprint("platform", __name__, template_folder="templates")

from portal.platform import views  # noqa: E402,F401
