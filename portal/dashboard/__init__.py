"""The start page: staff see the platform overview, merchants their tenant's mini-programs."""

from portal.dashboard.views import bp

__all__ = ["bp"]
