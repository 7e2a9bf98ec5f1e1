"""Views of the authorization blueprint (merchants)."""

import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal.accounts.access import merchant_required
from portal.action_limits import wechat_action
from portal.authorization.forms import StartForm
from portal.errors import PortalError
from portal.services import authorization as authorization_service

bp = Blueprint("authorization", __name__, template_folder="templates")


def _redirect_base():
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("authorization.index") + "callback"


@bp.route("/")
@merchant_required
def index():
    """The page with the buttons; no WeChat call until one is clicked (a pre-auth code per click)."""
    return render_template("authorization/index.html", form=StartForm(), error=None)


@bp.route("/start", methods=["POST"])
@wechat_action(per_miniprogram=False)
@merchant_required
def start():
    """A fresh pre-auth code, then WeChat's page (computer), its link (phone) or the link's QR code."""
    form = StartForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        links = authorization_service.start_authorization(current_user, current_user.tenant_id, _redirect_base(),
                                                          form.account_kind.data)
    except PortalError as exc:
        return render_template("authorization/index.html", form=form, error=exc.message), 502
    if form.target.data == "qr":
        qr = Markup(segno.make(links["mobile_url"], error="m").svg_inline(scale=4, dark="#1f2933", light="#ffffff"))
        return render_template("authorization/qr.html", links=links, qr=qr)
    return redirect(links["pc_url" if form.target.data == "pc" else "mobile_url"], 303)


@bp.route("/callback/<state>")
@merchant_required
def callback(state):
    """WeChat redirects here with `auth_code` after the administrator confirmed."""
    session = authorization_service.read_state(state, current_user)
    try:
        mp, warnings = authorization_service.complete_from_redirect(request.args.get("auth_code"), session,
                                                                    current_user)
    except PortalError as exc:
        flash(exc.message, "error")
        return redirect(url_for("dashboard.merchant"))
    flash(_("%(name)s is now authorized to the platform.", name=mp.display_name), "success")
    for warning in warnings:
        flash(warning, "warning")
    return redirect(url_for("dashboard.merchant"))
