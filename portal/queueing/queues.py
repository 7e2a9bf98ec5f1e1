"""The one helper that enqueues a job (by dotted name), and the queue names with their timeouts.

A job is named by the dotted path of its entry point (`"portal.jobs.releases.commit_job"`), so whoever
enqueues never imports `portal.jobs`: the worker (RQ imports the name) or the embedded runner resolves it.
The app's coordination (`portal.coordination`) takes it from here: with `REDIS_URL` set, RQ, and
`python worker.py` runs it; without it (embedded mode, as `make run` uses), a background thread of the
portal process, so the demo needs no Redis. Deterministic job ids make a double click enqueue once.
`enqueue_in` runs a job after a delay without holding a worker meanwhile: RQ's scheduler (workers run
`with_scheduler`) or, embedded, a timer that starts the job's thread when it is due. Arguments must be
JSON (ids, strings): RQ stores jobs as JSON (`SERIALIZER`), and the embedded mode checks the same.
"""

import json
import re

from portal.coordination import LIVE, coordination
from portal.coordination.queues import QUEUE_ORDER, QUEUES, SERIALIZER, QueueSpec, get_queue


def enqueue(name, *args, queue="wechat", job_id=None, retry=None, **kwargs):
    """Enqueue the job function `name` (a dotted path) with `args`, once per `job_id`; returns the job id,
    or None if it was already queued."""
    _check_job(name, args, kwargs)
    job_id = safe_job_id(job_id) if job_id else None
    return coordination().enqueue(name, args, kwargs, queue, job_id, retry)


def enqueue_in(seconds, name, *args, queue="wechat", job_id=None, retry=None):
    """Enqueue the job function `name` (a dotted path) with `args` to run in `seconds`, once per `job_id`
    (a second request for an id already waiting adds nothing); returns the job id, or None if it was
    already waiting (embedded mode)."""
    _check_job(name, args, {})
    job_id = safe_job_id(job_id) if job_id else None
    return coordination().enqueue_in(seconds, name, args, queue, job_id, retry)


def job_state(job_id):
    """The `JobState` (status, started_at) of job `job_id`, or None when it is not known."""
    return coordination().job_state(safe_job_id(job_id))


def is_live(job_id):
    """Whether job `job_id` is still to run or running."""
    state = job_state(job_id) if job_id else None
    return state is not None and state.status in LIVE


def _check_job(name, args, kwargs):
    if not isinstance(name, str):
        raise TypeError(f"jobs are enqueued by dotted name (e.g. 'portal.jobs.releases.commit_job'), not {name!r}")
    # embedded mode never serializes: fail here as RQ would, not only in production
    json.dumps([args, kwargs])


def safe_job_id(text):
    """RQ accepts only letters, digits, '_' and '-' in job ids: `release:12:v1.0` -> `release-12-v1_0`."""
    return re.sub(r"[^A-Za-z0-9_-]", lambda m: "-" if m.group(0) == ":" else "_", text)[:200]


__all__ = ["QUEUES", "QUEUE_ORDER", "SERIALIZER", "QueueSpec", "enqueue", "enqueue_in", "get_queue", "is_live", "job_state",
           "safe_job_id"]
