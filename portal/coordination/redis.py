"""Coordination through Redis and RQ: what every process of the portal (web, workers, on any host) sees.

Locks are `SET NX PX` released by compare-and-delete; flags and "at most once" keys are keys with a TTL;
rate counters are a key per second; leases are keys renewed by a heartbeat thread; jobs go to RQ.
"""

import logging
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, timedelta

from redis.exceptions import RedisError
from rq import Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job

from portal.coordination.base import Coordination, JobState, LockBusy, ThreadLocks
from portal.coordination.queues import QUEUES, SERIALIZER, get_queue

log = logging.getLogger("portal.jobs")

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def _default_retry():
    return Retry(max=3, interval=[10, 60, 300])


def _unreachable(what, exc):
    """Redis down where it is only a cache or a cross-process lock: the caller carries on without it."""
    logging.getLogger("portal.coordination").warning("Redis unavailable for %s (%s); carrying on without it",
                                                     what, exc.__class__.__name__)


class RedisCoordination(Coordination):
    is_shared = True
    has_streams = True

    def __init__(self, client):
        super().__init__()
        self.redis = client
        self._thread_locks = ThreadLocks()

    @contextmanager
    def lock(self, name, ttl_ms=20_000, wait_seconds=25.0, this_process_only=False):
        if this_process_only:
            with self._thread_locks.hold(name, wait_seconds):
                yield
            return
        key, owner = "lock:" + name, uuid.uuid4().hex
        deadline = time.monotonic() + wait_seconds
        while not self.redis.set(key, owner, nx=True, px=ttl_ms):
            if time.monotonic() > deadline:
                raise LockBusy(name)
            time.sleep(0.02)
        try:
            yield
        finally:
            self.redis.eval(_RELEASE, 1, key, owner)

    def mark(self, name, ttl):
        self.redis.set(name, 1, ex=ttl)

    def take(self, name):
        return bool(self.redis.delete(name))

    def claim(self, name, ttl):
        return bool(self.redis.set(name, 1, nx=True, ex=ttl))

    def release(self, name):
        self.redis.delete(name)

    def remember(self, name, value, ttl):
        self.redis.set(name, value, px=max(1, int(ttl * 1000)))

    def recall(self, name):
        value = self.redis.get(name)
        return None if value is None else value.decode()

    def forget(self, *names):
        if names:
            self.redis.delete(*names)

    def replace(self, drop, keep, ttl):
        pipe = self.redis.pipeline(transaction=False)
        if drop:
            pipe.delete(*drop)
        for name, value in keep.items():
            pipe.set(name, value, px=max(1, int(ttl * 1000)))
        pipe.execute()

    def count(self, name, second, amount):
        key = f"{name}:{second}"
        paused, used, _ok = self.redis.pipeline(transaction=False).get(f"{name}:paused-until") \
            .incrby(key, amount).expire(key, 3).execute()
        return used, float(paused or 0)

    def back_off(self, name, seconds):
        self.redis.set(f"{name}:paused-until", time.time() + seconds, ex=max(1, int(seconds) + 1))

    @contextmanager
    def hold_lease(self, name, value, ttl):
        self.redis.set(name, value, ex=ttl)
        stop = threading.Event()

        def beat():
            while not stop.wait(ttl / 3):
                try:
                    self.redis.set(name, value, ex=ttl)
                except Exception:  # noqa: BLE001 - a missed beat only risks an early recovery, checked by value
                    pass

        thread = threading.Thread(target=beat, name=f"lease-{name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            self.redis.delete(name)

    def lease_holder(self, name):
        held = self.redis.get(name)
        return None if held is None else held.decode()

    def cache_get(self, name):
        try:
            return self.redis.get(name)
        except RedisError as exc:
            _unreachable("the cache", exc)
            return None

    def cache_set(self, name, value, ttl):
        try:
            self.redis.set(name, value, ex=max(1, int(ttl)))
        except RedisError as exc:
            _unreachable("the cache", exc)

    def cache_drop(self, name):
        try:
            self.redis.delete(name)
        except RedisError as exc:
            _unreachable("the cache", exc)

    def stream_client(self):
        return self.redis

    def is_reachable(self):
        try:
            self.redis.ping()
            return True
        except RedisError as exc:
            _unreachable("locks", exc)
            return False

    def enqueue(self, name, args, kwargs, queue, job_id, retry):
        spec = QUEUES[queue]
        try:
            job = get_queue(queue, self.redis).enqueue(
                name, *args, job_id=job_id, unique=bool(job_id), result_ttl=spec.result_ttl,
                retry=retry or _default_retry(), **kwargs)
        except DuplicateJobError:
            log.info("job %s is already queued", job_id)
            return None
        return job.id

    def enqueue_in(self, seconds, name, args, queue, job_id, retry):
        # RQ schedules a job id once: scheduling it again replaces the waiting job with the same one
        job = get_queue(queue, self.redis).enqueue_in(
            timedelta(seconds=max(0.0, seconds)), name, *args, job_id=job_id, result_ttl=QUEUES[queue].result_ttl,
            retry=retry or _default_retry())
        return job.id

    def job_state(self, job_id):
        try:
            job = Job.fetch(job_id, connection=self.redis, serializer=SERIALIZER)
        except NoSuchJobError:
            return None
        status = job.get_status(refresh=False)
        started = job.started_at  # naive UTC from RQ, or aware
        return JobState(getattr(status, "value", status),
                        None if started is None else started.replace(tzinfo=started.tzinfo or UTC).timestamp())

    def health(self):
        try:
            self.redis.ping()
            return {"redis": "ok"}
        except Exception:  # noqa: BLE001 - report, never raise: the readiness page says what is down
            log.warning("readiness: Redis is unavailable", exc_info=True)
            return {"redis": "unavailable"}
