"""Error pages: 403/404/413/429/500 rendered as friendly pages; domain errors mapped to status codes.

A 500 rolls the database session back and never shows a stack trace.
"""

import logging

from flask import flash, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from portal.errors import PortalError
from portal.extensions import db

log = logging.getLogger("portal.errors")


def _page(code, headline, detail=None):
    return render_template("errors/error.html", code=code, headline=headline, detail=detail), code


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
    }


def handle_http_error(exc):
    code = exc.code or 500
    if code == 429 and request.endpoint == "accounts.login":
        from portal.accounts.forms import LoginForm

        flash(_("Too many login attempts. Please wait a minute and try again."), "error")
        return render_template("accounts/login.html", form=LoginForm()), 429
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
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _page(500, _headlines()[500])


def register(app):
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(PortalError, handle_portal_error)
    app.register_error_handler(Exception, handle_unexpected)
