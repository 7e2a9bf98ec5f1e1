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
        paused = float((redis.get("fleet:paused-until") or 0) if redis is not None else _local["paused_until"])
        if paused > now:
            time.sleep(min(paused - now, 5))
            continue
        window = int(now)
        if redis is not None:
            key = f"fleet:rate:{window}"
            used = redis.incrby(key, calls)
            redis.expire(key, 3)
        else:
            if _local["window"] != window:
                _local.update(window=window, count=0)
            _local["count"] += calls
            used = _local["count"]
        if used <= limit or used == calls:
            return
        time.sleep(max(0.01, window + 1 - now))


def back_off_everyone(seconds):
    until = time.time() + seconds
    redis = current_app.extensions.get("redis")
    if redis is not None:
        redis.set("fleet:paused-until", until, ex=max(1, int(seconds) + 1))
    else:
        _local["paused_until"] = until
