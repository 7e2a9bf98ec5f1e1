"""The merchant's side of authorization: the "authorize your mini-program" page and WeChat's redirect."""

from portal.authorization.views import bp

__all__ = ["bp"]
