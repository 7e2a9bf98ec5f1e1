"""Named mutual exclusion across threads and processes: a Redis lock (`SET NX PX`, released by
compare-and-delete) when Redis is configured, else a per-name thread lock (embedded mode is one process).
"""

import threading
import time
import uuid
from contextlib import contextmanager

from flask import current_app

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_thread_locks = {}
_guard = threading.Lock()


class LockBusy(Exception):
    """The lock was not free within the wait time."""


@contextmanager
def named_lock(name, redis=None, ttl_ms=20_000, wait_seconds=25.0):
    """Hold lock `name` for the block. `redis` defaults to the current app's Redis; without one (or with
    `redis=False`) the lock is a thread lock of this process."""
    if redis is None:
        redis = current_app.extensions.get("redis")
    if not redis:
        with _guard:
            lock = _thread_locks.setdefault(name, threading.Lock())
        if not lock.acquire(timeout=wait_seconds):
            raise LockBusy(name)
        try:
            yield
        finally:
            lock.release()
        return
    key, owner = "lock:" + name, uuid.uuid4().hex
    deadline = time.monotonic() + wait_seconds
    while not redis.set(key, owner, nx=True, px=ttl_ms):
        if time.monotonic() > deadline:
            raise LockBusy(name)
        time.sleep(0.02)
    try:
        yield
    finally:
        redis.eval(_RELEASE, 1, key, owner)
