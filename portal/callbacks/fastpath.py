"""A short way through Flask for WeChat's pushes.

A push is a POST from WeChat's servers: no cookie, no user, no page, no form. Flask's full pipeline would
still open the session cookie, run every before/after-request hook (Flask-Limiter's, Flask-Login's
remember cookie, CSRF) and build the response through them, which costs as much CPU as the push itself.
This WSGI middleware sends POSTs to the two callback URLs straight to their view functions, inside a
normal request context (so `request`, `current_app`, `g` and `db.session` work and are torn down as
usual), with an empty session that is never read from nor written to a cookie. It keeps what the hooks
give these URLs: the request id (for the log line and the X-Request-Id header) and the security headers.
CSRF does not apply to them (they are exempt), and their rate limit is counted by the view itself.
Everything else, and any other method on these paths, goes through Flask as before.
"""

import logging

from flask import g
from flask.ctx import RequestContext
from flask.sessions import SecureCookieSession

from portal.logging_setup import request_id_for
from portal.security import add_security_headers, security_headers

log = logging.getLogger("portal.callbacks")


class CallbackFastPath:
    def __init__(self, app, wsgi_app, prefix, auth_view, message_view):
        self.app, self.wsgi_app = app, wsgi_app
        self.auth_path, self.message_prefix = f"{prefix}/auth-events", f"{prefix}/events/"
        self.auth_view, self.message_view = auth_view, message_view

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST":
            path = environ.get("PATH_INFO", "")
            if path == self.auth_path:
                return self._serve(environ, start_response, self.auth_view, {})
            if path.startswith(self.message_prefix):
                appid = path[len(self.message_prefix):]
                if appid and "/" not in appid:  # what the route's <appid> would match
                    return self._serve(environ, start_response, self.message_view, {"appid": appid})
        return self.wsgi_app(environ, start_response)

    def _serve(self, environ, start_response, view, kwargs):
        app = self.app
        ctx = RequestContext(app, environ, session=SecureCookieSession())  # given a session: none is opened
        ctx.push()
        error = None
        try:
            g.request_id = request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
            try:
                response = app.make_response(view(**kwargs))
            except Exception:  # noqa: BLE001 - never a 500 page: WeChat retries on 503
                log.exception("callback could not be processed")
                response = app.response_class("retry later", 503, {"Content-Type": "text/plain; charset=utf-8"})
            response.headers["X-Request-Id"] = request_id
            pairs = app.extensions.get("security_headers")
            if pairs is None:
                pairs = app.extensions["security_headers"] = security_headers(app)
            add_security_headers(response.headers, pairs)
            return response(environ, start_response)
        except BaseException as exc:
            error = exc
            raise
        finally:
            ctx.pop(error)
