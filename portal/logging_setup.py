"""Logging: one line per record with a request id (or job id) so a request can be followed in logs.

Nothing here logs request bodies or query strings; WeChat tokens travel in query strings.
"""

import logging
import os

from flask import g, has_request_context, request


class ContextFilter(logging.Filter):
    """Adds `request_id` to every record (from the request, else '-')."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def request_id_for(incoming):
    """The caller's X-Request-Id if it is usable, else a new 16-hex-digit id."""
    return incoming[:64] if incoming and incoming.isprintable() else os.urandom(8).hex()


def setup_logging(app):
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    handler.addFilter(ContextFilter())
    root = logging.getLogger("portal")
    if not any(isinstance(f, ContextFilter) for h in root.handlers for f in h.filters):
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    root.propagate = False  # one line per record, whatever handlers other libraries put on the root logger

    @app.before_request
    def assign_request_id():
        g.request_id = request_id_for(request.headers.get("X-Request-Id", ""))

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        return response
