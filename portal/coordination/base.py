"""The coordination's interface and the parts both implementations share: job states, the lock error, the
in-process locks. Imports nothing from `portal`."""

import threading
from contextlib import contextmanager
from typing import NamedTuple

# RQ's job states in which a job is still to run or running; an embedded job is "queued" while it waits
# for a free thread, "scheduled" while its delay runs, "started" once it runs.
WAITING = ("queued", "scheduled", "deferred")
LIVE = WAITING + ("started",)


class LockBusy(Exception):
    """The lock was not free within the wait time."""


class JobState(NamedTuple):
    status: str  # one of LIVE, or RQ's finished/failed/stopped/canceled
    started_at: float | None  # epoch seconds, once started


class Coordination:
    """The operations both implementations offer; see `RedisCoordination` and `EmbeddedCoordination`.

    Names are the callers' (`fleet:dirty:12`); the Redis implementation uses them as keys as they are.
    """

    #: the Redis client when the portal runs with Redis, for the RQ worker (worker.py); None in embedded
    #: mode. Nothing else reads it: it asks for what it means (`cache_get`, `stream_client`...)
    redis = None
    #: True when what is held here is seen by every process of the portal (Redis)
    is_shared = False
    #: True when streams can be kept here (`stream_client`): the push stream of CALLBACK_ACKNOWLEDGE=queued
    has_streams = False

    def __init__(self):
        # re-entrant: a factory may ask for another of these objects (the push crypto is made from the
        # WeChat client, itself one of them)
        self._here_guard, self._here = threading.RLock(), {}

    # --- named locks ---

    @contextmanager
    def lock(self, name, ttl_ms=20_000, wait_seconds=25.0, this_process_only=False):
        """Hold lock `name` for the block, waiting up to `wait_seconds` for it (:raise LockBusy:). A shared
        lock expires after `ttl_ms` if its holder dies. `this_process_only`: a thread lock of this process
        (a caller whose Redis is down and that can live with that)."""
        raise NotImplementedError
        yield

    # --- flags and "at most once" keys ---

    def mark(self, name, ttl):
        """Raise flag `name` (it falls by itself after `ttl` seconds)."""
        raise NotImplementedError

    def take(self, name):
        """Lower flag `name`; True if it was raised."""
        raise NotImplementedError

    def claim(self, name, ttl):
        """Take key `name` for `ttl` seconds unless someone holds it: True if taken (SET NX with a TTL)."""
        raise NotImplementedError

    def release(self, name):
        """Give key `name` back (taken by `claim`)."""
        raise NotImplementedError

    # --- short-lived values ---

    def remember(self, name, value, ttl):
        """Keep text `value` under `name` for `ttl` seconds (a cache entry every process reads), in every
        mode: for what only WeChat knows (`services/wechat_reads`). Copies of database rows go through
        `cache_set` instead, which keeps nothing when one process holds the only copy anyway."""
        raise NotImplementedError

    def recall(self, name):
        """The text kept under `name`, or None when nothing is (never kept, expired or forgotten)."""
        raise NotImplementedError

    def forget(self, *names):
        """Drop what is kept under `names`."""
        raise NotImplementedError

    def replace(self, drop, keep, ttl):
        """`forget(*drop)` and `remember` each text of `keep` ({name: value}) for `ttl` seconds, in one
        round trip (what a WeChat write does to the reads it changed, between two calls)."""
        raise NotImplementedError

    # --- rate counters and back-off windows ---

    def count(self, name, second, amount):
        """Count `amount` in counter `name` for the whole epoch second `second`; returns (the count of that
        second including `amount`, the end of the back-off of `name` in epoch seconds or 0): one round trip."""
        raise NotImplementedError

    def back_off(self, name, seconds):
        """Everyone counting on `name` waits `seconds` from now."""
        raise NotImplementedError

    # --- leases ---

    @contextmanager
    def hold_lease(self, name, value, ttl):
        """Hold lease `name` (saying `value`) for the block, renewed every `ttl`/3 seconds while the block
        runs, so it lapses `ttl` seconds after its holder dies."""
        raise NotImplementedError
        yield

    def lease_holder(self, name):
        """The value of lease `name` (a str), or None when no one holds it."""
        raise NotImplementedError

    # --- the job queue ---

    def enqueue(self, name, args, kwargs, queue, job_id, retry):
        """Run job function `name` (a dotted path, checked importable) with `args`/`kwargs`, once per
        `job_id`: returns the job id, or None if a job with that id is already queued or running."""
        raise NotImplementedError

    def enqueue_in(self, seconds, name, args, queue, job_id, retry):
        """`enqueue`, `seconds` from now, without holding a worker meanwhile."""
        raise NotImplementedError

    def job_state(self, job_id):
        """The `JobState` of job `job_id`, or None when no such job is known (never queued, or forgotten)."""
        raise NotImplementedError

    def wait_until_idle(self, timeout=30.0):
        """Wait until no job runs in this process (the demo's shutdown, tests); True if none does. Jobs run
        by RQ workers are not this process's: nothing to wait for."""
        return True

    # --- a cache shared by the processes, of values whose authoritative copy is elsewhere ---

    def cache_get(self, name):
        """The bytes cached under `name`, or None: a miss, and also while the cache cannot be reached (the
        caller reads the authoritative copy instead). Nothing is cached when nothing is shared: the one
        process reads its database, which is what a cache would spare many processes from doing."""
        return None

    def cache_set(self, name, value, ttl):
        """Cache `value` (bytes or str) under `name` for `ttl` seconds; a cache that cannot be reached is
        skipped (logged)."""

    def cache_drop(self, name):
        """Forget what is cached under `name`; a cache that cannot be reached is skipped (logged)."""

    # --- what exists only with Redis ---

    def stream_client(self):
        """The Redis client that holds streams (XADD, XREADGROUP...), when `has_streams`."""
        raise NotImplementedError("streams are kept only with Redis")

    def is_reachable(self):
        """False while the shared store cannot be reached right now (logged): a caller that can live with a
        lock of this process only then takes one (`lock(..., this_process_only=True)`)."""
        return True

    # --- health, and what this process keeps for the app ---

    def health(self):
        """{"redis": "ok" or "unavailable"} for the readiness page (the error is logged); {} when nothing
        is shared."""
        return {}

    def here(self, name, factory):
        """The object this process keeps for this app under `name` (a buffer, a thread's handle), made by
        `factory()` the first time it is asked for; never shared with another app."""
        found = self._here.get(name)
        if found is None:
            with self._here_guard:
                found = self._here.get(name)
                if found is None:
                    found = self._here[name] = factory()
        return found


class ThreadLocks:
    """Named thread locks of one process (embedded locks, and shared ones while Redis is away)."""

    def __init__(self):
        self._guard, self._locks = threading.Lock(), {}

    @contextmanager
    def hold(self, name, wait_seconds):
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        if not lock.acquire(timeout=max(0.0, wait_seconds)):
            raise LockBusy(name)
        try:
            yield
        finally:
            lock.release()
