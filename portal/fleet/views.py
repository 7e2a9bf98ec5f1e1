"""Views of fleet releases (staff only): list, start, progress (live), status JSON, CSV report, controls."""

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.access import staff_required
from portal.errors import PortalError
from portal.fleet.forms import ControlForm, FleetForm
from portal.form_choices import as_choices
from portal.models import fleet as F
from portal.services import fleet, library
from portal.services.fleet import controls as fleet_controls
from portal.services.fleet import report as fleet_report
from portal.services.platform import tenant_choices
from portal.templating import format_dt

bp = Blueprint("fleet", __name__, template_folder="templates")

OPTION_FIELDS = ("canary_count", "canary_percent", "auto_submit", "auto_release", "gray_percentage",
                 "max_failure_rate", "max_concurrency", "privacy_api_not_use", "version_desc")


@bp.route("/")
@staff_required
def index():
    return render_template("fleet/index.html", releases=fleet_report.list_releases(), labels=fleet_report.labels())


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    form = FleetForm(template_id=request.args.get("template_id", type=int))
    templates = library.list_templates()
    form.template_id.choices = as_choices(library.template_choices(templates))
    form.tenant_ids.choices = as_choices(tenant_choices())
    if form.validate_on_submit():
        try:
            release = fleet.start_fleet_release(
                form.template_id.data, current_user, fleet_report.form_targets(form.data),
                {k: form.data[k] for k in OPTION_FIELDS}, form.user_version.data, form.user_desc.data)
        except PortalError as exc:
            form.mode.errors = [exc.message]
        else:
            flash(_("The fleet release started: this page follows it live."), "success")
            return redirect(url_for("fleet.show", release_id=release.id))
    status = 400 if request.method == "POST" else 200
    return render_template("fleet/new.html", form=form, has_templates=bool(templates)), status


def _state_arg():
    state = request.args.get("state")
    return state if state in F.TARGET_STATES else None


@bp.route("/<int:release_id>")
@staff_required
def show(release_id):
    release = fleet.get_release(release_id)
    page = max(1, request.args.get("page", 1, type=int))
    rows, total = fleet_report.targets_page(release, _state_arg(), page)
    progress = fleet_report.progress(release)
    return render_template("fleet/show.html", release=release, progress=progress, rows=rows,
                           total=total, page=page, pages=max(1, -(-total // 100)), state=_state_arg(),
                           chart=fleet_report.audit_chart(release), states=F.TARGET_STATES, control=ControlForm(),
                           labels=fleet_report.labels(), controls=fleet_report.controls(release, progress),
                           options=fleet_report.describe_options(release))


@bp.route("/<int:release_id>/status")
@staff_required
def status(release_id):
    """What the progress page's script redraws: state (code and words), counts, chart, controls, rows."""
    release = fleet.get_release(release_id)
    rows, total = fleet_report.targets_page(release, _state_arg(), max(1, request.args.get("page", 1, type=int)))
    progress = fleet_report.progress(release)
    finished = _("finished at %(when)s", when=format_dt(release.finished_at)) if release.finished_at else ""
    return jsonify(state=release.state, state_label=fleet_report.release_label(release.state), finished=finished,
                   stop_reason=release.stop_reason or "", active=release.is_active, **progress,
                   chart=fleet_report.audit_chart(release), controls=fleet_report.controls(release, progress),
                   rows=[fleet_report.describe_target(r) for r in rows], matching=total)


@bp.route("/<int:release_id>/report.csv")
@staff_required
def report(release_id):
    release = fleet.get_release(release_id)
    return Response(fleet_report.report_csv(release), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=fleet-release-{release.id}.csv"})


@bp.route("/<int:release_id>/<action>", methods=["POST"])
@staff_required
def control(release_id, action):
    actions = {"pause": fleet_controls.pause, "resume": fleet_controls.resume, "cancel": fleet_controls.cancel,
               "retry": fleet_controls.retry_failed}
    if action not in actions:
        abort(404)
    if not ControlForm().validate_on_submit():
        abort(400)
    try:
        actions[action](release_id, current_user)
    except PortalError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Done."), "success")
    return redirect(url_for("fleet.show", release_id=release_id))
