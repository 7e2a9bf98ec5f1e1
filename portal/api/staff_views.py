"""Staff pages of the token service API's keys: list (with last use and use count), create (the key is shown
once, on the answer to the form, never stored or flashed), revoke."""

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.access import staff_required
from portal.api.forms import ApiKeyForm, RevokeForm
from portal.errors import PortalError
from portal.form_choices import as_choices
from portal.services import platform as platform_service
from portal.services import token_api

staff_bp = Blueprint("api_keys", __name__, template_folder="templates")


def _form():
    form = ApiKeyForm()
    form.tenant_ids.choices = as_choices(platform_service.tenant_choices())
    return form


@staff_bp.route("/")
@staff_required
def index():
    return render_template("api_keys/index.html", keys=token_api.list_keys(), form=_form(), revoke_form=RevokeForm())


@staff_bp.route("/", methods=["POST"])
@staff_required
def create():
    form, status = _form(), 400
    if form.validate_on_submit():
        try:
            key, raw_key = token_api.create_key(form.name.data, current_user, form.tenant_ids.data,
                                                form.all_tenants.data)
        except PortalError as exc:
            flash(exc.message, "error")
            status = exc.status_code
        else:
            response = make_response(render_template("api_keys/created.html", key=key, raw_key=raw_key))
            response.headers["Cache-Control"] = "no-store"  # the one page that holds the key
            return response
    return render_template("api_keys/index.html", keys=token_api.list_keys(), form=form,
                           revoke_form=RevokeForm()), status


@staff_bp.route("/<int:key_id>/revoke", methods=["POST"])
@staff_required
def revoke(key_id):
    if RevokeForm().validate_on_submit():
        key = token_api.revoke_key(key_id, current_user)
        flash(_("The key %(name)s is revoked: calls with it are refused from now on.", name=key.name), "success")
    return redirect(url_for("api_keys.index"))
