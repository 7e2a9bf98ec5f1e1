"""Views of a mini-program's code management: overview, job status, upload code, experience QR, domains,
testers, privacy and the merchant's settings. Every lookup goes through the tenant (404 for others)."""

import re

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from portal.accounts.access import current_tenant_id, merchant_required
from portal.action_limits import wechat_action
from portal.errors import Forbidden, NotFound, PortalError
from portal.form_choices import as_choices
from portal.models import MiniProgram
from portal.releases.forms import (
    ConfirmForm,
    QRForm,
    ServerDomainForm,
    SettingsForm,
    TesterForm,
    UnbindForm,
    UploadForm,
    WebviewDomainForm,
)
from portal.services import activity_feed, authorizers, jobs, library, wechat_reads
from portal.services import code as code_service
from portal.services import tenant_settings as settings_service
from portal.services.code import app_params, domains, privacy, setup, testers

bp = Blueprint("releases", __name__, template_folder="templates")


def load_mp(mp_id):
    return MiniProgram.get_for_tenant(mp_id, current_tenant_id())


def act(mp, fn, success, endpoint, *args):
    """Run a service action; flash its outcome (the human WeChat text on failure) and go back to the page."""
    try:
        fn(mp, current_user, *args)
    except PortalError as exc:
        flash(exc.message, "error")
    else:
        flash(success, "success")
    return redirect(url_for(endpoint, mp_id=mp.id))


def tab_runs(mp, kind):
    """The jobs a tab shows above its form: its own kind only, the latest few (the overview lists them all),
    so the form the tab exists for stays in view."""
    return jobs.recent_runs(mp.id, 3, kinds=(kind,), tenant_id=current_tenant_id())


def started(mp, run, created, endpoint):
    flash(_("Started: the status below updates by itself.") if created
          else _("This job is already running."), "info")
    return redirect(url_for(endpoint, mp_id=mp.id, run=run.id))


@bp.route("/<int:mp_id>/")
@login_required
def overview(mp_id):
    mp, viewer = load_mp(mp_id), current_tenant_id()  # history: the viewer's tenant's only (staff: all)
    runs = jobs.recent_runs(mp.id, tenant_id=viewer)  # first: a job shown as ended has its outcome below
    try:
        checklist, checklist_error = setup.overview_checklist(mp), None
    except PortalError as exc:
        checklist, checklist_error = None, exc.message
    return render_template("releases/overview.html", mp=mp, versions=code_service.version_overview(mp, viewer),
                           checklist=checklist, checklist_error=checklist_error, recheck_form=ConfirmForm(),
                           runs=runs, timeline=activity_feed.for_miniprogram(mp.id, tenant_id=viewer),
                           permission_change=authorizers.latest_permission_change(mp.id))


@bp.route("/<int:mp_id>/jobs/<int:run_id>")
@login_required
def job_status(mp_id, run_id):
    mp = load_mp(mp_id)
    run = jobs.get_run(mp.id, run_id, tenant_id=current_tenant_id())
    if run is None:
        raise NotFound()
    return jsonify(jobs.describe(run, get_locale().language if get_locale() else "zh"))


@bp.route("/<int:mp_id>/code", methods=["GET", "POST"])
@wechat_action()
@login_required
def code(mp_id):
    mp = load_mp(mp_id)
    form = UploadForm()
    try:
        form.template_id.choices = as_choices(library.template_choices(code_service.templates()))
    except PortalError as exc:
        form.template_id.choices, error = [], exc.message
    else:
        error = None
    if form.validate_on_submit():
        try:
            run, created = code_service.request_commit(mp, current_user, form.template_id.data, form.user_version.data,
                                                   form.user_desc.data)
        except PortalError as exc:
            flash(exc.message, "error")
        else:
            return started(mp, run, created, "releases.code")
    runs = tab_runs(mp, "commit")  # first: a job shown as ended has its outcome in what is read next
    return render_template("releases/code.html", mp=mp, form=form, qr_form=QRForm(request.args), error=error,
                           commit=code_service.latest_commit(mp, current_tenant_id()), ext=code_service.build_ext_json(mp),
                           runs=runs), 400 if form.errors else 200


@bp.route("/<int:mp_id>/qrcode")
@wechat_action(methods=("GET",))
@login_required
def qrcode(mp_id):
    mp = load_mp(mp_id)
    try:
        image = code_service.experience_qr(mp, request.args.get("path", "").strip()[:256] or None)
    except PortalError as exc:
        return Response(exc.message, status=exc.status_code, mimetype="text/plain")
    return Response(image.content, mimetype=image.content_type, headers={"Cache-Control": "private, max-age=60"})


@bp.route("/<int:mp_id>/domains")
@login_required
def domains_page(mp_id):
    mp = load_mp(mp_id)
    try:
        current, error = domains.current_domains(mp), None
    except PortalError as exc:
        current, error = None, exc.message
    return render_domains(mp, current=current, error=error)


def render_domains(mp, current=None, error=None, server_form=None, webview_form=None):
    return render_template("releases/domains.html", mp=mp, current=current, error=error,
                           server_form=server_form or ServerDomainForm(),
                           webview_form=webview_form or WebviewDomainForm(),
                           changes=domains.changes_this_month(mp), monthly_changes=domains.MONTHLY_CHANGES)


def may_edit(mp, part):
    """:raise Forbidden: (a 403 page saying why) when staff keep `part` of this tenant for themselves."""
    settings_service.check_may_edit(current_user, settings_service.get_settings(mp.tenant_id), [part])


@bp.route("/<int:mp_id>/domains/server", methods=["POST"])
@wechat_action()
@login_required
def server_domains(mp_id):
    mp = load_mp(mp_id)
    may_edit(mp, "domains")
    form = ServerDomainForm()
    if not form.validate_on_submit():
        return render_domains(mp, server_form=form), 400
    try:
        hosts = {k: domains.parse_kind(k, getattr(form, k).data) for k in domains.SERVER_KINDS}
    except PortalError as exc:
        form.requestdomain.errors.append(exc.message)
        return render_domains(mp, server_form=form), 400
    return act(mp, domains.change_server_domains, _("Server domains saved."), "releases.domains_page",
               form.action.data, hosts)


@bp.route("/<int:mp_id>/domains/webview", methods=["POST"])
@wechat_action()
@login_required
def webview_domains(mp_id):
    mp = load_mp(mp_id)
    may_edit(mp, "domains")
    form = WebviewDomainForm()
    try:
        hosts = domains.parse_kind(domains.WEBVIEW, form.webviewdomain.data) if form.validate_on_submit() else None
    except PortalError as exc:
        form.webviewdomain.errors.append(exc.message)
        hosts = None
    if hosts is None:
        return render_domains(mp, webview_form=form), 400
    return act(mp, domains.change_webview_domains, _("Business domains saved."), "releases.domains_page",
               form.action.data, hosts)


@bp.route("/<int:mp_id>/domains/defaults", methods=["POST"])
@wechat_action()
@login_required
def default_domains(mp_id):
    mp = load_mp(mp_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return act(mp, app_params.set_domains, _("The mini-program’s domains are set."), "releases.domains_page")


@bp.route("/<int:mp_id>/testers")
@login_required
def testers_page(mp_id):
    mp = load_mp(mp_id)
    try:
        found, error = testers.list_testers(mp), None
    except PortalError as exc:
        found, error = {"rows": [], "as_of": None}, exc.message
    return render_template("releases/testers.html", mp=mp, rows=found["rows"], as_of=found["as_of"], error=error,
                           form=TesterForm(), unbind_form=UnbindForm())


@bp.route("/<int:mp_id>/testers/bind", methods=["POST"])
@wechat_action()
@login_required
def bind_tester(mp_id):
    mp = load_mp(mp_id)
    form = TesterForm()
    if not form.validate_on_submit():
        return render_template("releases/testers.html", mp=mp, rows=[], as_of=None, error=None, form=form,
                               unbind_form=UnbindForm()), 400
    return act(mp, testers.bind_tester, _("Tester bound. They can open the trial version now."),
               "releases.testers_page", form.wechatid.data)


@bp.route("/<int:mp_id>/testers/unbind", methods=["POST"])
@wechat_action()
@login_required
def unbind_tester(mp_id):
    mp = load_mp(mp_id)
    form = UnbindForm()
    if not form.validate_on_submit():
        abort(400)
    return act(mp, testers.unbind_tester, _("Tester removed."), "releases.testers_page", form.userstr.data)


@bp.route("/<int:mp_id>/privacy")
@login_required
def privacy_page(mp_id):
    mp = load_mp(mp_id)
    try:
        status, error = privacy.privacy_status(mp, app_params.effective_guideline(mp)), None
    except PortalError as exc:
        status, error = None, exc.message
    return render_template("releases/privacy.html", mp=mp, status=status, error=error, form=ConfirmForm())


@bp.route("/<int:mp_id>/privacy/apply", methods=["POST"])
@wechat_action()
@login_required
def apply_privacy(mp_id):
    mp = load_mp(mp_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return act(mp, privacy.apply_guideline, _("The privacy guideline was sent to WeChat."), "releases.privacy_page",
               app_params.effective_guideline(mp))


#: each tab with a "refresh from WeChat" button, and its page
REFRESHABLE = {"overview": "releases.overview", "domains": "releases.domains_page", "testers": "releases.testers_page",
               "privacy": "releases.privacy_page", "audit": "releases.audit", "release": "releases.release"}


@bp.route("/<int:mp_id>/refresh/<tab>", methods=["POST"])
@wechat_action()
@login_required
def refresh_from_wechat(mp_id, tab):
    mp = load_mp(mp_id)
    if tab not in REFRESHABLE or not ConfirmForm().validate_on_submit():
        abort(400)
    wechat_reads.refresh(mp, tab)
    return redirect(url_for(REFRESHABLE[tab], mp_id=mp.id))


@bp.route("/settings", methods=["GET", "POST"])
@merchant_required
def settings():
    return settings_page(current_user.tenant_id, "releases.settings", {})


def settings_page(tenant_id, endpoint, url_args, extra=None):
    """The settings form of a tenant (merchants: their own, the parts staff allow; staff: any, from the
    staff pages). Only the fields a POST carries are saved; a part the user may not edit gives a 403."""
    form = SettingsForm(data=settings_service.form_data(tenant_id) if request.method == "GET" else None)
    row, error = settings_service.get_settings(tenant_id), None
    if form.validate_on_submit():
        error = saved_or_error(settings_service.save_from_form, tenant_id, current_user, submitted(form))
        if error is None:
            flash(_("Settings saved. They apply to the next upload, domain change and audit."), "success")
            return redirect(url_for(endpoint, **url_args))
    return render_template("releases/settings.html", form=form, action=url_for(endpoint, **url_args), error=error,
                           editable=settings_service.editable_parts(current_user, row),
                           values=settings_service.form_data(tenant_id), **(extra or {})), \
        400 if form.errors or error else 200


def saved_or_error(save, *args):
    """None when `save(*args)` worked, else its human message; Forbidden goes on (the 403 page says why)."""
    try:
        save(*args)
    except Forbidden:
        raise
    except PortalError as exc:
        return exc.message
    return None


def submitted(form):
    """The form's values for the fields the request actually carried (a read-only part sends none)."""
    return {name: value for name, value in form.data.items() if name in request.form}


@bp.context_processor
def permission_helpers():
    def can_edit(mp, part):
        return part in settings_service.editable_parts(current_user, settings_service.get_settings(mp.tenant_id))

    return {"can_edit": can_edit}


@bp.app_template_filter("audit_reason")
def audit_reason(text):
    """WeChat's HTML-ish audit reason, safe: every part escaped, only its <br> kept as line breaks."""
    parts = re.split(r"<br\s*/?>", text or "", flags=re.IGNORECASE)
    return Markup("<br>").join(escape(re.sub(r"<[^>]*>", "", part)) for part in parts)


@bp.app_template_filter("job_message")
def job_message(run, lang):
    """A job's message in the reader's language."""
    return jobs.message_for(run, lang)
