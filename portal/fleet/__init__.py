"""Staff blueprint of fleet releases: start one, follow its progress live, control it, export its report."""

from portal.fleet.views import bp

__all__ = ["bp"]
