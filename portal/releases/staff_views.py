"""Staff pages of code management: every mini-program across tenants (filters, sorting, paging), the
WeChat call log, and any tenant's code-management settings with what its merchants may edit."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.access import staff_required
from portal.models.miniprogram import AUTH_STATES
from portal.releases.forms import PermissionsForm
from portal.releases.views import settings_page
from portal.services import calllog, releases
from portal.services import tenant_settings as settings_service
from portal.services.platform import tenant_filter

staff_bp = Blueprint("releases_staff", __name__, template_folder="templates")


def _page():
    return max(1, request.args.get("page", 1, type=int))


@staff_bp.route("/")
@staff_required
def index():
    per_page = min(current_app.config["PAGE_SIZE"], 200)
    args = {"tenant": request.args.get("tenant", type=int),
            "tenant_name": request.args.get("tenant_name", "").strip()[:64] or None,
            "state": request.args.get("state") if request.args.get("state") in AUTH_STATES else None,
            "audit": request.args.get("audit", type=int) if request.args.get("audit", "") in "01234" else None,
            "released": request.args.get("released", "")[:64] or None,
            "template": request.args.get("template", type=int),
            "sort": request.args.get("sort") if request.args.get("sort") in releases.SORTS else "authorized",
            "dir": "asc" if request.args.get("dir") == "asc" else "desc"}
    items, total = releases.list_for_staff(_page(), per_page, args, args["sort"], args["dir"] == "desc")
    return render_template("releases/staff_index.html", items=items, total=total, page=_page(),
                           pages=max(1, -(-total // per_page)), args=args, tenants=tenant_filter(args["tenant"]),
                           states=AUTH_STATES, live=releases.released_versions())


@staff_bp.route("/calls")
@staff_required
def calls():
    filters = {"appid": request.args.get("appid", "").strip()[:45] or None,
               "api": request.args.get("api", "").strip()[:64] or None,
               "errors": request.args.get("errors") == "1"}
    rows, total = calllog.recent_calls(filters["appid"], filters["api"], filters["errors"], _page(), 100)
    return render_template("releases/calls.html", rows=rows, total=total, page=_page(),
                           pages=max(1, -(-total // 100)), filters=filters)


def _tenant(tenant_id):
    from portal.errors import NotFound
    from portal.extensions import db
    from portal.models import Tenant

    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound()
    return tenant


@staff_bp.route("/tenants/<int:tenant_id>/settings", methods=["GET", "POST"])
@staff_required
def tenant_settings(tenant_id):
    tenant = _tenant(tenant_id)
    row = settings_service.get_settings(tenant_id)
    permissions = PermissionsForm(data={part: row.merchant_may_edit(part) for part in settings_service.PARTS})
    return settings_page(tenant_id, "releases_staff.tenant_settings", {"tenant_id": tenant_id},
                         {"tenant": tenant, "permissions_form": permissions})


@staff_bp.route("/tenants/<int:tenant_id>/permissions", methods=["POST"])
@staff_required
def tenant_permissions(tenant_id):
    _tenant(tenant_id)
    form = PermissionsForm()
    if not form.validate_on_submit():
        abort(400)
    settings_service.save_permissions(tenant_id, current_user,
                                      {part for part in settings_service.PARTS if form[part].data})
    flash(_("Saved: the tenant’s merchants now see what they may edit."), "success")
    return redirect(url_for("releases_staff.tenant_settings", tenant_id=tenant_id))
