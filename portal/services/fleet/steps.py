"""The per-app steps of a fleet release: upload (commit), privacy + submit for audit, release. Each is an
adapter of the step `services.code` runs for single-app jobs too (`commit.upload`, `audit.submit`,
`release.publish`), with the target's bookkeeping around it; each runs as one idempotent job that holds
the target's current `attempts` number, and a job whose number is stale does nothing, so a recovered
step never runs twice at once.

Before a remote call that must not happen twice, the step commits `step = "…_sent"` (`_mark_sent`); a
retry finding that mark lets the shared step ask WeChat first (getversioninfo, get_latest_auditstatus)
and adopt what already happened. Transient errors (network, -1, 45009) put the target back with an
exponential back-off, and 45009 also pauses every worker through the shared limiter; final errors fail
the target with the human text. The target's `retries` counts the transient errors of its current step
(FLEET_MAX_RETRIES per step): a step that succeeds sets it back to 0.

A job that uploaded an app's code goes on to submit it itself, under a new attempt number and lease, when
the release allows it right away (`claim_submit`); otherwise the coordinator hands the submission out.
While WeChat still scans an upload (61039) the target waits in "privacy" and a tick is queued for when it
is due to be checked again, a few seconds later (`privacy.scan_recheck_delay`), so its submission follows
the end of the scan closely without any worker waiting.
"""

import logging
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.errors import Conflict, PortalError
from portal.extensions import db
from portal.models import Audit, FleetRelease, FleetTarget, LibraryTemplate
from portal.models import fleet as F
from portal.services import wechat
from portal.services.code import audit as code_audit
from portal.services.code import commit as code_commit
from portal.services.code import privacy
from portal.services.code import release as code_release
from portal.services.code.commit import Attempt, latest_commit
from portal.services.fleet.limits import back_off_everyone, throttle
from portal.services.fleet.rules import BACK, STEP_OF, retry_busy_db
from portal.services.wechat import explain
from portal.timeutil import utcnow
from portal.wechat.errors import (
    AuditInProgress,
    AuthorizationLost,
    QuotaExhausted,
    RateLimited,
    WeChatError,
)
from portal.wechat.templates import TEMPLATE_STANDARD

log = logging.getLogger("portal.fleet.steps")


# --- quota ------------------------------------------------------------------------------------------------

def submit_quota(release, candidates, now):
    """How many submissions may start now: queryquota's `rest` (cached FLEET_QUOTA_TTL seconds on the
    release, minus submissions started since). 0 when WeChat cannot tell (we never guess upwards).

    A fresh reading also subtracts the submissions already handed out (by any running release) that have
    not reached WeChat yet: WeChat's `rest` cannot know them, and each holds a unit it may still use. They
    are counted before WeChat is asked, so one sent in between is subtracted twice (too few, never too many,
    until the next reading). The release pauses only when WeChat itself says nothing is left."""
    if not candidates:
        return 0
    ttl = current_app.config.get("FLEET_QUOTA_TTL", 60)
    if release.quota_checked_at is None or release.quota_checked_at < now - timedelta(seconds=ttl):
        pending = unsent_submissions()
        try:
            throttle(1)
            rest = wechat.api(candidates[0].miniprogram).audit.query_quota().rest
        except (WeChatError, Conflict) as exc:
            log.warning("fleet %s: queryquota failed: %s", release.id, exc)
            return 0
        release.quota_rest, release.quota_checked_at = rest - pending, now
        if rest <= 0:
            release.state = F.PAUSED
            release.stop_reason = _("The platform's monthly audit quota is used up (85085): resume next month or "
                                    "after WeChat raises it.")
    return max(0, release.quota_rest or 0)


def unsent_submissions():
    """Submit steps handed out, in any release that may still run them, whose submit_audit has not been sent
    (`step` is set to "submit_sent" just before the call)."""
    live = select(FleetRelease.id).where(FleetRelease.state.in_(F.ACTIVE_RELEASE))
    return db.session.scalar(select(func.count()).select_from(FleetTarget).where(
        FleetTarget.release_id.in_(live), FleetTarget.state == F.SUBMITTING,
        FleetTarget.step.is_(None) | (FleetTarget.step != "submit_sent"))) or 0


# --- running one step -------------------------------------------------------------------------------------

DONE = {F.COMMITTING: F.COMMITTED, F.SUBMITTING: F.IN_AUDIT, F.RELEASING: F.RELEASED}


def run_held(target_id, attempt):
    try:
        # a busy database (OperationalError) runs the whole step again: every step checks WeChat first
        # when its remote call may already have happened, so redoing it never calls WeChat twice
        return retry_busy_db(_run_once, target_id, attempt, tries=4)
    except OperationalError:
        log.warning("fleet target %s: database busy; the step goes back to wait", target_id)
        return retry_busy_db(_give_back, target_id, attempt)


@contextmanager
def _loaded_across_commits():
    """The step's rows stay loaded across its own commits instead of being read again after each: the
    target is this job's alone (its attempt number), and what the step reads of its release (template,
    version, options) and mini-program does not change under it."""
    session = db.session()
    kept, session.expire_on_commit = session.expire_on_commit, False
    try:
        yield
    finally:
        session.expire_on_commit = kept


def _run_once(target_id, attempt):
    db.session.rollback()  # see what other workers committed
    # the target, its release, its mini-program and the release's creator (whose language the step speaks) in
    # one round trip
    target, release = db.session.execute(
        select(FleetTarget, FleetRelease).join(FleetRelease, FleetRelease.id == FleetTarget.release_id)
        .where(FleetTarget.id == target_id)
        .options(joinedload(FleetTarget.miniprogram), joinedload(FleetRelease.creator))).first() or (None, None)
    if target is None or target.attempts != attempt or target.state not in F.IN_FLIGHT:
        return {"target": target_id, "skipped": True}
    state, may_submit = target.state, False
    lang = (release.creator.language if release.creator else None) or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(lang), _loaded_across_commits():
        try:
            {F.COMMITTING: commit, F.SUBMITTING: submit, F.RELEASING: release_app}[state](target, release)
            if target.state == DONE[state]:
                target.retries = 0  # FLEET_MAX_RETRIES counts the transient errors of one step
            may_submit = state == F.COMMITTING and target.state == F.COMMITTED and \
                bool(release.get_options().get("auto_submit"))
        except OperationalError:
            raise
        except TakenOver:
            db.session.rollback()
            log.warning("fleet target %s: step %s was handed to another job; this one stops", target_id, attempt)
            return {"target": target_id, "skipped": True}
        except Exception as exc:  # noqa: BLE001 - every failure ends on the target row, never in RQ
            db.session.rollback()
            part, exc = (exc.part, exc.__cause__) if isinstance(exc, InPart) else (STEP_OF[state], exc)
            _handle(db.session.get(FleetTarget, target_id), state, exc, lang, part)
        db.session.commit()
    recheck_in = max(0.0, (target.not_before - utcnow()).total_seconds()) \
        if target.state == F.PRIVACY and target.not_before is not None else None
    return {"target": target_id, "release": target.release_id, "state": target.state, "may_submit": may_submit,
            "canary": target.is_canary, "recheck_in": recheck_in}


def _give_back(target_id, attempt):
    db.session.rollback()
    target = db.session.get(FleetTarget, target_id)
    if target is None or target.attempts != attempt or target.state not in F.IN_FLIGHT:
        return {"target": target_id, "skipped": True}
    delay = current_app.config.get("FLEET_BACKOFF_SECONDS", 5)
    target.state, target.not_before = BACK[target.state], utcnow() + timedelta(seconds=delay)
    db.session.commit()
    return {"target": target_id, "release": target.release_id, "state": target.state}


def _handle(target, state, exc, lang, part):
    """Record a step's failure on its target: skipped, backed off for a retry, or failed in `part` (the
    step's name, or the part of it that failed, e.g. "privacy" within submit)."""
    now = utcnow()
    if target.attempts is None or target.state != state:
        return
    if state == F.SUBMITTING:
        _refund_quota(target)
    if isinstance(exc, AuthorizationLost) or (isinstance(exc, Conflict) and not target.miniprogram.is_authorized):
        target.state, target.reason, target.finished_at = F.SKIPPED, _("Not authorized to the platform."), now
    elif getattr(exc, "retryable", False) or isinstance(exc, RedisError):  # Redis restarting: wait, like WeChat
        target.retries += 1
        if target.retries > current_app.config.get("FLEET_MAX_RETRIES", 8):
            return _failed(target, exc, lang, now, part)
        if isinstance(exc, RateLimited):
            back_off_everyone(current_app.config.get("FLEET_RATE_LIMIT_PAUSE", 30))
        base = current_app.config.get("FLEET_BACKOFF_SECONDS", 5)
        target.state, target.errcode = BACK[state], getattr(exc, "errcode", None)
        longest = current_app.config.get("FLEET_BACKOFF_MAX_SECONDS", 300)
        target.not_before = now + timedelta(seconds=min(longest, base * 2 ** (target.retries - 1)))
    else:
        if not isinstance(exc, (WeChatError, PortalError)):
            log.exception("fleet target %s: %s failed unexpectedly", target.id, STEP_OF[state], exc_info=exc)
        _failed(target, exc, lang, now, part)


def _failed(target, exc, lang, now, part):
    if isinstance(exc, WeChatError):
        reason = explain(exc, lang)
    elif isinstance(exc, PortalError):
        reason = str(exc.message)  # lazy texts are rendered in the release creator's language
    else:
        reason = _("An unexpected error stopped this step. The platform staff were told.")
    target.state, target.errcode = F.FAILED, getattr(exc, "errcode", None)
    target.failed_step = part
    target.reason, target.finished_at, target.step = reason, now, None


def _refund_quota(target):
    """Give back the submission the coordinator counted when it dispatched this submit step, when the step
    ends without calling submit_audit (scan still running, skipped, failed before sending), atomically, since
    other steps update it too. The unit is in the current reading either way: taken from it, or, when the
    step was handed out before it, subtracted from it as not sent yet (`submit_quota`)."""
    if target.step == "submit_sent":
        return
    db.session.execute(update(FleetRelease).where(
        FleetRelease.id == target.release_id, FleetRelease.quota_rest.is_not(None))
        .values(quota_rest=FleetRelease.quota_rest + 1))


class TakenOver(Exception):
    """The coordinator handed this step to another job meanwhile (this one looked dead: no lease)."""


class InPart(Exception):  # noqa: N818 - a wrapper the runner unwraps, not an error of its own
    """The exception it wraps (its __cause__) happened in the named part of a step, which the target's
    failed_step then shows (the fleet page tells a privacy failure from a submit failure)."""

    def __init__(self, part):
        super().__init__(part)
        self.part = part


@contextmanager
def _part(name):
    """Name the part of a step that the block runs, for `InPart`. Database errors and a lost hand-out pass
    through as they are: the runner treats those itself."""
    try:
        yield
    except (OperationalError, TakenOver, privacy.ScanRunning):
        raise
    except Exception as exc:
        raise InPart(name) from exc


def _mark_sent(target, mark):
    """Commit `mark` before a remote call that must not happen twice, if the target is still this job's:
    its state and attempt number unchanged. A job that was paused so long that its lease ran out and the
    step was handed out again stops here instead of calling WeChat as well. :raise TakenOver:"""
    taken = db.session.execute(update(FleetTarget).where(
        FleetTarget.id == target.id, FleetTarget.attempts == target.attempts, FleetTarget.state == target.state)
        .values(step=mark))
    if taken.rowcount != 1:
        raise TakenOver(target.id)
    set_committed_value(target, "step", mark)
    db.session.commit()


# --- the shared steps of services/code, with the target's bookkeeping ---------------------------------------

def _attempt(target, release, mark):
    """The `Attempt` of a target's step: its mark is the target's `step`, committed by `_mark_sent` if the
    target is still this job's; the pace and the parts are the fleet's."""
    def mark_sent():
        _mark_sent(target, mark)
        throttle(1)  # just before the call, so a 45009 back-off that began meanwhile holds it back

    return Attempt(since=release.created_at, maybe_sent=target.step == mark, mark_sent=mark_sent, pace=throttle,
                   part=_part)


def _skip_for_open_audit(target):
    target.state, target.reason, target.finished_at = F.SKIPPED, _("An audit is already open."), utcnow()


def commit(target, release):
    """`upload` with the app's parameters checked against the library template's schema. The template is
    read from our library only: a fleet release starts from it, and asking WeChat's gettemplatelist for
    each app would spend calls outside the rate limiter."""
    mp = target.miniprogram
    wechat.api(mp)  # an app no longer authorized is skipped as such (Conflict), before anything else
    if code_audit.open_audit(mp) is not None:
        return _skip_for_open_audit(target)
    template = db.session.scalar(select(LibraryTemplate).where(LibraryTemplate.template_id == release.template_id))
    code_commit.upload(mp, release.template_id, release.user_version, release.user_desc,
                       standard=template is not None and template.template_type == TEMPLATE_STANDARD,
                       schema=template.schema() if template else {}, created_by=release.created_by,
                       attempt=_attempt(target, release, "commit_sent"))
    target.state, target.step, target.errcode = F.COMMITTED, None, None


def submit(target, release):
    """`audit.submit` (privacy scan, guideline, /wxa/submit_audit once); the target waits in "privacy"
    while WeChat still scans the upload, and gives its quota unit back when nothing was sent."""
    mp, opts = target.miniprogram, release.get_options()
    args = {"version_desc": opts.get("version_desc") or None,
            "privacy_api_not_use": True if opts.get("privacy_api_not_use") else None}
    try:
        audit, _adopted = code_audit.submit(mp, args, _attempt(target, release, "submit_sent"),
                                            submitted_by=release.created_by, user_version=release.user_version)
    except code_audit.AuditStillOpen:
        _skip_for_open_audit(target)
        return _refund_quota(target)
    except privacy.ScanRunning:  # 61039: WeChat still scans the upload; look again soon
        now, upload = utcnow(), latest_commit(mp)
        waited = (now - (upload.created_at if upload else now)).total_seconds()
        delay = privacy.scan_recheck_delay(waited, current_app.config.get("FLEET_PRIVACY_RECHECK_SECONDS", 5))
        target.state, target.not_before = F.PRIVACY, now + timedelta(seconds=delay)
        return _refund_quota(target)
    except (AuditInProgress, QuotaExhausted) as exc:
        return _submit_refused(target, release, exc)
    target.state, target.auditid, target.step, target.submitted_at = F.IN_AUDIT, audit.auditid, None, utcnow()
    target.errcode = None


def _submit_refused(target, release, exc):
    if isinstance(exc, AuditInProgress):
        target.state, target.step, target.finished_at = F.SKIPPED, None, utcnow()
        target.reason = _("An audit is already open.")
    else:  # QuotaExhausted: never fail an app for the platform's quota: wait for staff
        target.state, target.step, target.errcode = F.COMMITTED, None, exc.errcode
        # in the database, not on the release read when the step began: staff may have cancelled or paused
        # it since (the step does not hold the coordinator's lock), and their state stands
        db.session.execute(update(FleetRelease).where(FleetRelease.id == release.id)
                           .values(quota_rest=0).execution_options(synchronize_session=False))
        db.session.execute(update(FleetRelease).where(FleetRelease.id == release.id, FleetRelease.state == F.RUNNING)
                           .values(state=F.PAUSED,
                                   stop_reason=_("The platform's monthly audit quota is used up (85085): resume next "
                                                 "month or after WeChat raises it."))
                           .execution_options(synchronize_session=False))


def release_app(target, release):
    """`release.publish` of the target's audit (to a percentage of users when the release says so)."""
    audit = db.session.scalar(select(Audit).where(Audit.appid == target.appid, Audit.auditid == target.auditid))
    code_release.publish(target.miniprogram, audit, _attempt(target, release, "release_sent"),
                         user_version=release.user_version,
                         gray_percentage=release.get_options().get("gray_percentage") or None)
    target.state, target.step, target.finished_at, target.errcode = F.RELEASED, None, utcnow(), None
