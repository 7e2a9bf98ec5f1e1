"""A short way through Flask for WeChat's pushes.

A push is a POST from WeChat's servers: no cookie, no user, no page, no form. Flask's full pipeline would
still open the session cookie, run every before/after-request hook (Flask-Limiter's, Flask-Login's
remember cookie, CSRF), match the URL again and build the response through werkzeug's `Response`, which
together cost about as much CPU as the push itself. This WSGI middleware sends POSTs to the two callback
URLs straight to the views' handler, inside an application context (so `current_app`, `g` and
`db.session` work and are torn down as usual) but without a request context: the handler reads what it
needs (query string, body, sender address) from the WSGI environ, and the answer - always a short plain
text - goes out through `start_response` with a header list built once per app. It keeps what the hooks
give these URLs: the request id (for the log line and the X-Request-Id header) and the security headers.
CSRF does not apply to them (they are exempt), and their rate limit is counted by the handler itself.
Everything else, and any other method on these paths, takes Flask's full pipeline.
"""

import logging
from types import MappingProxyType

from flask import g
from werkzeug.http import HTTP_STATUS_CODES

from portal.logging_setup import request_id_for
from portal.security import security_headers

log = logging.getLogger("portal.callbacks")
# as werkzeug writes them: "200 OK", "403 FORBIDDEN"
_STATUS_LINES = MappingProxyType({status: f"{status} {text.upper()}" for status, text in HTTP_STATUS_CODES.items()})


def _status_line(status):
    return _STATUS_LINES.get(status) or f"{status} UNKNOWN"


class CallbackFastPath:
    def __init__(self, app, wsgi_app, prefix, handle):
        self.app, self.wsgi_app, self.handle = app, wsgi_app, handle
        self.auth_path, self.message_prefix = f"{prefix}/auth-events", f"{prefix}/events/"

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST":
            path = environ.get("PATH_INFO", "")
            if path == self.auth_path:
                return self._serve(environ, start_response, None)
            if path.startswith(self.message_prefix):
                appid = path[len(self.message_prefix):]
                if appid and "/" not in appid:  # what the route's <appid> would match
                    return self._serve(environ, start_response, appid)
        return self.wsgi_app(environ, start_response)

    def _serve(self, environ, start_response, appid):
        app = self.app
        with app.app_context():
            g.request_id = request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
            try:
                text, status = self.handle(environ, appid)
            except Exception:  # noqa: BLE001 - never a 500 page: WeChat retries on 503
                log.exception("callback could not be processed")
                text, status = "retry later", 503
        body = text.encode("utf-8")
        start_response(_status_line(status), [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("X-Request-Id", request_id), *self._security_headers()])
        return [body]

    def _security_headers(self):
        pairs = self.app.extensions.get("security_headers")
        if pairs is None:
            pairs = self.app.extensions["security_headers"] = security_headers(self.app)
        return pairs
