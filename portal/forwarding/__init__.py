"""Staff pages of push forwarding: rules, their secrets, test pushes, and the delivery log."""

from portal.forwarding.views import bp

__all__ = ["bp"]
