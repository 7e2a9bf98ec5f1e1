"""Views of the registrations blueprint: start a fast registration (merchant for their tenant, staff for
any), list registrations with their state, follow one (the personal task's link and QR code)."""

import segno
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from portal.accounts.access import current_tenant_id
from portal.action_limits import wechat_action
from portal.errors import PortalError
from portal.form_choices import as_choices
from portal.registrations.forms import ActionForm, EnterpriseForm, PersonalForm
from portal.services import platform as platform_service
from portal.services import registrations as registrations_service

bp = Blueprint("registrations", __name__, template_folder="templates")
FORMS = {"enterprise": EnterpriseForm, "personal": PersonalForm}


@bp.app_template_filter("registration_failure")
def registration_failure(row):
    return registrations_service.describe_failure(row)


@bp.route("/")
@login_required
def index():
    if current_user.is_staff:
        rows = registrations_service.all_registrations()
    else:
        rows = [(row, current_user.tenant) for row in registrations_service.for_tenant(current_user.tenant_id)]
    return render_template("registrations/index.html", rows=rows)


@bp.route("/new/<kind>", methods=["GET", "POST"])
@wechat_action(per_miniprogram=False)
@login_required
def new(kind):
    if kind not in FORMS:
        abort(404)
    form = FORMS[kind]()
    form.tenant_id.choices = as_choices(platform_service.tenant_choices()) if current_user.is_staff else []
    error, status = None, 200
    if form.validate_on_submit():
        try:
            row = _start(kind, form)
        except PortalError as exc:
            error, status = exc.message, exc.status_code
        else:
            flash(_("The registration was sent to WeChat."), "success")
            return redirect(url_for("registrations.show", row_id=row.id))
    return render_template("registrations/new.html", kind=kind, form=form, error=error), 400 if form.errors else status


def _start(kind, form):
    tenant_id = form.tenant_id.data if current_user.is_staff else current_user.tenant_id
    phone = form.component_phone.data or ""
    if kind == "enterprise":
        return registrations_service.start_enterprise(
            current_user, tenant_id, form.name.data.strip(), form.code.data, form.code_type.data,
            form.legal_persona_wechat.data.strip(), form.legal_persona_name.data.strip(), phone)
    return registrations_service.start_personal(current_user, tenant_id, form.idname.data.strip(),
                                                form.wxuser.data.strip(), phone)


@bp.route("/<int:row_id>")
@login_required
def show(row_id):
    row = registrations_service.get(row_id, current_tenant_id())
    url = row.details.get("authorize_url") if row.is_personal and row.is_open else None
    qr = Markup(segno.make(url, error="m").svg_inline(scale=4, dark="#1f2933", light="#ffffff")) if url else None
    return render_template("registrations/show.html", row=row, authorize_url=url, qr=qr, form=ActionForm())


@bp.route("/<int:row_id>/refresh", methods=["POST"])
@wechat_action(per_miniprogram=False)
@login_required
def refresh(row_id):
    registrations_service.get(row_id, current_tenant_id())  # another tenant's: 404
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        flash(registrations_service.refresh(row_id, current_tenant_id()), "info")
    except PortalError as exc:
        flash(exc.message, "error")
    return redirect(url_for("registrations.show", row_id=row_id))
