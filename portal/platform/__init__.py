"""Staff pages about the platform itself: credentials health, all mini-programs, WeChat's pushes."""

from portal.platform.views import bp

__all__ = ["bp"]
