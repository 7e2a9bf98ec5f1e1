"""Leases of running fleet steps, so the coordinator can tell a step that is still working from one whose
worker died (SIGKILL, OOM, a lost machine) or that ended without moving its target on.

A step job holds a lease on its target (Redis key with a short TTL, refreshed by a heartbeat thread; a
process-wide table in embedded mode) from before it reads the row until after its last commit. The
coordinator treats an in-flight target as lost when it has no lease, its job is no longer waiting in RQ and
the dispatch is older than FLEET_STEP_GRACE_SECONDS. Imports nothing from `fleet` (which imports it).
"""

import threading
import time
from contextlib import contextmanager
from datetime import UTC

from flask import current_app

_local = {}  # embedded mode: {target_id: attempt} of steps running in this process
_guard = threading.Lock()
WAITING = ("queued", "scheduled", "deferred")


def step_job_id(target_id, attempt):
    return f"fleet-step-{target_id}-{attempt}"


def _key(target_id):
    return f"fleet:lease:{target_id}"


@contextmanager
def hold(target_id, attempt):
    """Hold the lease of `target_id` for the block (see the module docstring)."""
    redis = current_app.extensions.get("redis")
    if redis is None:
        with _guard:
            _local[target_id] = attempt
        try:
            yield
        finally:
            with _guard:
                if _local.get(target_id) == attempt:
                    del _local[target_id]
        return
    ttl = max(2, int(current_app.config.get("FLEET_STEP_LEASE_SECONDS", 6)))
    redis.set(_key(target_id), attempt, ex=ttl)
    stop = threading.Event()

    def beat():
        while not stop.wait(ttl / 3):
            try:
                redis.set(_key(target_id), attempt, ex=ttl)
            except Exception:  # noqa: BLE001 - a missed beat only risks an early recovery, checked by attempt
                pass

    thread = threading.Thread(target=beat, name=f"fleet-lease-{target_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        redis.delete(_key(target_id))


def is_alive(target, now):
    """Whether the step job of in-flight `target` may still be running or about to run."""
    grace = current_app.config.get("FLEET_STEP_GRACE_SECONDS", 30)
    if target.dispatched_at is None or (now - target.dispatched_at).total_seconds() < grace:
        return True
    redis = current_app.extensions.get("redis")
    if redis is None:
        with _guard:
            return _local.get(target.id) == target.attempts
    held = redis.get(_key(target.id))
    if held is not None and int(held) == target.attempts:
        return True
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(step_job_id(target.id, target.attempts), connection=redis)
        status = job.get_status(refresh=False)
    except NoSuchJobError:
        return False
    status = getattr(status, "value", status)
    if status in WAITING:
        return True
    started = job.started_at  # "started" a moment ago: the job may not have taken its lease yet
    return status == "started" and started is not None and \
        time.time() - started.replace(tzinfo=started.tzinfo or UTC).timestamp() < 5
