"""Views of audits and releases: submit (a job), refresh, withdraw, speed up, quota; release (a job),
roll back, gray release and visit status."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.accounts.access import current_tenant_id
from portal.action_limits import wechat_action
from portal.errors import PortalError
from portal.releases.forms import (
    ConfirmForm,
    GrayForm,
    RevertForm,
    SubmitAuditForm,
    VisitForm,
    fill_item_choices,
    form_to_submission,
)
from portal.releases.views import act, bp, load_mp, started, tab_runs
from portal.services import code as code_service


def oldest(*times):
    """The oldest of the times a page's WeChat answers are from (None for those it could not read)."""
    return min((t for t in times if t is not None), default=None)


def defaults_for(mp):
    """(pages, categories, pre-filled items) for the submit form; empty lists when WeChat cannot say."""
    try:
        return code_service.submit_defaults(mp), None
    except PortalError as exc:
        return {"pages": [], "categories": [], "items": []}, exc.message


def _audit_page(mp, form, status=200):
    runs = tab_runs(mp, "submit_audit")  # first: a job shown as ended has its outcome in what is read next
    defaults, error = defaults_for(mp)
    fill_item_choices(form, defaults)
    history = code_service.audits_of(mp, tenant_id=current_tenant_id())
    quota = _quota(mp)
    return render_template("releases/audit.html", mp=mp, form=form, error=error, history=history,
                           as_of=oldest(defaults.get("as_of"), quota and quota["as_of"]),
                           open_audit=code_service.open_audit(mp), quota=quota, limits=code_service.undo_limits(mp),
                           can_feedback=bool(history) and history[0].status == 1, confirm=ConfirmForm(),
                           runs=runs), status


def _quota(mp):
    try:
        return code_service.quota(mp)
    except PortalError:
        return None


@bp.route("/<int:mp_id>/audit", methods=["GET", "POST"])
@wechat_action()
@login_required
def audit(mp_id):
    mp = load_mp(mp_id)
    form = SubmitAuditForm()
    if not form.validate_on_submit():
        return _audit_page(mp, form, 400 if form.errors else 200)
    try:
        run, created = code_service.request_submit(mp, current_user, form_to_submission(form.data, defaults_for(mp)[0]))
    except PortalError as exc:
        flash(exc.message, "error")
        return _audit_page(mp, form, exc.status_code if exc.status_code < 500 else 502)
    return started(mp, run, created, "releases.audit")


@bp.route("/<int:mp_id>/audit/refresh", methods=["POST"])
@wechat_action()
@login_required
def refresh_latest_audit(mp_id):
    mp = load_mp(mp_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return act(mp, code_service.refresh_latest, _("Audit status updated from WeChat."), "releases.audit")


@bp.route("/<int:mp_id>/audits/<int:audit_id>/refresh", methods=["POST"])
@wechat_action()
@login_required
def refresh_audit(mp_id, audit_id):
    mp = load_mp(mp_id)
    row = code_service.audit_of(mp, audit_id, current_tenant_id())
    if row is None or not ConfirmForm().validate_on_submit():
        abort(400)
    return act(mp, lambda m, u: code_service.refresh_one(m, row, u), _("Audit status updated from WeChat."),
               "releases.audit")


@bp.route("/<int:mp_id>/audit/undo", methods=["POST"])
@wechat_action()
@login_required
def undo_audit(mp_id):
    mp = load_mp(mp_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return act(mp, code_service.undo_audit, _("The audit was withdrawn."), "releases.audit")


@bp.route("/<int:mp_id>/audit/speedup", methods=["POST"])
@wechat_action()
@login_required
def speedup_audit(mp_id):
    mp = load_mp(mp_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return act(mp, code_service.speedup_audit, _("WeChat was asked to speed up the audit."), "releases.audit")


def _release_page(mp, gray_form=None, revert_form=None, status=200):
    runs = tab_runs(mp, "release")  # first: a job shown as ended has its outcome in what is read next
    try:
        state, error = code_service.release_state(mp), None
    except PortalError as exc:
        state, error = None, exc.message
    try:
        releasable, why_not = code_service.releasable_audit(mp), None
    except PortalError as exc:
        releasable, why_not = None, exc.message
    versions = code_service.version_overview(mp, current_tenant_id())
    return render_template("releases/release.html", mp=mp, state=state, error=error, releasable=releasable,
                           why_not=why_not, confirm=ConfirmForm(), gray_form=gray_form or GrayForm(),
                           revert_form=revert_form or RevertForm(), visit_form=VisitForm(),
                           as_of=oldest(state and state["as_of"], versions["as_of"]), versions=versions,
                           runs=runs), status


@bp.route("/<int:mp_id>/release", methods=["GET", "POST"])
@wechat_action()
@login_required
def release(mp_id):
    mp = load_mp(mp_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _release_page(mp)
    try:
        run, created = code_service.request_release(mp, current_user)
    except PortalError as exc:
        flash(exc.message, "error")
        return redirect(url_for("releases.release", mp_id=mp.id))
    return started(mp, run, created, "releases.release")


@bp.route("/<int:mp_id>/release/revert", methods=["POST"])
@wechat_action()
@login_required
def revert_release(mp_id):
    mp = load_mp(mp_id)
    form = RevertForm()
    if not form.validate_on_submit():
        return _release_page(mp, revert_form=form, status=400)
    return act(mp, code_service.revert_release, _("The previous version is live again."), "releases.release",
               form.app_version.data)


@bp.route("/<int:mp_id>/release/gray", methods=["POST"])
@wechat_action()
@login_required
def gray_release(mp_id):
    mp = load_mp(mp_id)
    form = GrayForm()
    if not form.validate_on_submit():
        return _release_page(mp, gray_form=form, status=400)
    return act(mp, code_service.gray_release, _("Gray release started."), "releases.release", form.percentage.data,
               form.debuger_first.data, form.experiencer_first.data)


@bp.route("/<int:mp_id>/release/gray/revert", methods=["POST"])
@wechat_action()
@login_required
def revert_gray_release(mp_id):
    mp = load_mp(mp_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return act(mp, code_service.revert_gray_release, _("Gray release cancelled."), "releases.release")


@bp.route("/<int:mp_id>/release/visit", methods=["POST"])
@wechat_action()
@login_required
def visit_status(mp_id):
    mp = load_mp(mp_id)
    form = VisitForm()
    if not form.validate_on_submit():
        abort(400)
    return act(mp, code_service.change_visit_status, _("Visit status changed."), "releases.release", form.action.data)
