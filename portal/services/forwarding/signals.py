"""Wake-ups of a rule's delivery job: at most one queued (not yet started) job per rule, a dirty flag the
run checks before it stops, a flag saying a run is on (so a wake-up while it is needs no job: the run
takes the dirty flag), and a delayed job for the next retry that falls due. Failing to wake only delays a
delivery to the periodic sweep."""

import logging
import uuid

from portal.coordination import coordination

log = logging.getLogger("portal.forwarding")

JOB = "portal.jobs.forwarding.deliver_rule_job"
QUEUE = "forwarding"


# A run says it is on at every round; a run whose process died stops saying so after this long, and
# wake-ups queue jobs again (the sweep's among them).
RUNNING_TTL = 30


def _queued_key(rule_id):
    return f"forwarding:queued:{rule_id}"


def _running_key(rule_id):
    return f"forwarding:running:{rule_id}"


def running(rule_id):
    coordination().remember(_running_key(rule_id), "1", ttl=RUNNING_TTL)


def stopped(rule_id):
    """Before the run's last look at the dirty flag (see `wake`)."""
    coordination().forget(_running_key(rule_id))


def lock_name(rule_id):
    return f"forwarding:rule:{rule_id}"


def mark_dirty(rule_id):
    coordination().mark(f"forwarding:dirty:{rule_id}", ttl=600)


def take_dirty(rule_id):
    return coordination().take(f"forwarding:dirty:{rule_id}")


def request_delivery(rule_id):
    """Run the rule's deliveries soon, in a job. While one is queued and not started, asking again adds
    nothing (it will see what is committed now); once it runs, a new job is queued, which finds the lock
    held and leaves the dirty flag for the holder."""
    from portal.queueing import enqueue

    if not coordination().claim(_queued_key(rule_id), ttl=60):
        return
    # a new id each time: a finished job's id would be taken for a duplicate
    if enqueue(JOB, rule_id, queue=QUEUE, job_id=f"forward-{rule_id}-{uuid.uuid4().hex}") is None:
        coordination().release(_queued_key(rule_id))


def job_started(rule_id):
    coordination().release(_queued_key(rule_id))


def wake(rule_ids):
    """After the transaction that queued deliveries for these rules has committed. The flag is raised
    before the run is looked for: a run seen on has yet to say it stopped, and looks at the flag after
    it says so, so it cannot miss this wake-up."""
    for rule_id in sorted(rule_ids):
        try:
            mark_dirty(rule_id)
            if coordination().recall(_running_key(rule_id)) is None:
                request_delivery(rule_id)
        except Exception:  # noqa: BLE001 - the periodic sweep picks the deliveries up anyway
            log.exception("forwarding rule %s: could not queue its delivery job", rule_id)


def retry_in(rule_id, seconds, slot):
    """Run the rule's deliveries again in `seconds` (its next retry falls due), without holding a worker
    meanwhile: one delayed job per rule and `slot` (the due time), however many runs ask for it."""
    from portal.queueing import enqueue_in

    enqueue_in(max(0.0, seconds), JOB, rule_id, queue=QUEUE, job_id=f"forward-retry-{rule_id}-{slot}")
