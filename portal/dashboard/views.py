"""Views of the dashboard blueprint."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal.services import overview, registrations

bp = Blueprint("dashboard", __name__, template_folder="templates")


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    if current_user.is_staff:
        return render_template("dashboard/staff.html", stats=overview.platform_stats())
    return redirect(url_for("dashboard.merchant"))


@bp.route("/dashboard")
@login_required
def merchant():
    if current_user.is_staff:
        return redirect(url_for("dashboard.home"))
    programs = overview.tenant_miniprograms(current_user.tenant_id)
    signups = [(row, current_user.tenant) for row in registrations.for_tenant(current_user.tenant_id)]
    return render_template("dashboard/merchant.html", programs=programs, tenant=current_user.tenant,
                           registrations=signups)
