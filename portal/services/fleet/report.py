"""What the fleet pages show: releases, counts per state, a filtered page of targets, audit outcomes and
durations, the controls that apply, the options in words, and the CSV report (in the same words as the
page). Every function runs a fixed number of queries whatever the fleet size."""

import csv
import io
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Audit, FleetRelease, FleetTarget, MiniProgram, Tenant
from portal.models import fleet as F
from portal.models.audit import AUDIT_APPROVED, AUDIT_DELAYED, AUDIT_IN_REVIEW, AUDIT_REJECTED
from portal.services.fleet.rules import settled_states
from portal.timeutil import in_zone

DURATION_BUCKETS = ((3600, "< 1 h"), (6 * 3600, "1–6 h"), (24 * 3600, "6–24 h"), (72 * 3600, "1–3 d"), (None, "> 3 d"))


TARGET_LABELS = {
    F.QUEUED: _l("Queued"), F.COMMITTING: _l("Uploading"), F.COMMITTED: _l("Uploaded"), F.PRIVACY: _l("Privacy scan"),
    F.SUBMITTING: _l("Submitting"), F.IN_AUDIT: _l("In audit"), F.DELAYED: _l("Audit delayed"),
    F.APPROVED: _l("Approved"), F.RELEASING: _l("Releasing"), F.RELEASED: _l("Released"), F.REJECTED: _l("Rejected"),
    F.FAILED: _l("Failed"), F.SKIPPED: _l("Skipped"), F.CANCELLED: _l("Cancelled")}
STEP_LABELS = {"commit": _l("Upload"), "privacy": _l("Privacy guideline"), "submit": _l("Submit for audit"),
               "release": _l("Release")}
OUTCOME_LABELS = {"approved": _l("Approved"), "rejected": _l("Rejected"), "delayed": _l("Audit delayed"),
                  "in_review": _l("In review")}


def release_labels():
    return {F.RUNNING: _("Running"), F.PAUSED: _("Paused"), F.CANCELLING: _("Cancelling"),
            F.CANCELLED_RELEASE: _("Cancelled"), F.FINISHED: pgettext("fleet release", "Finished")}


def labels():
    """Every state, step and outcome name in the reader's language (for the page and its script)."""
    return {"targets": {k: str(v) for k, v in TARGET_LABELS.items()},
            "release": release_labels(),
            "steps": {k: str(v) for k, v in STEP_LABELS.items()},
            "outcomes": {k: str(v) for k, v in OUTCOME_LABELS.items()}}


def release_label(state):
    return release_labels().get(state, state)


def controls(release, progress):
    """The controls that apply now: pause a running release, resume a paused one, cancel either, and retry
    its failed apps while running, paused or finished (staff fixed the cause); nothing while it cancels or
    once cancelled."""
    actions = {F.RUNNING: ["pause", "cancel"], F.PAUSED: ["resume", "cancel"]}.get(release.state, [])
    if release.state in (F.RUNNING, F.PAUSED, F.FINISHED) and progress["counts"].get(F.FAILED):
        actions.append("retry")
    return actions


def describe_options(release):
    """[(label, value in words)] of how the targets were chosen and the options the release ran with."""
    opts, spec = release.get_options(), release.get_targeting()
    yes, no = _("yes"), _("no")
    mode = spec.get("mode", "all")
    targets = {"all": _("All authorized mini-programs"),
               "tenants": _("Tenants %(ids)s", ids=", ".join(str(i) for i in spec.get("tenant_ids") or [])),
               "version": _("Mini-programs on released version %(v)s", v=spec.get("released_version") or "—"),
               "list": _("%(n)d hand-picked mini-programs", n=len(spec.get("miniprogram_ids") or []))}
    canary = _("first %(n)d mini-programs", n=opts["canary_count"]) if opts.get("canary_count") else \
        _("first %(n)d%%", n=opts["canary_percent"]) if opts.get("canary_percent") else _("none")
    rows = [(_("Targets"), targets.get(mode, mode)), (_("Canary"), canary),
            (_("Submit for audit after the upload"), yes if opts.get("auto_submit") else no),
            (_("Release when approved"), yes if opts.get("auto_release") else no),
            (_("Gray release"), f"{opts['gray_percentage']}%" if opts.get("gray_percentage") else _("everyone")),
            (_("Stop when more than this percentage fail"), f"{opts.get('max_failure_rate', 100)}%"),
            (_("Mini-programs worked on at once"), str(opts.get("max_concurrency", ""))),
            (_("The code does not call the location APIs WeChat found undeclared (privacy_api_not_use)"),
             yes if opts.get("privacy_api_not_use") else no)]
    if opts.get("version_desc"):
        rows.append((_("Note for the reviewers (test account etc.)"), opts["version_desc"]))
    return rows


def list_releases(limit=100):
    # the list shows each release's creator: the users come in the same statement
    return db.session.scalars(select(FleetRelease).options(joinedload(FleetRelease.creator))
                              .order_by(FleetRelease.id.desc()).limit(limit)).all()


def progress(release):
    """{"counts": {state: n}, "total", "settled", "percent"} in one query."""
    counts = dict(db.session.execute(select(FleetTarget.state, func.count()).where(
        FleetTarget.release_id == release.id).group_by(FleetTarget.state)).all())
    total = sum(counts.values())
    settled = sum(n for s, n in counts.items() if s in settled_states(release.get_options()))
    return {"counts": {s: counts.get(s, 0) for s in F.TARGET_STATES}, "total": total, "settled": settled,
            "percent": int(settled * 100 / total) if total else 100}


def _targets_query(release, state=None):
    query = (select(FleetTarget, MiniProgram.nick_name, Tenant.name)
             .join(MiniProgram, MiniProgram.id == FleetTarget.miniprogram_id)
             .outerjoin(Tenant, Tenant.id == FleetTarget.tenant_id)
             .where(FleetTarget.release_id == release.id))
    if state in F.TARGET_STATES:
        query = query.where(FleetTarget.state == state)
    return query


def targets_page(release, state=None, page=1, per_page=100):
    """A page of targets (with app and tenant names) and the total, filtered by state."""
    query = _targets_query(release, state)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.execute(query.order_by(FleetTarget.id).limit(per_page).offset((page - 1) * per_page)).all()
    return [{"target": t, "name": name or t.appid, "tenant": tenant} for t, name, tenant in rows], total


def describe_target(row):
    """One target for the page's script and the CSV: codes, and the same words the page shows."""
    t = row["target"]
    return {"id": t.id, "appid": t.appid, "name": row["name"], "tenant": row["tenant"] or "", "state": t.state,
            "state_label": str(TARGET_LABELS.get(t.state, t.state)), "step": t.failed_step or "",
            "step_label": str(STEP_LABELS.get(t.failed_step, t.failed_step or "")), "errcode": t.errcode,
            "reason": t.reason or "", "auditid": t.auditid or "", "canary": t.is_canary}


def audit_chart(release):
    """Audit outcomes (approved, rejected, delayed, in review) and a histogram of audit durations."""
    rows = db.session.execute(select(Audit.status, Audit.create_time, Audit.auditresult_time).join(
        FleetTarget, (FleetTarget.appid == Audit.appid) & (FleetTarget.auditid == Audit.auditid)).where(
        FleetTarget.release_id == release.id)).all()
    outcomes = {"approved": 0, "rejected": 0, "delayed": 0, "in_review": 0}
    names = {AUDIT_APPROVED: "approved", AUDIT_REJECTED: "rejected", AUDIT_DELAYED: "delayed",
             AUDIT_IN_REVIEW: "in_review"}
    buckets = [[label, 0] for _limit, label in DURATION_BUCKETS]
    for status, created, decided in rows:
        if status in names:
            outcomes[names[status]] += 1
        if decided and created and status in (AUDIT_APPROVED, AUDIT_REJECTED):
            seconds = (decided - created).total_seconds()
            index = next(i for i, (limit, _label) in enumerate(DURATION_BUCKETS) if limit is None or seconds < limit)
            buckets[index][1] += 1
    return {"outcomes": outcomes, "durations": buckets,
            "max": max([1, *outcomes.values(), *(n for _label, n in buckets)])}


# OWASP's CSV injection advice: a spreadsheet runs a cell starting with one of these as a formula, so
# such a cell gets a leading single quote. Merchants choose the names (mini-programs, tenants) and WeChat
# writes the reasons, so none of them is trusted. Plain numbers (an errcode of -1) stay numbers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def spreadsheet_safe(value):
    """`value` as a CSV cell that no spreadsheet program evaluates."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(value):
        return "'" + value
    return value


CSV_COLUMNS = ("appid", "name", "tenant", "state", "step", "errcode", "reason", "auditid", "canary")
CSV_VALUES = {"state": "state_label", "step": "step_label"}  # the page's words, not the codes
CSV_TIMES = ("submitted_at", "audit_result_at", "finished_at")  # headed with their zone: "finished_at (Asia/Shanghai)"


def report_csv(release, zone):
    """The per-app results as CSV text (UTF-8 with BOM so spreadsheet programs read Chinese right), states
    and steps in the reader's words like the page; the header keeps stable column names. Times are in `zone`
    (the reader's tzinfo), which each time column's header names, as "2026-12-06 02:56:00"."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *(f"{c} ({zone})" for c in CSV_TIMES)])
    yes = _("yes")
    for t, name, tenant in db.session.execute(_targets_query(release).order_by(FleetTarget.id)).all():
        row = describe_target({"target": t, "name": name or t.appid, "tenant": tenant})
        row["canary"] = yes if row["canary"] else ""
        writer.writerow([spreadsheet_safe(row[CSV_VALUES.get(c, c)]) for c in CSV_COLUMNS]
                        + [_csv_time(getattr(t, c), zone) for c in CSV_TIMES])
    return out.getvalue()


def _csv_time(when, zone):
    return in_zone(when, zone).strftime("%Y-%m-%d %H:%M:%S") if when else ""


def form_targets(data):
    """The targeting dict `start_fleet_release` takes, from the new-release form's fields."""
    spec = {"mode": data.get("mode") or "all"}
    if spec["mode"] == "tenants":
        spec["tenant_ids"] = [int(i) for i in data.get("tenant_ids") or []]
    elif spec["mode"] == "version":
        spec["released_version"] = (data.get("released_version") or "").strip()
    elif spec["mode"] == "list":
        words = [w for w in (data.get("miniprogram_ids") or "").replace(",", " ").split() if w]
        ids = {int(w) for w in words if w.isdigit()}
        appids = [w for w in words if not w.isdigit()]
        if appids:
            ids |= set(db.session.scalars(select(MiniProgram.id).where(MiniProgram.authorizer_appid.in_(appids))))
        spec["miniprogram_ids"] = sorted(ids)
    return spec
