"""A mini-program's parameters page: the effective ext values, domains and privacy guideline with where
each comes from (its tenant's settings or its own), and the form for its own values (the parts the
tenant's merchants may edit; staff all). Every lookup goes through the tenant (404 for others)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.releases.forms import AppParamsForm
from portal.releases.views import bp, load_mp, saved_or_error, submitted
from portal.services import app_params
from portal.services import tenant_settings as settings_service


@bp.route("/<int:mp_id>/params", methods=["GET", "POST"])
@login_required
def params_page(mp_id):
    mp = load_mp(mp_id)
    form = AppParamsForm(data=app_params.form_data(mp) if request.method == "GET" else None)
    settings, error = settings_service.get_settings(mp.tenant_id), None
    if form.validate_on_submit():
        error = saved_or_error(app_params.save_overrides, mp, current_user, submitted(form))
        if error is None:
            flash(_("Parameters saved. They apply to the next upload, domain change and audit."), "success")
            return redirect(url_for("releases.params_page", mp_id=mp.id))
    effective = app_params.effective(mp, settings)
    return render_template("releases/params.html", mp=mp, form=form, error=error, effective=effective,
                           checks=app_params.ext_checks(mp, effective), values=app_params.form_data(mp),
                           editable=settings_service.editable_parts(current_user, settings)), \
        400 if form.errors or error else 200
