"""Periodic jobs and the two ways they run.

Worker mode: every `python worker.py` runs `PeriodicEnqueuer`, which enqueues each periodic job once per
interval with a job id made of the name and the time slot, so several workers enqueue it once.
Embedded mode (`make run`, no Redis): `start_embedded_scheduler` calls the same functions from a thread.
Jobs are named by the dotted path of their entry point in `portal.jobs`, resolved when they run.
"""

import contextlib
import logging
import threading
import time
from typing import NamedTuple

from werkzeug.utils import import_string

from portal.logging_setup import job_context
from portal.queueing.queues import enqueue

log = logging.getLogger("portal.jobs.schedule")


class PeriodicJob(NamedTuple):
    """A job run once per `interval` seconds; its slots begin `offset` seconds after each multiple of the
    interval since the epoch (so a daily job can run at night in Beijing rather than at 00:00 UTC)."""

    name: str
    job: str  # dotted name of the entry point
    interval: int
    queue: str
    offset: int = 0

    def slot(self, now):
        """The number of the slot `now` (epoch seconds) falls in: one enqueue per slot."""
        return int((now - self.offset) // self.interval)


# WeChat's authorizer list is compared at 03:00 Beijing time (19:00 UTC), when merchants are asleep.
NIGHTLY_BEIJING = 19 * 3600

PERIODIC = (
    PeriodicJob("refresh-tokens", "portal.jobs.tokens.refresh_expiring_tokens", 300, "maintenance"),
    PeriodicJob("poll-audits", "portal.jobs.audits.poll_open_audits", 300, "maintenance"),
    PeriodicJob("recover-jobs", "portal.jobs.releases.recover_stranded_jobs", 120, "maintenance"),
    PeriodicJob("fleet-tick", "portal.jobs.fleet.tick_active_fleets", 30, "fleet"),
    PeriodicJob("prune-call-log", "portal.jobs.releases.prune_call_log", 86400, "maintenance"),
    PeriodicJob("drain-pushes", "portal.jobs.callbacks.drain_queued_pushes", 60, "maintenance"),
    PeriodicJob("forwarding-sweep", "portal.jobs.forwarding.sweep_forwarding", 60, "forwarding"),
    PeriodicJob("sync-authorizers", "portal.jobs.tokens.sync_authorizers", 86400, "maintenance",
                offset=NIGHTLY_BEIJING),
)


class PeriodicEnqueuer(threading.Thread):
    """Enqueues the periodic jobs of an app; stops when `stop` is set."""

    def __init__(self, app, tick=5.0):
        super().__init__(name="periodic-enqueuer", daemon=True)
        self.app, self.tick, self.stop = app, tick, threading.Event()

    def run(self):
        while not self.stop.is_set():
            now = time.time()
            for job in PERIODIC:
                with self.app.app_context():
                    try:
                        enqueue(job.job, queue=job.queue, job_id=f"periodic:{job.name}:{job.slot(now)}")
                    except Exception:  # noqa: BLE001 - Redis down: try again next tick
                        log.exception("could not enqueue %s", job.name)
            self.stop.wait(self.tick)

    def shut_down(self, timeout=10.0):
        """Ask the loop to stop and wait for it (an enqueue in flight finishes). Returns True if it stopped."""
        self.stop.set()
        if self.is_alive():
            self.join(timeout)
        return not self.is_alive()


@contextlib.contextmanager
def periodic_enqueuer(app, tick=5.0):
    """Run a `PeriodicEnqueuer` while the block runs (a worker's `work()`), and stop it cleanly after, on
    a warm shutdown as on an error, so no enqueue is cut in half when the process exits."""
    enqueuer = PeriodicEnqueuer(app, tick=tick)
    enqueuer.start()
    log.info("periodic enqueuer started")
    try:
        yield enqueuer
    finally:
        stopped = enqueuer.shut_down()
        log.info("periodic enqueuer %s", "stopped" if stopped else "did not stop in time")


def start_embedded_scheduler(app):
    """Run the periodic jobs in a thread of this process (no Redis)."""
    stop = threading.Event()

    def loop():
        last = {}
        while not stop.is_set():
            for name, job, interval, _queue, _offset in PERIODIC:
                if time.time() - last.get(name, 0) >= interval:
                    last[name] = time.time()
                    with app.app_context(), job_context(f"periodic-{name}", job):
                        try:
                            log.info("%s: %s", name, import_string(job)())
                        except Exception:  # noqa: BLE001 - logged; the next run tries again
                            log.exception("%s failed", name)
            stop.wait(5.0)

    threading.Thread(target=loop, name="embedded-scheduler", daemon=True).start()
    return stop
