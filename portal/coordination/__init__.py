"""What the portal's threads and processes share to work together: named locks, flags, "at most once"
keys, rate counters and back-off windows, leases, and the job queue, behind one object in
`app.extensions["coordination"]`.

It is made once by `init_app` (from `create_app`) and chosen by configuration: with `REDIS_URL`, Redis and
RQ (`redis.py`), shared by every process; without it (embedded mode, `make run`), this process's memory and
threads (`embedded.py`). The embedded one keeps its state on the instance, so two apps in one process never
share any. Callers ask for what they mean (`lock`, `mark`, `take`, `claim`, `hold_lease`, `enqueue`...)
and never branch on the mode. Imports nothing from `portal` outside this package; it sits below services and
`queueing`, which use it.
"""

from flask import current_app

from portal.coordination.base import LIVE, WAITING, Coordination, JobState, LockBusy, ThreadLocks
from portal.coordination.embedded import EmbeddedCoordination
from portal.coordination.redis import RedisCoordination


def init_app(app):
    """Make the app's coordination from its configuration: Redis when REDIS_URL is set, else embedded.
    The Redis client is also `app.extensions["redis"]`, for the worker and for tests' clean-up."""
    url = app.config.get("REDIS_URL")
    if url:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        coordination = RedisCoordination(client)
    else:
        client, coordination = None, EmbeddedCoordination(app)
    app.extensions["redis"] = client
    app.extensions["coordination"] = coordination
    return coordination


def coordination(app=None):
    """The coordination of `app` (default: the current app)."""
    return (app or current_app).extensions["coordination"]


__all__ = ["LIVE", "WAITING", "Coordination", "JobState", "LockBusy", "ThreadLocks", "coordination", "init_app"]
