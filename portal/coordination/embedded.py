"""Coordination inside one process (embedded mode: `make run`, no Redis): thread locks, flags, counters and
leases in dictionaries of the instance, and jobs run in threads of the portal process with an app context.

Everything lives on the instance, so apps made in one process (tests make many) share nothing. Deadlines of
flags and keys are kept (a flag raised by a job that died falls as it would in Redis).
"""

import logging
import threading
import time
from contextlib import contextmanager

from werkzeug.utils import import_string

from portal.coordination.base import Coordination, JobState, ThreadLocks

log = logging.getLogger("portal.jobs")

# Jobs run in threads of the web process: at most this many at once, so a fleet release with a high
# concurrency setting cannot exhaust the database connection pool.
MAX_PARALLEL = 6


class EmbeddedCoordination(Coordination):
    def __init__(self, app, max_parallel=MAX_PARALLEL):
        super().__init__()
        self.app = app
        self._guard = threading.Lock()
        self._thread_locks = ThreadLocks()
        self._keys = {}  # flags and "at most once" keys: name -> monotonic deadline
        self._values = {}  # name -> (monotonic deadline, text)
        self._counters = {}  # name -> (second, count)
        self._paused = {}  # name -> epoch seconds
        self._leases = {}  # name -> value
        self._jobs = {}  # job id -> JobState of jobs waiting or running here
        self._timers = {}  # job id -> the timer of its next run (`enqueue_in`)
        self._threads = set()
        self._slots = threading.BoundedSemaphore(max_parallel)

    @contextmanager
    def lock(self, name, ttl_ms=20_000, wait_seconds=25.0, this_process_only=False):
        with self._thread_locks.hold(name, wait_seconds):
            yield

    # --- flags and keys ---

    def _held(self, name, now):
        deadline = self._keys.get(name)
        if deadline is not None and deadline <= now:
            del self._keys[name]
            return False
        return deadline is not None

    def mark(self, name, ttl):
        with self._guard:
            self._keys[name] = time.monotonic() + ttl

    def take(self, name):
        with self._guard:
            held = self._held(name, time.monotonic())
            self._keys.pop(name, None)
            return held

    def claim(self, name, ttl):
        now = time.monotonic()
        with self._guard:
            if self._held(name, now):
                return False
            self._keys[name] = now + ttl
            return True

    def release(self, name):
        with self._guard:
            self._keys.pop(name, None)

    # --- short-lived values ---

    def remember(self, name, value, ttl):
        with self._guard:
            self._values[name] = (time.monotonic() + ttl, value)

    def recall(self, name):
        with self._guard:
            deadline, value = self._values.get(name, (0.0, None))
            if value is not None and deadline <= time.monotonic():
                del self._values[name]
                return None
            return value

    def forget(self, *names):
        with self._guard:
            for name in names:
                self._values.pop(name, None)

    def replace(self, drop, keep, ttl):
        with self._guard:
            for name in drop:
                self._values.pop(name, None)
            for name, value in keep.items():
                self._values[name] = (time.monotonic() + ttl, value)

    # --- counters ---

    def count(self, name, second, amount):
        with self._guard:
            window, used = self._counters.get(name, (second, 0))
            used = (used if window == second else 0) + amount
            self._counters[name] = (second, used)
            return used, self._paused.get(name, 0.0)

    def back_off(self, name, seconds):
        with self._guard:
            self._paused[name] = time.time() + seconds

    # --- leases ---

    @contextmanager
    def hold_lease(self, name, value, ttl):
        value = str(value)
        with self._guard:
            self._leases[name] = value
        try:
            yield
        finally:
            with self._guard:
                if self._leases.get(name) == value:
                    del self._leases[name]

    def lease_holder(self, name):
        with self._guard:
            return self._leases.get(name)

    # --- jobs ---

    def _claim_job(self, job_id, status):
        """Note `job_id` as waiting or running here; False if it already is, so one id runs or waits once.
        A job without an id is never refused."""
        with self._guard:
            if job_id and job_id in self._jobs:
                return False
            if job_id:
                self._jobs[job_id] = JobState(status, None)
        return True

    def _forget_job(self, job_id):
        with self._guard:
            if job_id in self._timers:  # scheduled again while it ran: it waits for that run
                self._jobs[job_id] = JobState("scheduled", None)
            else:
                self._jobs.pop(job_id, None)

    def _set_state(self, job_id, state):
        if job_id:
            with self._guard:
                self._jobs[job_id] = state

    def enqueue(self, name, args, kwargs, queue, job_id, retry):
        func = import_string(name)  # a wrong name fails here, in the caller, as RQ's worker would fail the job
        if not self._claim_job(job_id, "queued"):
            return None
        self._start(func, name, args, kwargs, job_id)
        return job_id

    def _start(self, func, name, args, kwargs, job_id):
        app = self.app

        def target():
            from portal.logging_setup import job_context

            try:
                with self._slots:
                    self._set_state(job_id, JobState("started", time.time()))
                    with app.app_context(), job_context(job_id, name):
                        func(*args, **kwargs)
            except Exception:  # noqa: BLE001 - the job records its own failures; this is the last resort
                log.exception("embedded job %s failed", job_id or name)
            finally:
                self._forget_job(job_id)
                with self._guard:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=target, name=f"job-{job_id or name}", daemon=True)
        with self._guard:
            self._threads.add(thread)
        thread.start()

    def enqueue_in(self, seconds, name, args, queue, job_id, retry):
        """A timer thread that only starts the job (in its own thread) when it is due. As with RQ, scheduling
        an id again replaces its waiting run, and an id that runs now (a job that schedules its own next
        run) is scheduled to run again."""
        func = import_string(name)  # a wrong name fails now, not when the timer fires
        armed = {}

        def due():
            with self._guard:
                if job_id and self._timers.get(job_id) is not armed["timer"]:
                    return  # replaced meanwhile
                self._timers.pop(job_id, None)
            self._set_state(job_id, JobState("queued", None))
            self._start(func, name, args, {}, job_id)

        armed["timer"] = timer = threading.Timer(max(0.0, seconds), due)
        timer.name, timer.daemon = f"wait-{job_id or name}", True
        with self._guard:
            if job_id:
                replaced = self._timers.pop(job_id, None)
                if replaced is not None:
                    replaced.cancel()
                self._timers[job_id] = timer
                self._jobs.setdefault(job_id, JobState("scheduled", None))
        timer.start()
        return job_id

    def job_state(self, job_id):
        with self._guard:
            return self._jobs.get(job_id)

    def wait_until_idle(self, timeout=30.0):
        """Wait until no job of this app runs or waits for a thread (the demo's shutdown, and tests).
        Jobs still waiting for their delay (`enqueue_in`) do not count. Returns True if idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._guard:
                busy = any(state.status != "scheduled" for state in self._jobs.values()) or \
                    any(thread.is_alive() for thread in self._threads)
            if not busy:
                return True
            time.sleep(0.02)
        return False
