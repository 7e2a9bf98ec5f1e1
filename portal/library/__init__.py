"""Staff blueprint of the template library: drafts, templates, our notes and where each template runs."""

from portal.library.views import bp

__all__ = ["bp"]
