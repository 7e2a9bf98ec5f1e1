"""Login, logout, invitations and the language switch (named `accounts` so it never clashes with
WeChat's "authorization")."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, template_folder="templates")

from portal.accounts import views  # noqa: E402,F401
