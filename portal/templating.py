"""Template globals: the navigation for the current role, the current locale, display filters."""

from flask import request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user


def nav_items():
    items = [("dashboard.home", _("Home"))]
    if current_user.is_staff:
        items += [("tenants.index", _("Tenants")), ("platform.index", _("Platform")),
                  ("releases_staff.index", _("Code management")), ("library.index", _("Template library")),
                  ("fleet.index", _("Fleet releases"))]
    elif current_user.is_merchant:
        items += [("releases.settings", _("Settings"))]
    result = []
    for endpoint, label in items:
        active = request.endpoint == endpoint or (
            request.endpoint and request.endpoint.split(".")[0] == endpoint.split(".")[0] and endpoint != "dashboard.home"
        )
        result.append({"url": url_for(endpoint), "label": label, "active": active})
    return result


def format_dt(value):
    return value.strftime("%Y-%m-%d %H:%M") + " UTC" if value else "—"


def register(app):
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.filters["dt"] = format_dt

    @app.context_processor
    def inject_locale():
        locale = get_locale()
        return {"current_locale": locale.language if locale else "zh"}
