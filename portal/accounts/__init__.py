"""Login, logout, invitations, the language switch and the user's preferences (time zone); named `accounts`
so it never clashes with WeChat's "authorization"."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, template_folder="templates")

from portal.accounts import preferences, views  # noqa: E402,F401
