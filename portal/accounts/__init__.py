"""Login, logout, invitations, the language switch and the user's preferences (time zone); named `accounts`
so it never clashes with WeChat's "authorization"."""

from portal.accounts import preferences  # noqa: F401 - it adds its routes to `bp`
from portal.accounts.views import bp

__all__ = ["bp"]
