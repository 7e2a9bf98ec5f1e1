"""Leases of running fleet steps, so the coordinator can tell a step that is still working from one whose
worker died (SIGKILL, OOM, a lost machine) or that ended without moving its target on.

A step job holds a lease on its target (a lease of the app's coordination: a Redis key with a short TTL,
renewed by a heartbeat thread, or a table of this process in embedded mode) from before it reads the row
until after its last commit. The coordinator treats an in-flight target as lost when it has no lease, its
job is no longer waiting to run and the dispatch is older than FLEET_STEP_GRACE_SECONDS. Imports nothing
from `fleet` (which imports it).
"""

import time
from contextlib import contextmanager

from flask import current_app

from portal.coordination import WAITING, coordination
from portal.queueing import job_state


def step_job_id(target_id, attempt):
    return f"fleet-step-{target_id}-{attempt}"


def _key(target_id):
    return f"fleet:lease:{target_id}"


@contextmanager
def hold(target_id, attempt):
    """Hold the lease of `target_id` for the block (see the module docstring)."""
    ttl = max(2, int(current_app.config.get("FLEET_STEP_LEASE_SECONDS", 6)))
    with coordination().hold_lease(_key(target_id), attempt, ttl):
        yield


def is_alive(target, now):
    """Whether the step job of in-flight `target` may still be running or about to run."""
    grace = current_app.config.get("FLEET_STEP_GRACE_SECONDS", 30)
    if target.dispatched_at is None or (now - target.dispatched_at).total_seconds() < grace:
        return True
    held = coordination().lease_holder(_key(target.id))
    if held is not None and int(held) == target.attempts:
        return True
    state = job_state(step_job_id(target.id, target.attempts))
    if state is None:
        return False
    if state.status in WAITING:
        return True
    # "started" a moment ago: the job may not have taken its lease yet
    return state.status == "started" and state.started_at is not None and time.time() - state.started_at < 5
