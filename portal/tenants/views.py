"""Views of the tenants blueprint (staff only)."""

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.access import staff_required
from portal.errors import PortalError
from portal.services import accounts as accounts_service
from portal.services import platform as platform_service
from portal.services import tenants as tenants_service
from portal.tenants.forms import ActionForm, MerchantUserForm, TenantForm

bp = Blueprint("tenants", __name__, template_folder="templates")


def _fields(form):
    return {k: v for k, v in form.data.items() if k != "csrf_token"}


@bp.route("/")
@staff_required
def index():
    page = request.args.get("page", 1, type=int)
    search = request.args.get("q", "")[:100]
    pagination, rows = tenants_service.list_tenants(page, current_app.config["PAGE_SIZE"], search)
    return render_template("tenants/index.html", pagination=pagination, rows=rows, q=search)


@bp.route("/lookup")
@staff_required
def lookup():
    """Tenants whose name contains ?q= (at most 20), for the tenant filter's suggestions."""
    return jsonify(platform_service.find_tenants(request.args.get("q", "")))


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def create():
    form = TenantForm()
    if form.validate_on_submit():
        try:
            tenant = tenants_service.create_tenant(current_user, **_fields(form))
        except PortalError as exc:
            form.name.errors.append(exc.message)
        else:
            flash(_("Tenant %(name)s created.", name=tenant.name), "success")
            return redirect(url_for("tenants.detail", tenant_id=tenant.id))
    return render_template("tenants/form.html", form=form, tenant=None), (400 if form.errors else 200)


@bp.route("/<int:tenant_id>")
@staff_required
def detail(tenant_id):
    tenant = tenants_service.get_tenant(tenant_id)
    users, programs = tenants_service.tenant_detail(tenant)
    return render_template("tenants/detail.html", tenant=tenant, users=users, programs=programs,
                           action_form=ActionForm())


@bp.route("/<int:tenant_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(tenant_id):
    tenant = tenants_service.get_tenant(tenant_id)
    form = TenantForm(obj=tenant)
    if form.validate_on_submit():
        try:
            tenants_service.update_tenant(tenant, current_user, **_fields(form))
        except PortalError as exc:
            form.name.errors.append(exc.message)
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for("tenants.detail", tenant_id=tenant.id))
    return render_template("tenants/form.html", form=form, tenant=tenant), (400 if form.errors else 200)


@bp.route("/<int:tenant_id>/status", methods=["POST"])
@staff_required
def set_status(tenant_id):
    tenant = tenants_service.get_tenant(tenant_id)
    if ActionForm().validate_on_submit():
        suspend = request.form.get("suspend") == "1"
        tenants_service.set_tenant_status(tenant, current_user, suspend)
        flash(_("Tenant suspended.") if suspend else _("Tenant reactivated."), "success")
    return redirect(url_for("tenants.detail", tenant_id=tenant.id))


@bp.route("/<int:tenant_id>/users/new", methods=["GET", "POST"])
@staff_required
def create_user(tenant_id):
    tenant = tenants_service.get_tenant(tenant_id)
    form = MerchantUserForm()
    if form.validate_on_submit():
        password = form.password.data if form.mode.data == "password" else None
        try:
            user, token = accounts_service.create_merchant_user(
                tenant, form.email.data, current_user, name=form.name.data or None, password=password,
                ttl_hours=current_app.config["INVITATION_TTL_HOURS"])
        except PortalError as exc:
            form.email.errors.append(exc.message)
        else:
            return _user_created(tenant, user, token)
    return render_template("tenants/user_form.html", form=form, tenant=tenant), (400 if form.errors else 200)


def _user_created(tenant, user, token):
    if token is None:
        flash(_("User %(email)s created with the initial password.", email=user.email), "success")
        return redirect(url_for("tenants.detail", tenant_id=tenant.id))
    link = url_for("accounts.accept_invitation", token=token, _external=True)
    return render_template("tenants/invitation_link.html", tenant=tenant, user=user, link=link)


@bp.route("/<int:tenant_id>/users/<int:user_id>/reinvite", methods=["POST"])
@staff_required
def reinvite(tenant_id, user_id):
    tenant = tenants_service.get_tenant(tenant_id)
    user = tenants_service.tenant_user(tenant, user_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("tenants.detail", tenant_id=tenant.id))
    token = accounts_service.reinvite(user, current_user, current_app.config["INVITATION_TTL_HOURS"])
    return _user_created(tenant, user, token)


@bp.route("/<int:tenant_id>/users/<int:user_id>/enabled", methods=["POST"])
@staff_required
def set_user_enabled(tenant_id, user_id):
    tenant = tenants_service.get_tenant(tenant_id)
    if ActionForm().validate_on_submit():
        enabled = request.form.get("enabled") == "1"
        user = tenants_service.set_user_enabled(tenant, user_id, current_user, enabled)
        if enabled:
            flash(_("%(email)s can log in again.", email=user.email), "success")
        else:
            flash(_("%(email)s can no longer log in.", email=user.email), "success")
    return redirect(url_for("tenants.detail", tenant_id=tenant.id))
