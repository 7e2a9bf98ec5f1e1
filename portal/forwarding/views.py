"""Views of the push-forwarding blueprint (staff only): each validates a form, calls one service function,
then flashes and redirects or renders."""

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.accounts.access import staff_required
from portal.errors import PortalError
from portal.forwarding.forms import ANY_TENANT, ActionForm, RuleForm
from portal.models.forwarding import DELIVERY_STATES
from portal.services import forwarding
from portal.services import platform as platform_service

bp = Blueprint("forwarding", __name__, template_folder="templates")

STATUS_LABELS = {"pending": _l("Pending"), "delivered": _l("Delivered"), "dead": _l("Given up")}


@bp.route("/")
@staff_required
def index():
    return render_template("forwarding/rules.html", rules=forwarding.list_rules(), counts=forwarding.delivery_counts(),
                           masked=forwarding.masked, action=ActionForm())


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    form = RuleForm()
    form.tenant_id.choices = [(ANY_TENANT, _("Every tenant"))] + platform_service.tenant_choices()
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            rule, secret = forwarding.create_rule(form.name.data, form.url.data, form.kinds.data,
                                                  form.tenant_id.data or None, form.appid.data, current_user)
        except PortalError as exc:
            flash(exc.message, "error")
            status = exc.status_code
        else:
            return _show_secret(rule, secret)
    return render_template("forwarding/new.html", form=form), status


def _show_secret(rule, secret):
    """The one page that shows a secret, never cached."""
    response = make_response(render_template("forwarding/secret.html", rule=rule, secret=secret))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:rule_id>/enabled", methods=["POST"])
@staff_required
def set_enabled(rule_id):
    form = ActionForm()
    if form.validate_on_submit():
        rule = forwarding.set_enabled(rule_id, form.enabled.data == "1", current_user)
        flash(_("Rule “%(name)s” is on.", name=rule.name) if rule.enabled
              else _("Rule “%(name)s” is off: pushes arriving now are not forwarded, those already queued wait "
                     "until it is on again.", name=rule.name), "success")
    return redirect(url_for("forwarding.index"))


@bp.route("/<int:rule_id>/secret", methods=["POST"])
@staff_required
def rotate_secret(rule_id):
    if not ActionForm().validate_on_submit():
        return redirect(url_for("forwarding.index"))
    rule, secret = forwarding.rotate_secret(rule_id, current_user)
    return _show_secret(rule, secret)


@bp.route("/<int:rule_id>/test", methods=["POST"])
@staff_required
def test_push(rule_id):
    if ActionForm().validate_on_submit():
        result = forwarding.send_test_push(rule_id)
        if result["error"] is None:
            flash(_("Test push to “%(name)s” delivered: HTTP %(status)s in %(ms)d ms.", name=result["rule"],
                    status=result["status"], ms=result["elapsed_ms"]), "success")
        else:
            flash(_("Test push to “%(name)s” failed: %(error)s.", name=result["rule"], error=result["error"]),
                  "error")
    return redirect(url_for("forwarding.index"))


@bp.route("/deliveries")
@staff_required
def deliveries():
    page = max(1, request.args.get("page", 1, type=int))
    rule_id = request.args.get("rule", type=int)
    status = request.args.get("status") if request.args.get("status") in DELIVERY_STATES else None
    per_page = min(current_app.config["PAGE_SIZE"], 200)
    rows, total = forwarding.list_deliveries(rule_id, status, page, per_page)
    return render_template("forwarding/deliveries.html", rows=rows, total=total, page=page,
                           app_names=forwarding.app_names(d.appid for d in rows),
                           pages=max(1, -(-total // per_page)), rule_id=rule_id, status=status,
                           rules=forwarding.list_rules(), states=DELIVERY_STATES, labels=STATUS_LABELS,
                           action=ActionForm())


@bp.route("/deliveries/<int:delivery_id>/resend", methods=["POST"])
@staff_required
def resend(delivery_id):
    if ActionForm().validate_on_submit():
        try:
            forwarding.resend(delivery_id, current_user)
        except PortalError as exc:
            flash(exc.message, "error")
        else:
            flash(_("The push will be sent again."), "success")
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/staff/")
                    else url_for("forwarding.deliveries"))
