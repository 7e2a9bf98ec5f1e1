"""Template globals: the navigation for the current role, the current locale, display filters."""

from flask import request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user


def nav_items():
    """The navigation of the current role; an item is active on its page and on the pages it leads to."""
    if current_user.is_staff:
        items = [("dashboard.home", _("Home"), ()), ("tenants.index", _("Tenants"), ("tenants",)),
                 ("platform.index", _("Platform"), ("platform",)),
                 ("releases_staff.index", _("Code management"), ("releases_staff", "releases")),
                 ("library.index", _("Template library"), ("library",)), ("fleet.index", _("Fleet releases"), ("fleet",))]
    else:
        items = [("dashboard.merchant", _("My mini-programs"), ("releases", "authorization")),
                 ("releases.settings", _("Settings"), ())]
    here = request.endpoint or ""
    explicit = {endpoint for endpoint, _label, _also in items}
    return [{"url": url_for(endpoint), "label": label,
             "active": here == endpoint or (here not in explicit and here.split(".")[0] in also)}
            for endpoint, label, also in items]


def format_dt(value):
    return value.strftime("%Y-%m-%d %H:%M") + " UTC" if value else "—"


def register(app):
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.filters["dt"] = format_dt

    @app.context_processor
    def inject_locale():
        locale = get_locale()
        return {"current_locale": locale.language if locale else "zh"}
