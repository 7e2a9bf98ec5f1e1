"""Fleet release: one template uploaded, submitted and released to many mini-programs, each with its own
parameters. This module starts a release and runs the coordinator (`tick`); the controls (pause, resume, cancel,
retry failed) live in `controls`, the per-app steps in `steps`, the progress queries in
`report`.

The coordinator is the only place that hands out work: under a per-release lock it moves in-audit
targets from the audit rows (which the push handler and the poller of `services.code.audit` keep current),
recovers targets whose worker died, applies the canary and failure-rate stops, and dispatches step jobs
up to `max_concurrency`, never more submissions than the platform's remaining monthly quota (85085).
Step jobs call `tick` when they finish (a job that uploaded an app's code goes on to submit it itself when
the release allows it, taking the quota unit in the database: `claim_submit`). An audit result push
wakes the releases of its template once it is committed (`wake_after_commit`), and a periodic job ticks
every active release, so audit results are picked up even when nothing else happens. A tick that finds the
lock busy marks the release dirty; the holder ticks again before leaving, so no wake-up is lost. A pass
costs a few indexed queries whatever the fleet's size: it reads the targets whose state changes (audits
decided, steps to hand out, steps dispatched long ago), never the whole fleet.
"""

import json
import logging
import math
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.models import Audit, FleetRelease, FleetTarget, LibraryTemplate, MiniProgram
from portal.models import fleet as F
from portal.models.audit import (
    AUDIT_APPROVED,
    AUDIT_DELAYED,
    AUDIT_IN_REVIEW,
    AUDIT_REJECTED,
    OPEN_AUDIT_STATUSES,
)
from portal.services import activity, background, tokens
from portal.services.fleet import leases, steps
from portal.services.fleet.rules import BACK, DEFAULTS, READY, retry_busy_db, settled_states
from portal.services.fleet.signals import (
    forget_active_releases,
    mark_dirty,
    request_tick,
    take_dirty,
    tick_in,
)
from portal.services.locks import LockBusy, named_lock
from portal.timeutil import utcnow

log = logging.getLogger("portal.fleet")
def get_release(release_id):
    row = db.session.get(FleetRelease, release_id)
    if row is None:
        raise NotFound()
    return row


# --- starting a release -----------------------------------------------------------------------------------

def resolve_targets(spec):
    """Mini-programs chosen by `spec`: {"mode": "all" | "tenants" | "version" | "list", "tenant_ids": [...],
    "released_version": "1.0.0", "miniprogram_ids": [...]}. A hand-picked list may hold unauthorized
    apps (they are skipped with a reason); the other modes take authorized apps only."""
    mode = spec.get("mode", "all")
    query = select(MiniProgram).order_by(MiniProgram.id)
    if mode == "list":
        return db.session.scalars(query.where(MiniProgram.id.in_([int(i) for i in spec.get("miniprogram_ids") or []]))).all()
    query = query.where(MiniProgram.auth_state == "authorized")
    if mode == "tenants":
        query = query.where(MiniProgram.tenant_id.in_([int(i) for i in spec.get("tenant_ids") or []]))
    elif mode == "version":
        live = select(func.max(Audit.id)).where(Audit.is_release.is_(True)).group_by(Audit.miniprogram_id)
        query = query.where(MiniProgram.id.in_(select(Audit.miniprogram_id).where(
            Audit.id.in_(live), Audit.user_version == spec.get("released_version"))))
    elif mode != "all":
        raise ValidationFailed(_("Unknown way of choosing mini-programs."))
    return db.session.scalars(query).all()


def _initial_skips(mps, template_id, user_version):
    """{mp_id: reason} for apps to skip from the start (two grouped queries for the whole fleet)."""
    ids = [mp.id for mp in mps]
    live = select(func.max(Audit.id)).where(Audit.is_release.is_(True), Audit.miniprogram_id.in_(ids)) \
        .group_by(Audit.miniprogram_id)
    same = set(db.session.scalars(select(Audit.miniprogram_id).where(
        Audit.id.in_(live), Audit.template_id == template_id, Audit.user_version == user_version)))
    open_ = set(db.session.scalars(select(Audit.miniprogram_id).where(
        Audit.miniprogram_id.in_(ids), Audit.status.in_(OPEN_AUDIT_STATUSES))))
    skips = {}
    for mp in mps:
        if not mp.is_authorized:
            skips[mp.id] = _("Not authorized to the platform.")
        elif mp.id in same:
            skips[mp.id] = _("Already on version %(v)s of this template.", v=user_version)
        elif mp.id in open_:
            skips[mp.id] = _("An audit is already open.")
    return skips


def _clean_options(options):
    opts = {**DEFAULTS, **{k: v for k, v in (options or {}).items() if k in DEFAULTS}}
    for key in ("gray_percentage", "max_failure_rate", "max_concurrency", "canary_count", "canary_percent"):
        opts[key] = int(opts[key] or 0)
    if not (0 <= opts["gray_percentage"] <= 100 and 0 <= opts["max_failure_rate"] <= 100
            and 1 <= opts["max_concurrency"] <= 500 and 0 <= opts["canary_percent"] <= 100 and opts["canary_count"] >= 0):
        raise ValidationFailed(_("An option is out of range."))
    return opts


def start_fleet_release(template_id, actor, targets, options=None, user_version=None, user_desc=None):
    """Create a fleet release of `template_id` to the mini-programs `targets` chooses (see `resolve_targets`)
    and start it. Returns the `FleetRelease`. :raise ValidationFailed: no target, bad options."""
    opts = _clean_options(options)
    template = db.session.scalar(select(LibraryTemplate).where(
        LibraryTemplate.template_id == int(template_id)))
    version = (user_version or (template.user_version if template else "") or "").strip()[:64]
    if not version:
        raise ValidationFailed(_("Give the version to upload, e.g. 1.2.0."))
    mps = resolve_targets(targets)
    if not mps:
        raise ValidationFailed(_("No mini-program matches these targets."))
    canary = opts["canary_count"] or math.ceil(len(mps) * opts["canary_percent"] / 100)
    release = FleetRelease(template_id=int(template_id), user_version=version, state=F.RUNNING,
                           user_desc=(user_desc or (template.user_desc if template else "") or "")[:255],
                           targeting=json.dumps(targets, ensure_ascii=False),
                           canary_passed=canary == 0, created_by=getattr(actor, "id", None))
    release.set_options(opts)
    db.session.add(release)
    db.session.flush()
    skips = _initial_skips(mps, release.template_id, version)
    rows = []
    for mp in mps:
        reason = skips.get(mp.id)
        rows.append({"release_id": release.id, "miniprogram_id": mp.id, "tenant_id": mp.tenant_id,
                     "appid": mp.authorizer_appid, "state": F.SKIPPED if reason else F.QUEUED, "reason": reason,
                     "is_canary": False, "attempts": 0, "retries": 0, "updated_at": utcnow(),
                     "finished_at": utcnow() if reason else None})
    for row in [r for r in rows if r["state"] == F.QUEUED][:canary]:
        row["is_canary"] = True
    db.session.execute(FleetTarget.__table__.insert(), rows)
    activity.record("fleet.start", actor=actor, detail=f"release {release.id}: template {template_id} "
                                                      f"v{version} to {len(rows)} mini-programs")
    db.session.commit()
    forget_active_releases()  # audit pushes to this process wake it from now on
    request_tick(release.id)
    return release


# --- the coordinator ------------------------------------------------------------------------------------

def tick(release_id, rechecks=True):
    """Advance a release once (see the module docstring); returns a small dict for the job result.
    `rechecks=False` (the tick a step job runs as it ends) leaves privacy-scan rechecks, lost workers and
    the scan for unauthorized apps to the other ticks, so steps do not keep handing out rechecks to each
    other while WeChat still scans."""
    result = {"release": release_id, "busy": True}
    for _round in range(50):
        try:
            with named_lock(f"fleet:{release_id}", ttl_ms=120_000, wait_seconds=0):
                take_dirty(release_id)
                result = retry_busy_db(_tick, release_id, rechecks)
        except LockBusy:
            mark_dirty(release_id)
            return result
        if not take_dirty(release_id):
            return result
        mark_dirty(release_id)  # give the flag back for the next round's own take
    return result


def _tick(release_id, rechecks=True):
    db.session.rollback()  # see what other workers committed
    release = db.session.get(FleetRelease, release_id)
    if release is None or not release.is_active:
        return {"release": release_id, "state": getattr(release, "state", None)}
    opts, now = release.get_options(), utcnow()
    _reconcile(release, now, rechecks)
    if rechecks:  # a step's own tick leaves lost workers to the periodic and requested ticks
        _recover_stale(release, now)
    # handing out steps moves targets from waiting to in flight, neither of them settled, so these counts
    # also tell _maybe_finish whether everything has settled
    counts, jobs = _counts(release), []
    if release.state == F.CANCELLING:
        _cancel_waiting(release, opts, now)
    elif release.state == F.RUNNING and not _stop_checks(release, opts):
        jobs = _dispatch(release, opts, now, sum(counts.get(s, 0) for s in F.IN_FLIGHT), rechecks)
    _maybe_finish(release, opts, now, counts)
    state = release.state
    db.session.commit()
    _enqueue_steps(jobs)
    return {"release": release_id, "state": state, "dispatched": len(jobs)}


def _reconcile(release, now, lost_too=True):
    """In-audit targets follow their audit row; unauthorized apps waiting for anything are skipped (with
    `lost_too`: that reads every waiting target, so only the periodic and requested ticks do it; a step of
    an unauthorized app skips it anyway)."""
    changed = select(FleetTarget, Audit).join(Audit, (Audit.appid == FleetTarget.appid)
                                               & (Audit.auditid == FleetTarget.auditid)).where(
        FleetTarget.release_id == release.id,
        ((FleetTarget.state == F.IN_AUDIT) & (Audit.status != AUDIT_IN_REVIEW))
        | ((FleetTarget.state == F.DELAYED) & (Audit.status != AUDIT_DELAYED)))
    for target, audit in db.session.execute(changed).all():
        if audit.status == AUDIT_APPROVED:
            target.state, target.audit_result_at = F.APPROVED, audit.auditresult_time or now
        elif audit.status == AUDIT_REJECTED:
            target.state, target.reason, target.failed_step = F.REJECTED, audit.reason, "audit"
            target.audit_result_at = target.finished_at = audit.auditresult_time or now
        elif audit.status == AUDIT_DELAYED:
            target.state, target.reason = F.DELAYED, audit.reason
        elif audit.status != AUDIT_IN_REVIEW:
            _fail(target, "audit", None, _("The audit was withdrawn."), now)
    if not lost_too:
        return
    lost = select(FleetTarget).join(MiniProgram, MiniProgram.id == FleetTarget.miniprogram_id).where(
        FleetTarget.release_id == release.id, MiniProgram.auth_state != "authorized",
        FleetTarget.state.not_in(F.FINAL + F.IN_FLIGHT))
    for target in db.session.scalars(lost):
        target.state, target.reason, target.finished_at = F.SKIPPED, _("Not authorized to the platform."), now


def _fail(target, step, errcode, reason, now):
    target.state, target.failed_step, target.errcode = F.FAILED, step, errcode
    target.reason, target.finished_at, target.step = reason, now, None


def _recover_stale(release, now):
    """Hand the step out again when its job holds no lease and no longer waits in the queue (its worker
    died, or the job ended without moving the target on), or in any case after FLEET_STEP_STALE_SECONDS.
    The step checks WeChat first when its remote call may have happened, and a job whose attempt number
    is stale does nothing, so a slow job found alive later cannot run the step twice."""
    stale = current_app.config.get("FLEET_STEP_STALE_SECONDS", 600)
    cutoff = now - timedelta(seconds=stale)
    # a step dispatched within the grace period counts as alive (leases.is_alive): only older ones are read
    recent = now - timedelta(seconds=min(stale, current_app.config.get("FLEET_STEP_GRACE_SECONDS", 30)))
    for target in db.session.scalars(select(FleetTarget).where(
            FleetTarget.release_id == release.id, FleetTarget.state.in_(F.IN_FLIGHT),
            FleetTarget.dispatched_at.is_(None) | (FleetTarget.dispatched_at < recent))):
        if target.dispatched_at is not None and target.dispatched_at >= cutoff and \
                leases.is_alive(target, now):
            continue
        log.warning("fleet target %s (%s) lost its step job in %s", target.id, target.appid, target.state)
        target.state = BACK[target.state]


def _counts(release, canary_only=False):
    query = select(FleetTarget.state, func.count()).where(FleetTarget.release_id == release.id)
    if canary_only:
        query = query.where(FleetTarget.is_canary.is_(True))
    return dict(db.session.execute(query.group_by(FleetTarget.state)).all())


def _failure_counts(release, opts, counts=None):
    counts = _counts(release) if counts is None else counts
    settled = sum(n for s, n in counts.items() if s in settled_states(opts))
    return [counts.get(F.FAILED, 0) + counts.get(F.REJECTED, 0), settled]


def _stop_checks(release, opts):
    """Pause the release when the canary or the failure rate says so; True if it stopped."""
    limit = opts.get("max_failure_rate", 100)
    if not release.canary_passed:
        counts = _counts(release, canary_only=True)
        if sum(n for s, n in counts.items() if s not in settled_states(opts)) == 0:
            failures, settled = _failure_counts(release, opts, counts)
            if settled and failures * 100 > limit * settled:
                release.state = F.PAUSED
                release.stop_reason = _("The canary failed: %(f)d of %(n)d failed or were rejected.", f=failures,
                                        n=settled)
                return True
            release.canary_passed = True
    if limit < 100:
        failures, settled = _failure_counts(release, opts)
        base_f, base_s = opts.get("baseline") or (0, 0)
        failures, settled = failures - base_f, settled - base_s
        if settled >= min(5, _total(release)) and settled and failures * 100 > limit * settled:
            release.state = F.PAUSED
            release.stop_reason = _("Stopped: %(f)d of %(n)d finished mini-programs failed or were rejected, more "
                                    "than %(p)d%%.", f=failures, n=settled, p=limit)
            return True
    return False


def _total(release):
    return db.session.scalar(select(func.count()).where(FleetTarget.release_id == release.id))


PRIORITY = ((F.APPROVED,), (F.COMMITTED, F.PRIVACY), (F.QUEUED,))  # finish apps before starting new ones


def _candidates(release, ready, now, slots):
    """Up to `slots` ready targets by PRIORITY and id (one indexed query per group, each reading only the
    rows it returns)."""
    query = select(FleetTarget).where(FleetTarget.release_id == release.id,
                                      (FleetTarget.not_before.is_(None)) | (FleetTarget.not_before <= now))
    if not release.canary_passed:
        query = query.where(FleetTarget.is_canary.is_(True))
    found = []
    for group in PRIORITY:
        states = [s for s in group if s in ready]
        if states and len(found) < slots:
            found += db.session.scalars(query.where(FleetTarget.state.in_(states))
                                        .order_by(FleetTarget.id).limit(slots - len(found))).all()
    return found


def take_quota(release_id):
    """One unit of the release's remaining submit quota, taken in the database (the coordinator and step
    jobs going on to submit take units at the same time); False when none is left."""
    return db.session.execute(update(FleetRelease).where(FleetRelease.id == release_id, FleetRelease.quota_rest > 0)
                              .values(quota_rest=FleetRelease.quota_rest - 1)
                              .execution_options(synchronize_session=False)).rowcount == 1


def _dispatch(release, opts, now, inflight, rechecks=True):
    """Hand out steps to ready targets up to max concurrency (releases first, then submissions within
    the quota, then uploads; privacy rechecks only if `rechecks`). Returns [(target id, attempt)] to
    enqueue after the commit."""
    slots = opts["max_concurrency"] - inflight
    ready = [s for s in READY if s not in settled_states(opts) and (rechecks or s != F.PRIVACY)]
    if slots <= 0 or not ready:
        return []
    candidates = _candidates(release, ready, now, slots)
    quota = steps.submit_quota(release, [t for t in candidates if READY[t.state] == F.SUBMITTING], now)
    jobs = []
    for target in candidates:
        if READY[target.state] == F.SUBMITTING:
            if quota <= 0 or not take_quota(release.id):
                continue
            quota -= 1
        target.state, target.attempts, target.dispatched_at = READY[target.state], target.attempts + 1, now
        target.not_before = None
        jobs.append((target.id, target.attempts))
    return jobs


def _enqueue_steps(jobs):
    from rq import Retry

    from portal.queueing import enqueue

    for target_id, attempt in jobs:
        enqueue("portal.jobs.fleet.fleet_step_job", target_id, attempt, queue="fleet",
                job_id=leases.step_job_id(target_id, attempt), retry=Retry(max=1, interval=[5]))


def _cancel_waiting(release, opts, now):
    db.session.execute(update(FleetTarget).where(
        FleetTarget.release_id == release.id, FleetTarget.state.not_in(F.IN_FLIGHT + settled_states(opts))
    ).values(state=F.CANCELLED, reason=_("Cancelled before this mini-program finished."), finished_at=now))


def _maybe_finish(release, opts, now, counts):
    if release.state not in (F.RUNNING, F.CANCELLING):
        return
    if release.state == F.CANCELLING and not any(counts.get(s) for s in F.IN_FLIGHT):
        _cancel_waiting(release, opts, now)
        release.state, release.finished_at = F.CANCELLED_RELEASE, now
    elif release.state == F.RUNNING and all(s in settled_states(opts) for s, n in counts.items() if n):
        release.state, release.finished_at = F.FINISHED, now


def active_release_ids():
    return db.session.scalars(select(FleetRelease.id).where(FleetRelease.state.in_((F.RUNNING, F.CANCELLING))))\
        .all()


# --- running one step ------------------------------------------------------------------------------------

def run_step(target_id, attempt):
    """Run the step the target is in, if `attempt` is still its current one (after an upload, the submit
    step too when `claim_submit` allows it); then tick its release.

    Whatever happens, the target leaves the step: it moves on, goes back to wait (transient errors, a
    database that stayed busy) or fails; only a database that cannot be written at all leaves it in flight,
    and then the coordinator sees its lease gone and hands the step out again."""
    with tokens.read_once():  # the app's token, read for its first call, serves the step's other calls
        while True:
            with leases.hold(target_id, attempt):
                result = steps.run_held(target_id, attempt)
            if result.get("skipped"):
                return result
            attempt = claim_submit(target_id, attempt, result) if result.get("may_submit") else None
            if attempt is None:
                break
    _tick_after(result["release"])
    if result.get("recheck_in") is not None:  # committed: the tick that falls due hands the recheck out
        tick_in(result["release"], result["recheck_in"])
    return result


def claim_submit(target_id, attempt, result):
    """Hand the target this job just uploaded (`attempt`) its submit step, when its release still runs, the
    target is past the canary gate and a unit of the quota read from queryquota within FLEET_QUOTA_TTL is
    left. Both rows change under those conditions in one transaction, so the coordinator handing out steps
    at the same time can take neither the step nor the quota unit twice. Returns the new attempt or None
    (the coordinator hands the submission out, after reading the quota again if need be)."""
    def claim():
        db.session.rollback()
        now, ttl = utcnow(), current_app.config.get("FLEET_QUOTA_TTL", 60)
        moved = db.session.execute(update(FleetTarget).where(
            FleetTarget.id == target_id, FleetTarget.attempts == attempt, FleetTarget.state == F.COMMITTED)
            .values(state=F.SUBMITTING, attempts=attempt + 1, dispatched_at=now, not_before=None)
            .execution_options(synchronize_session=False)).rowcount
        gates = [FleetRelease.id == result["release"], FleetRelease.state == F.RUNNING,
                 FleetRelease.quota_checked_at >= now - timedelta(seconds=ttl)]
        if not result["canary"]:
            gates.append(FleetRelease.canary_passed.is_(True))
        fresh = db.session.scalar(select(FleetRelease.id).where(*gates))
        if moved != 1 or fresh is None or not take_quota(result["release"]):
            db.session.rollback()
            return None
        db.session.commit()
        return attempt + 1

    return retry_busy_db(claim)


def _tick_after(release_id):
    """Tick the release without handing out privacy rechecks: in the worker's bookkeeping thread when it
    has one (the job ends at once), else now."""
    if not background.run_later(f"fleet-tick:{release_id}", _tick_now, release_id):
        _tick_now(release_id)


def _tick_now(release_id):
    """The tick of `_tick_after`; if it fails, a tick job does it."""
    try:
        tick(release_id, rechecks=False)
    except Exception:  # noqa: BLE001 - the step's own outcome is committed; the coordinator can wait a moment
        log.exception("fleet release %s: tick after a step failed; queued a tick", release_id)
        db.session.rollback()
        request_tick(release_id)
