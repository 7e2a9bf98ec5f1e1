"""The user's own preferences page (the time zone times are shown in), for staff and merchants alike."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField

from portal.accounts.views import bp
from portal.errors import PortalError
from portal.form_choices import as_choices
from portal.services import preferences
from portal.timeutil import COMMON_ZONES, DEFAULT_ZONE, is_known_zone, known_zones


class TimezoneForm(FlaskForm):
    timezone = SelectField(_l("Time zone"))


def zone_choices():
    """The platform's zone first (as "no choice of my own"), then the common zones, then every other zone."""
    platform = current_app.config.get("DEFAULT_TIMEZONE")
    platform = platform if is_known_zone(platform) else DEFAULT_ZONE
    common = [z for z in COMMON_ZONES if is_known_zone(z)]
    rest = sorted(known_zones() - set(common))
    return as_choices([("", _("The platform's zone (%(zone)s)", zone=platform))]
                      + [(z, z) for z in common] + [(z, z) for z in rest])


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences_page():
    form = TimezoneForm(data={"timezone": current_user.timezone or ""})
    form.timezone.choices = zone_choices()
    if form.validate_on_submit():
        try:
            preferences.set_timezone(current_user, form.timezone.data)
        except PortalError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Saved: times are now shown in %(zone)s.", zone=current_user.timezone or _("the platform's zone")),
                  "success")
            return redirect(url_for("accounts.preferences_page"))
    return render_template("accounts/preferences.html", form=form), 400 if form.errors else 200
