"""Queue names with their timeouts, and the one helper that enqueues (or, in embedded mode, runs).

A job is named by the dotted path of its entry point (`"portal.jobs.releases.commit_job"`), so whoever
enqueues never imports `portal.jobs`: the worker (RQ imports the name) or the embedded runner resolves it.
With `REDIS_URL` set, jobs go to RQ and `python worker.py` runs them. Without it (embedded mode, as
`make run` uses), the same job functions run in a background thread of the portal process, so the demo
needs no Redis. Deterministic job ids make a double click enqueue once. `enqueue_in` runs a job after a
delay without holding a worker meanwhile: RQ's scheduler (workers run `with_scheduler`) or, embedded, a
timer that starts the job's thread when it is due.
"""

import logging
import re
import threading
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from werkzeug.utils import import_string

log = logging.getLogger("portal.jobs")


@dataclass(frozen=True)
class QueueSpec:
    name: str
    job_timeout: int  # seconds a job may run
    result_ttl: int  # seconds a finished job's result is kept


QUEUES = {
    "wechat": QueueSpec("wechat", job_timeout=300, result_ttl=7 * 86400),  # commit, audit, release
    "fleet": QueueSpec("fleet", job_timeout=600, result_ttl=7 * 86400),  # fleet-release steps
    "maintenance": QueueSpec("maintenance", job_timeout=900, result_ttl=86400),  # token refresh, polls
}
QUEUE_ORDER = ("wechat", "fleet", "maintenance")


def get_queue(name, connection):
    spec = QUEUES[name]
    return Queue(spec.name, connection=connection, default_timeout=spec.job_timeout)


def enqueue(name, *args, queue="wechat", job_id=None, retry=None, **kwargs):
    """Enqueue the job function `name` (a dotted path) with `args`, once per `job_id`; returns the job id,
    or None if it was already queued.

    Embedded mode runs it in a thread of this process, with an app context.
    """
    _check_name(name)
    job_id = safe_job_id(job_id) if job_id else None
    redis = current_app.extensions.get("redis")
    if redis is None:
        return _run_in_thread(name, args, kwargs, job_id)
    spec = QUEUES[queue]
    try:
        job = get_queue(queue, redis).enqueue(
            name, *args, job_id=job_id, unique=bool(job_id), result_ttl=spec.result_ttl,
            retry=retry or Retry(max=3, interval=[10, 60, 300]), **kwargs)
    except DuplicateJobError:
        log.info("job %s is already queued", job_id)
        return None
    return job.id


def enqueue_in(seconds, name, *args, queue="wechat", job_id=None, retry=None):
    """Enqueue the job function `name` (a dotted path) with `args` to run in `seconds`, once per `job_id`
    (a second request for an id already waiting adds nothing); returns the job id, or None if it was
    already waiting (embedded mode)."""
    _check_name(name)
    job_id = safe_job_id(job_id) if job_id else None
    redis = current_app.extensions.get("redis")
    if redis is None:
        return _run_in_thread_later(seconds, name, args, job_id)
    # RQ schedules a job id once: scheduling it again replaces the waiting job with the same one
    job = get_queue(queue, redis).enqueue_in(
        timedelta(seconds=max(0.0, seconds)), name, *args, job_id=job_id, result_ttl=QUEUES[queue].result_ttl,
        retry=retry or Retry(max=3, interval=[10, 60, 300]))
    return job.id


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"jobs are enqueued by dotted name (e.g. 'portal.jobs.releases.commit_job'), not {name!r}")


def safe_job_id(text):
    """RQ accepts only letters, digits, '_' and '-' in job ids: `release:12:v1.0` -> `release-12-v1_0`."""
    return re.sub(r"[^A-Za-z0-9_-]", lambda m: "-" if m.group(0) == ":" else "_", text)[:200]


_embedded_running = set()
_embedded_lock = threading.Lock()
# Embedded mode runs jobs in threads of the web process: at most this many at once, so a fleet release
# with a high concurrency setting cannot exhaust the database connection pool.
EMBEDDED_MAX_PARALLEL = 6
_embedded_slots = threading.BoundedSemaphore(EMBEDDED_MAX_PARALLEL)


def held_embedded(job_id):
    """Whether this process runs the job `job_id` or waits to start it (embedded mode)."""
    job_id = safe_job_id(job_id)
    with _embedded_lock:
        return job_id in _embedded_running or job_id in _embedded_waiting


def _claim(held, job_id):
    """Mark `job_id` in `held` (the running or the waiting set); False if it already was there, so one id
    runs or waits once. A job without an id is never refused."""
    with _embedded_lock:
        if job_id and job_id in held:
            return False
        if job_id:
            held.add(job_id)
    return True


def _run_in_thread(name, args, kwargs, job_id):
    func = import_string(name)  # a wrong name fails here, in the caller, as RQ's worker would fail the job
    if not _claim(_embedded_running, job_id):
        return None
    app = current_app._get_current_object()

    def target():
        from portal.logging_setup import job_context

        try:
            with _embedded_slots, app.app_context(), job_context(job_id, name):
                func(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the job records its own failures; this is the last resort
            log.exception("embedded job %s failed", job_id or name)
        finally:
            with _embedded_lock:
                _embedded_running.discard(job_id)

    threading.Thread(target=target, name=f"job-{job_id or name}", daemon=True).start()
    return job_id


_embedded_waiting = set()


def _run_in_thread_later(seconds, name, args, job_id):
    """Embedded `enqueue_in`: a timer thread that only starts the job (in its own thread) when it is due."""
    import_string(name)  # a wrong name fails now, not when the timer fires
    if not _claim(_embedded_waiting, job_id):
        return None
    app = current_app._get_current_object()

    def due():
        with _embedded_lock:
            _embedded_waiting.discard(job_id)
        with app.app_context():
            _run_in_thread(name, args, {}, job_id)

    timer = threading.Timer(max(0.0, seconds), due)
    timer.name, timer.daemon = f"wait-{job_id or name}", True
    timer.start()
    return job_id


def wait_embedded_idle(timeout=30.0):
    """Wait until no embedded job runs (tests and the demo's shutdown use it). Returns True if idle."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _embedded_lock:
            if not _embedded_running and not any(t.name.startswith("job-") for t in threading.enumerate()):
                return True
        time.sleep(0.02)
    return False
