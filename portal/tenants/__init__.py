"""Staff pages for tenants and their merchant users."""

from portal.tenants.views import bp

__all__ = ["bp"]
