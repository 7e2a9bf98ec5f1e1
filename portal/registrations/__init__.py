"""Fast registration of mini-programs (快速注册): merchants and staff start one, everyone sees its state."""

from portal.registrations.views import bp

__all__ = ["bp"]
