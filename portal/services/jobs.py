"""Background jobs the UI follows: create a `JobRun` once per deterministic key, enqueue it, run its one
service step with retries, and recover runs whose worker died.

Enqueue: the run is inserted with `active_key = key`; the unique index turns a double click into the
existing run. Run: transient WeChat failures (network, 5xx, -1, 45009) are re-raised so RQ's `Retry`
applies (embedded mode retries in the thread); a final failure is written on the run with the human text
and the job returns normally. A step that cannot go on *yet* (WeChat still scans the upload) raises
`WaitFor`: the run stays active and its job is enqueued again after the delay (`queues.enqueue_in`), so
no worker is held while waiting and no failure is counted; a job that is no longer the run's own (an
older one of a run enqueued again since) does nothing. Recovery: a run still "running" after
`JOB_STALE_SECONDS` lost its worker; it is enqueued again under a new RQ id and its step decides whether
a remote call may already have happened (see `services.code.audit.submit`).
"""

import json
import logging
import time
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from rq import Retry, get_current_job
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.errors import PortalError
from portal.extensions import db
from portal.models import JobRun
from portal.models.activity import OUTCOME_FAILED, OUTCOME_OK
from portal.models.job_run import ACTIVE_STATES, JOB_DONE, JOB_FAILED, JOB_QUEUED, JOB_RETRYING, JOB_RUNNING
from portal.queueing import enqueue, enqueue_in, is_live, safe_job_id
from portal.services import activity
from portal.services.wechat import explain
from portal.timeutil import iso_utc, utcnow
from portal.wechat.errors import WeChatError

log = logging.getLogger("portal.jobs.runs")
DEFAULT_RETRY_INTERVALS = (10, 60, 300)


class WaitFor(Exception):  # noqa: N818 - an instruction to the runner, not an error
    """Raised by a step that cannot go on yet: run it again in `seconds`, showing `message` meanwhile."""

    def __init__(self, seconds, message, errcode=None):
        super().__init__(str(message))
        self.seconds, self.message, self.errcode = seconds, message, errcode


def _intervals():
    return list(current_app.config.get("JOB_RETRY_INTERVALS") or DEFAULT_RETRY_INTERVALS)


def start(kind, mp, actor, key, params, job_name, secret_params=None):
    """The active run for `key`, or a new one enqueued now as the job `job_name` (the dotted name of its
    entry point, e.g. "portal.jobs.releases.commit_job"). `secret_params` are kept sealed, never in the
    plain `params` (the step reads both through `run.get_params()`). Returns (run, created)."""
    run = JobRun(kind=kind, key=key, active_key=key, miniprogram_id=mp.id, tenant_id=mp.tenant_id,
                 actor_id=getattr(actor, "id", None), on_behalf=bool(actor is not None and actor.is_staff),
                 state=JOB_QUEUED, params=json.dumps(params, ensure_ascii=False))
    if secret_params:
        run.secret_params = json.dumps(secret_params, ensure_ascii=False)
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalar(select(JobRun).where(JobRun.active_key == key))
        if existing is not None:
            return existing, False
        raise
    _enqueue(run, job_name)
    return run, True


def _enqueue(run, job_name, delay=None):
    intervals = _intervals()
    # Deterministic per run and attempt; the creation time keeps ids unique across databases sharing a Redis.
    rq_id = f"{run.kind}-{run.miniprogram_id}-{run.id}-{run.attempts}-{run.created_at:%Y%m%d%H%M%S%f}"
    run.rq_job_id = rq_id
    db.session.commit()
    retry = Retry(max=len(intervals), interval=intervals)
    if delay is None:
        enqueue(job_name, run.id, queue="wechat", job_id=rq_id, retry=retry)
    else:
        enqueue_in(delay, job_name, run.id, queue="wechat", job_id=rq_id, retry=retry)


def _retries_left():
    job = get_current_job()
    return None if job is None else (job.retries_left or 0)


def _lang(run):
    return (run.actor.language if run.actor is not None else None) or current_app.config["BABEL_DEFAULT_LOCALE"]


def run(run_id, step, again=None):
    """Run `step(run)` for a job: it returns (message, result dict). `again` is the dotted name of the job
    that runs it later when the step says `WaitFor`. See the module docstring."""
    row = db.session.get(JobRun, run_id)
    if row is None or row.state not in ACTIVE_STATES or _superseded(row):
        return {"run": run_id, "skipped": True}
    embedded_tries = 0 if get_current_job() else len(_intervals())
    while True:
        try:
            return _attempt(row, step)
        except WaitFor as wait:
            if again is None:  # no job to enqueue: wait here
                time.sleep(wait.seconds)
                continue
            _enqueue(row, again, delay=wait.seconds)
            return {"run": row.id, "state": row.state, "waiting": wait.seconds}
        except WeChatError as exc:
            left = _retries_left()
            if left is None and embedded_tries > 0:
                time.sleep(_intervals()[len(_intervals()) - embedded_tries])
                embedded_tries -= 1
                continue
            if left:
                raise
            return _finish(row, JOB_FAILED, wechat_error_in_every_language(exc), errcode=exc.errcode)


def _attempt(row, step):
    row.state, row.attempts, row.started_at = JOB_RUNNING, row.attempts + 1, row.started_at or utcnow()
    row.heartbeat_at = utcnow()
    db.session.commit()
    try:
        with force_locale(_lang(row)):
            message, result = step(row)
    except WaitFor as wait:
        db.session.rollback()
        row.state, row.errcode, row.heartbeat_at = JOB_RETRYING, wait.errcode, utcnow()
        row.message = json.dumps(in_every_language(wait.message), ensure_ascii=False)
        db.session.commit()
        raise
    except WeChatError as exc:
        db.session.rollback()
        if not exc.retryable:
            return _finish(row, JOB_FAILED, wechat_error_in_every_language(exc), errcode=exc.errcode)
        row.state, row.errcode = JOB_RETRYING, exc.errcode
        texts = in_every_language(LOST_ANSWER) if getattr(exc, "maybe_sent", False) else wechat_error_in_every_language(exc)
        row.message = json.dumps(texts, ensure_ascii=False)
        db.session.commit()
        raise
    except PortalError as exc:
        db.session.rollback()
        return _finish(row, JOB_FAILED, in_every_language(exc.message), errcode=getattr(exc, "errcode", None))
    except Exception:
        db.session.rollback()
        _finish(row, JOB_FAILED, in_every_language(_l("An unexpected error stopped this job. The platform staff were told.")))
        raise
    return _finish(row, JOB_DONE, in_every_language(message), result=result)


# A retried step whose call may have reached WeChat reads WeChat's state before acting again (adopting the
# audit, checking the trial or live version), so the words say what happens next, not "check it yourself".
LOST_ANSWER = _l("WeChat's answer was lost on the way, so it may have acted. Before trying again, this job asks "
                 "WeChat what it now holds: nothing is sent twice.")


def _superseded(row):
    """Whether the job running now is not the run's own (an older job of a run enqueued again since)."""
    from portal.logging_setup import current_job

    job = current_job()
    return job is not None and job[0] != "-" and bool(row.rq_job_id) and job[0] != safe_job_id(row.rq_job_id)


def _languages():
    return tuple(current_app.config.get("LANGUAGES") or ("zh", "en"))


def in_every_language(message):
    """The message in every language: lazy strings are rendered per locale, plain text is kept as is."""
    texts = {}
    for lang in _languages():
        with force_locale(lang):
            texts[lang] = str(message)
    return texts


def wechat_error_in_every_language(exc):
    """A WeChat error's plain-language text (with its code) in every language."""
    return {lang: explain(exc, lang) for lang in _languages()}


def _finish(row, state, texts, errcode=None, result=None):
    """End the run: its message in every language, the activity log in the actor's."""
    message = texts.get(_lang(row)) or next(iter(texts.values()), "")
    row.state, row.errcode, row.finished_at = state, errcode, utcnow()
    row.message, row.active_key = json.dumps(texts, ensure_ascii=False), None
    if result is not None:
        row.result = json.dumps(result, ensure_ascii=False)
    # the run's tenant, not the app's: a run that ends after staff moved the app is its old tenant's history
    activity.record(f"job.{row.kind}", actor=row.actor, tenant_id=row.tenant_id, miniprogram=row.miniprogram,
                    outcome=OUTCOME_OK if state == JOB_DONE else OUTCOME_FAILED, detail=message)
    db.session.commit()
    log.info("job run %s (%s) %s: %s", row.id, row.kind, state, message)
    return {"run": row.id, "state": state, "errcode": errcode}


def message_for(row, lang):
    """A run's message in `lang` (runs store it in every language as JSON)."""
    try:
        texts = json.loads(row.message or "{}")
    except ValueError:
        return row.message or ""
    if not isinstance(texts, dict):
        return row.message or ""
    return texts.get(lang) or next(iter(texts.values()), "")


def set_step(row, step):
    """Record where a running job is, committed before the remote call it announces (and in RQ's job.meta)."""
    row.step, row.heartbeat_at = step, utcnow()
    db.session.commit()
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = step
        job.save_meta()


def recover_stranded(job_names, older_than=None):
    """Enqueue again the runs whose worker died: "running" long after their heartbeat, or queued/retrying
    long after it with no live job behind them (a restarted embedded portal, a flushed Redis).
    `job_names` maps a run's kind to the dotted name of its job."""
    seconds = current_app.config.get("JOB_STALE_SECONDS", 360) if older_than is None else older_than
    cutoff = utcnow() - timedelta(seconds=seconds)
    rows = db.session.scalars(select(JobRun).where(JobRun.state.in_(ACTIVE_STATES),
                                                   db.func.coalesce(JobRun.heartbeat_at, JobRun.created_at)
                                                   <= cutoff)).all()
    recovered = 0
    for row in rows:
        name = job_names.get(row.kind)
        if name is None or (row.state != JOB_RUNNING and _job_alive(row)):
            continue
        log.warning("job run %s (%s) lost its worker; enqueueing it again", row.id, row.kind)
        row.state = JOB_QUEUED
        _enqueue(row, name)
        recovered += 1
    return recovered


def _job_alive(row):
    """Whether RQ (or this process, in embedded mode) still holds a job for the run."""
    return is_live(row.rq_job_id)


def recent_runs(mp_id, limit=10, kinds=(), tenant_id=None):
    """The app's latest runs, newest first; only those of `kinds` ("commit", ...) when given, and with
    `tenant_id` (what a merchant may see) only those run for that tenant: the runs from before staff moved
    the app stay with its old tenant."""
    query = select(JobRun).where(JobRun.miniprogram_id == mp_id)
    if kinds:
        query = query.where(JobRun.kind.in_(kinds))
    if tenant_id is not None:
        query = query.where(JobRun.tenant_id == tenant_id)
    return db.session.scalars(query.order_by(JobRun.id.desc()).limit(limit)).all()


def get_run(mp_id, run_id, tenant_id=None):
    """The app's run `run_id` (one run for `tenant_id` when given), or None."""
    row = db.session.get(JobRun, run_id)
    if row is None or row.miniprogram_id != mp_id or (tenant_id is not None and row.tenant_id != tenant_id):
        return None
    return row


def describe(row, lang):
    """What the status endpoint returns for a run."""
    return {"id": row.id, "kind": row.kind, "state": row.state, "message": message_for(row, lang),
            "errcode": row.errcode, "attempts": row.attempts, "active": row.is_active,
            "finished_at": iso_utc(row.finished_at) if row.finished_at else None}


__all__ = ["JOB_DONE", "JOB_FAILED", "JOB_RETRYING", "WaitFor", "describe", "recover_stranded", "run", "start"]
