"""Views of the platform blueprint (staff only)."""

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField

from portal.accounts.access import staff_required
from portal.errors import PortalError
from portal.form_choices import as_choices
from portal.models.miniprogram import AUTH_STATES
from portal.services import authorization as authorization_service
from portal.services import authorizers as authorizers_service
from portal.services import platform as platform_service
from portal.services import pushes as pushes_service
from portal.services import token_health as token_health_service

bp = Blueprint("platform", __name__, template_folder="templates")


class TransferForm(FlaskForm):
    tenant_id = SelectField(coerce=int)


@bp.route("/")
@staff_required
def index():
    page = max(1, request.args.get("page", 1, type=int))
    per_page = min(current_app.config["PAGE_SIZE"], 200)
    tenant_id = request.args.get("tenant", type=int)
    state = request.args.get("state") if request.args.get("state") in AUTH_STATES else None
    search = request.args.get("q", "")[:64]
    tenant_name = request.args.get("tenant_name", "").strip()[:64]
    items, total = platform_service.list_miniprograms(page, per_page, tenant_id, state, search, tenant_name)
    return render_template("platform/index.html", health=platform_service.component_health(), items=items,
                           total=total, page=page, pages=max(1, -(-total // per_page)), tenant_id=tenant_id,
                           tenant_name=tenant_name, state=state, q=search,
                           tenants=platform_service.tenant_filter(tenant_id), states=AUTH_STATES)


@bp.route("/miniprograms/<int:mp_id>/transfer", methods=["GET", "POST"])
@staff_required
def transfer(mp_id):
    """Move a mini-program to another tenant (one page per app keeps the list light at any fleet size)."""
    mp = platform_service.get_miniprogram(mp_id)
    form = TransferForm(tenant_id=mp.tenant_id)
    form.tenant_id.choices = as_choices(platform_service.tenant_choices())
    if form.validate_on_submit():
        mp = authorization_service.transfer(mp_id, form.tenant_id.data, current_user)
        flash(_("%(name)s moved to another tenant.", name=mp.display_name), "success")
        return redirect(url_for("platform.index"))
    return render_template("platform/transfer.html", mp=mp, form=form), (400 if form.errors else 200)


@bp.route("/unclaimed")
@staff_required
def unclaimed():
    """Accounts WeChat lists as authorized that the portal has no row for (found by the daily sync)."""
    return render_template("platform/unclaimed.html", rows=authorizers_service.list_unclaimed())


@bp.route("/unclaimed/<int:row_id>/assign", methods=["GET", "POST"])
@staff_required
def assign_unclaimed(row_id):
    row = authorizers_service.get_unclaimed(row_id)
    form = TransferForm()
    form.tenant_id.choices = as_choices(platform_service.tenant_choices())
    status = 200
    if form.validate_on_submit():
        try:
            mp = authorization_service.assign_unclaimed(row_id, form.tenant_id.data, current_user)
        except PortalError as exc:
            flash(exc.message, "error")
            status = exc.status_code
        else:
            flash(_("%(name)s is now managed for its tenant.", name=mp.display_name), "success")
            return redirect(url_for("platform.unclaimed"))
    return render_template("platform/assign.html", row=row, form=form), 400 if form.errors else status


@bp.route("/pushes")
@staff_required
def pushes():
    kind = request.args.get("kind", "")[:64] or None
    return render_template("platform/pushes.html", events=pushes_service.recent_events(200, kind), kind=kind,
                           waiting=pushes_service.waiting_pushes())


@bp.route("/sync")
@staff_required
def sync_report():
    """The last reconciliation with WeChat's authorizer list and what it found."""
    run = authorizers_service.latest_sync()
    found = authorizers_service.findings(run) if run is not None else {}
    progress = authorizers_service.progress_text(run, _lang()) if run is not None else ""
    return render_template("platform/sync.html", run=run, found=found, progress=progress)


@bp.route("/sync", methods=["POST"])
@staff_required
def start_sync():
    """The "sync with WeChat now" button (its CSRF token is checked for every POST)."""
    _run, created = authorizers_service.start_sync(current_user)
    flash(_("The sync with WeChat has started.") if created else _("A sync with WeChat is already running."),
          "success" if created else "info")
    return redirect(url_for("platform.sync_report"))


@bp.route("/sync/<int:sync_id>")
@staff_required
def sync_status(sync_id):
    return jsonify(authorizers_service.describe(authorizers_service.get_sync(sync_id), _lang()))


@bp.route("/tokens")
@staff_required
def tokens():
    """Token health: never a token value; apps at risk first."""
    page = max(1, request.args.get("page", 1, type=int))
    per_page = min(current_app.config["PAGE_SIZE"], 200)
    health = token_health_service.token_health(page, per_page)
    lang = _lang()
    return render_template("platform/tokens.html", health=health, page=page, pages=max(1, -(-health["total"] // per_page)),
                           refresh_text=lambda result: token_health_service.result_text(result or {}, lang))


def _lang():
    locale = get_locale()
    return locale.language if locale else "zh"
