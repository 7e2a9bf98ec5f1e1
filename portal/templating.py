"""Template globals: the navigation for the current role, the current locale, audit status badges, display
filters. Times are stored as naive UTC and shown in the viewer's zone (`portal.i18n.select_timezone`)."""

from flask import request, url_for
from flask_babel import get_locale, get_timezone, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from portal.models.audit import AUDIT_STATUSES
from portal.timeutil import from_epoch, iso_utc, utcnow
from portal.wechat.funcscopes import funcscope_name


def nav_items():
    """The navigation of the current role; an item is active on its page and on the pages it leads to."""
    if current_user.is_staff:
        items = [("dashboard.home", _("Home"), ()), ("tenants.index", _("Tenants"), ("tenants",)),
                 ("platform.index", _("Platform"), ("platform",)), ("platform.tokens", _("Token health"), ()),
                 ("releases_staff.index", _("Code management"), ("releases_staff", "releases")),
                 ("library.index", _("Template library"), ("library",)), ("fleet.index", _("Fleet releases"), ("fleet",)),
                 ("registrations.index", _("Registrations"), ("registrations",)),
                 ("api_keys.index", _("API keys"), ("api_keys",)),
                 ("forwarding.index", _("Push forwarding"), ("forwarding",))]
    else:
        items = [("dashboard.merchant", _("My mini-programs"), ("releases", "authorization", "registrations", "dashboard")),
                 ("releases.settings", _("Settings"), ())]
    here = request.endpoint or ""
    explicit = {endpoint for endpoint, _label, _also in items}
    return [{"url": url_for(endpoint), "label": label,
             "active": here == endpoint or (here not in explicit and here.split(".")[0] in also)}
            for endpoint, label, also in items]


ACTION_LABELS = {
    "authorization.granted": _l("Authorized to the platform"), "authorization.updated": _l("Authorization updated"),
    "authorization.revoked": _l("Authorization revoked"), "authorization.lost": _l("Authorization lost"),
    "authorization.transfer": _l("Moved to another tenant"),
    "authorization.permissions": _l("Permission sets changed on WeChat"),
    "audit.success": _l("Audit approved"), "audit.fail": _l("Audit rejected"), "audit.delay": _l("Audit delayed"),
    "audit.polled": _l("Audit status polled"), "audit.refresh": _l("Audit status refreshed"),
    "audit.speedup": _l("Audit speed-up requested"), "audit.undo": _l("Audit withdrawn"),
    "domains.server": _l("Server domains changed"), "domains.webview": _l("Business domains changed"),
    "testers.bind": _l("Tester bound"), "testers.unbind": _l("Tester unbound"),
    "privacy.apply": _l("Privacy guideline applied"), "release.gray": _l("Gray release"),
    "release.gray_revert": _l("Gray release withdrawn"), "release.revert": _l("Rolled back"),
    "release.visit": _l("Visit status changed"), "job.commit": _l("Code uploaded"),
    "job.submit_audit": _l("Submitted for audit"), "job.release": _l("Released"),
    "settings.update": _l("Settings changed"), "settings.mp_params": _l("Own parameters changed"),
    "settings.permissions": _l("What merchants may edit changed"),
    "registration.enterprise.started": _l("Fast registration sent"),
    "registration.personal.started": _l("Fast registration sent"),
    "registration.enterprise.refused": _l("Fast registration refused by WeChat"),
    "registration.personal.refused": _l("Fast registration refused by WeChat"),
    "registration.enterprise.succeeded": _l("Registered through fast registration"),
    "registration.personal.succeeded": _l("Registered through fast registration"),
    "registration.enterprise.failed": _l("Fast registration failed"),
    "registration.personal.failed": _l("Fast registration failed"),
    "setup.name": _l("Name set"), "setup.avatar": _l("Avatar set"), "setup.introduction": _l("Introduction set"),
    "setup.category": _l("Category added"), "setup.category_removed": _l("Category removed"),
    "setup.location_api": _l("Location API applied for"),
    "setup.nickname_audit.approved": _l("Name approved"), "setup.nickname_audit.rejected": _l("Name rejected"),
    "setup.category_audit.approved": _l("Category approved"), "setup.category_audit.rejected": _l("Category rejected"),
    "setup.privacy_apply.approved": _l("Location API granted"),
    "setup.privacy_apply.rejected": _l("Location API refused"),
    "api_key.create": _l("API key created"), "api_key.revoke": _l("API key revoked"),
}


def action_label(action):
    """Words for an activity-log action code; unknown codes are shown as they are."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def audit_status(status):
    """(label, badge class) of an audit status; an unknown status shows as itself."""
    label, css = AUDIT_STATUSES.get(status, (status, "muted"))
    return str(label), css


def format_dt(value, seconds=False):
    """A stored (naive UTC) time as plain text in the viewer's zone, "2026-12-06 02:56": what pages, the JSON
    they poll and the scripts that redraw them all show."""
    if not value:
        return "—"
    return to_user_timezone(value).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def zone_label(when=None):
    """The viewer's zone in words: "Beijing time" for Asia/Shanghai, else its name, with the UTC offset
    (at `when`, naive UTC, for zones with daylight saving; else now)."""
    name = str(get_timezone())
    offset = to_user_timezone(when or utcnow()).strftime("%z")
    words = _("Beijing time") if name == "Asia/Shanghai" else name
    return f"{words} (UTC{offset[:3]}:{offset[3:]})"


def time_tag(value, seconds=False):
    """The `dt` filter: the text of `format_dt` in a `<time>` whose title names the zone and the UTC time, so
    the zone is one hover away without a suffix on every row."""
    if not value:
        return "—"
    title = f"{zone_label(value)} · {value.strftime('%Y-%m-%d %H:%M')} UTC"
    return Markup('<time datetime="{}" title="{}">{}</time>').format(iso_utc(value), title,
                                                                   format_dt(value, seconds))


def duration(seconds):
    """A length of time in words at a glance: "2 d 3 h", "3 h 5 min", "12 min", "< 1 min"."""
    if seconds is None:
        return "—"
    minutes = int(abs(seconds) // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return _("%(d)d d %(h)d h", d=days, h=hours)
    if hours:
        return _("%(h)d h %(m)d min", h=hours, m=minutes)
    return _("%(m)d min", m=minutes) if minutes else _("< 1 min")


def funcscope(funcscope_id):
    """A permission set's name (and id) in the viewer's language."""
    locale = get_locale()
    return funcscope_name(funcscope_id, locale.language if locale else "zh")


def register(app):
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.globals["audit_status"] = audit_status
    app.jinja_env.globals["zone_label"] = zone_label
    app.jinja_env.filters["dt"] = time_tag
    app.jinja_env.filters["from_epoch"] = from_epoch  # WeChat's epoch seconds, shown through `dt`
    app.jinja_env.filters["action_label"] = action_label
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["funcscope"] = funcscope

    @app.context_processor
    def inject_locale():
        locale = get_locale()
        return {"current_locale": locale.language if locale else "zh"}
