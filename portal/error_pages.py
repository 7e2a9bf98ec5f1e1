"""Error pages: 403/404/413/429/500/503 rendered as friendly pages; domain errors mapped to status codes.

A 500 rolls the database session back and never shows a stack trace. A database that cannot be reached
(restart, failover, a full pool) answers 503 in words at once, with Retry-After, and the next request
reconnects by itself (a connection idle in the pool is checked first: `services.connections`).
"""

import logging

from flask import flash, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from portal.action_limits import is_wechat_action_limit
from portal.errors import PortalError
from portal.extensions import db, login_manager
from portal.logging_setup import redact_path

DATABASE_DOWN = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
# MySQL client/server codes meaning "no server to talk to": too many connections, shutdown in progress,
# connection killed, can't connect (socket, TCP), server gone away, lost during query, lost at handshake
_UNREACHABLE_CODES = frozenset({1040, 1053, 1927, 2002, 2003, 2006, 2013, 2055, 4031})


def database_unreachable(exc):
    """Whether `exc` says the database cannot be reached (rather than that a statement is wrong)."""
    if isinstance(exc, (DisconnectionError, PoolTimeoutError)) or getattr(exc, "connection_invalidated", False):
        return True
    args = getattr(getattr(exc, "orig", None), "args", None) or (None,)
    return args[0] in _UNREACHABLE_CODES

log = logging.getLogger("portal.errors")


def _page(code, headline, detail=None):
    # the page links back to where it was asked for; an invitation link's token stays out of it
    return render_template("errors/error.html", code=code, headline=headline, detail=detail,
                           return_path=redact_path(request.path)), code


def _headlines():
    return {
        400: _("The request could not be understood."),
        401: _("Please log in first."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist, or you cannot see it."),
        405: _("This action is not allowed here."),
        413: _("The request is too large."),
        429: _("Too many requests. Please wait a minute and try again."),
        500: _("Something went wrong on our side. The error was logged; please try again."),
        503: _("The portal cannot reach its database at the moment. Please try again in a minute."),
    }


def handle_http_error(exc):
    code = exc.code or 500
    if code == 429 and request.endpoint == "accounts.login":
        from portal.accounts.forms import LoginForm

        flash(_("Too many login attempts. Please wait a minute and try again."), "error")
        return render_template("accounts/login.html", form=LoginForm()), 429
    if code == 429 and is_wechat_action_limit(exc):
        return _page(429, _headlines()[429], exc.description)
    if code == 400 and "CSRF" in (exc.description or ""):
        return _page(400, _("Your form expired or was sent from elsewhere. Reload the page and try again."))
    return _page(code, _headlines().get(code, exc.name))


def handle_portal_error(exc):
    detail = exc.message or None
    return _page(exc.status_code, _headlines().get(exc.status_code, _("The action failed.")), detail)


def handle_unexpected(exc):
    if isinstance(exc, HTTPException):
        return handle_http_error(exc)
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, redact_path(request.path))
    return _page(500, _headlines()[500])


def handle_database_error(exc):
    if not database_unreachable(exc):
        return handle_unexpected(exc)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool drops it on the next checkout
        db.session.remove()
    # the page must not need the database: render it for an anonymous visitor (no user or tenant lookups)
    g._login_user = login_manager.anonymous_user()
    log.warning("database unavailable on %s %s: %s", request.method, redact_path(request.path),
                exc.__class__.__name__)
    detail = _("What you just sent was not saved; please send it again then.") if request.method == "POST" else None
    body, code = _page(503, _headlines()[503], detail)
    return body, code, {"Retry-After": "30"}


def register(app):
    for kind in DATABASE_DOWN:
        app.register_error_handler(kind, handle_database_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(PortalError, handle_portal_error)
    app.register_error_handler(Exception, handle_unexpected)
