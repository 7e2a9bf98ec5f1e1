"""Wake-ups of the fleet coordinator (`fleet.tick`): the per-release dirty flag a busy tick leaves for the
lock holder, tick jobs queued at most once at a time, and the tick an audit result asks for once its
transaction commits. Imports nothing from `fleet` (which imports it); the tick job is imported when queued.
"""

import logging
import time
import uuid

from sqlalchemy import event, select

from portal.coordination import coordination
from portal.extensions import db
from portal.models import FleetRelease
from portal.models import fleet as F

log = logging.getLogger("portal.fleet")


def mark_dirty(release_id):
    coordination().mark(f"fleet:dirty:{release_id}", ttl=600)


def take_dirty(release_id):
    return coordination().take(f"fleet:dirty:{release_id}")


def _queued_key(release_id):
    return f"fleet:tick-queued:{release_id}"


def request_tick(release_id):
    """Run the coordinator soon, in a job; while one is queued and not yet started, asking again only
    marks the release dirty (a burst of audit pushes queues one tick, not one each)."""
    from portal.queueing import enqueue

    mark_dirty(release_id)
    if not coordination().claim(_queued_key(release_id), ttl=60):
        return
    # a new id each time (utcnow() has whole seconds only: a second request within the same second would
    # be taken for a duplicate of the finished job and dropped)
    job_id = f"fleet-tick-{release_id}-{uuid.uuid4().hex}"
    if enqueue("portal.jobs.fleet.fleet_tick_job", release_id, queue="fleet", job_id=job_id) is None:
        coordination().release(_queued_key(release_id))


def tick_in(release_id, seconds):
    """Run the coordinator in `seconds`, when a target waiting for WeChat's privacy scan falls due to be
    checked again: a delayed tick job (no worker waits meanwhile), one per release and due second."""
    from rq import Retry

    from portal.queueing import enqueue_in

    due = int(time.time() + seconds)
    enqueue_in(seconds, "portal.jobs.fleet.fleet_tick_job", release_id, queue="fleet",
               job_id=f"fleet-recheck-{release_id}-{due}", retry=Retry(max=1, interval=[5]))


def tick_job_started(release_id):
    """A queued tick job starts: the next request queues another one."""
    coordination().release(_queued_key(release_id))


# Active releases by template, as this process last read them: every audit push asks, and a SELECT per
# group of pushes would cost as much as the rest of storing an audit result. A release started or resumed
# here is seen at once (`forget_active_releases`); elsewhere within ACTIVE_TTL seconds, which is harmless:
# its apps reach the audit stage later than that, and the periodic tick catches anything missed.
ACTIVE_TTL = 1.0


class _ActiveReleases:
    """This process's last read of the active releases by template (kept per app)."""

    def __init__(self):
        self.at, self.by_template = float("-inf"), {}


def _active():
    return coordination().here("fleet.active_releases", _ActiveReleases)


def forget_active_releases():
    _active().at = float("-inf")


def releases_waiting_on(template_ids, connection):
    """Ids of the active fleet releases of these templates (audit results of their apps are being recorded in
    `connection`'s transaction); the caller passes them to `wake` once it has committed."""
    template_ids = {t for t in template_ids if t is not None}
    if not template_ids:
        return []
    now, active = time.monotonic(), _active()
    if now - active.at > ACTIVE_TTL:
        by_template = {}
        for release_id, template_id in connection.execute(select(FleetRelease.id, FleetRelease.template_id).where(
                FleetRelease.state.in_((F.RUNNING, F.CANCELLING)))):
            by_template.setdefault(template_id, []).append(release_id)
        active.by_template, active.at = by_template, now
    return sorted(r for t in template_ids for r in active.by_template.get(t, ()))


def wake(release_ids):
    """Tick these releases (what they waited for is committed); a failure only delays them to the periodic tick."""
    for release_id in sorted(set(release_ids)):
        try:
            request_tick(release_id)
        except Exception:  # noqa: BLE001 - the periodic tick picks the result up anyway
            log.exception("fleet release %s: could not queue a tick after an audit result", release_id)


def wake_after_commit(template_id):
    """Once the session's transaction commits, tick the active releases of `template_id` (an audit result
    of one of its apps was recorded); nothing happens if it rolls back."""
    ids = releases_waiting_on([template_id], db.session)
    if ids:
        event.listen(db.session(), "after_commit", lambda _session: wake(ids), once=True)
