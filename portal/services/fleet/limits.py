"""The fleet's shared WeChat call limiter: FLEET_CALLS_PER_SECOND across every worker (a Redis counter per
second; a process-wide one in embedded mode) and the pause every worker keeps after a 45009 (rate limited).
Imports nothing from the other fleet modules."""

import time

from flask import current_app

_local = {"window": 0, "count": 0, "paused_until": 0.0}


def throttle(calls):
    """Wait until `calls` WeChat calls fit in FLEET_CALLS_PER_SECOND and no 45009 back-off is running."""
    limit = current_app.config.get("FLEET_CALLS_PER_SECOND", 50)
    redis = current_app.extensions.get("redis")
    while True:
        now = time.time()
        paused, used = _take(redis, calls, int(now))
        if paused > now:  # the calls counted in this second while paused only make the limit stricter
            time.sleep(min(paused - now, 5))
            continue
        if used <= limit or used == calls:
            return
        time.sleep(max(0.01, int(now) + 1 - now))


def _take(redis, calls, window):
    """(end of the 45009 pause, calls counted in this second including `calls`): one round trip to Redis."""
    if redis is None:
        if _local["window"] != window:
            _local.update(window=window, count=0)
        _local["count"] += calls
        return _local["paused_until"], _local["count"]
    key = f"fleet:rate:{window}"
    paused, used, _ok = redis.pipeline(transaction=False).get("fleet:paused-until").incrby(key, calls) \
        .expire(key, 3).execute()
    return float(paused or 0), used


def back_off_everyone(seconds):
    until = time.time() + seconds
    redis = current_app.extensions.get("redis")
    if redis is not None:
        redis.set("fleet:paused-until", until, ex=max(1, int(seconds) + 1))
    else:
        _local["paused_until"] = until
