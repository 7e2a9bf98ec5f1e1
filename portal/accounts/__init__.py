"""Login, logout, invitations and the language switch (named `accounts` so it never clashes with
WeChat's "authorization")."""

from portal.accounts.views import bp

__all__ = ["bp"]
