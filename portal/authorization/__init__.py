"""The merchant's side of authorization: the "authorize your mini-program" page and WeChat's redirect."""

from flask import Blueprint

bp = Blueprint("authorization", __name__, template_folder="templates")

from portal.authorization import views  # noqa: E402,F401
