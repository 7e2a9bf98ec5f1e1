"""The fleet's shared WeChat call limiter: FLEET_CALLS_PER_SECOND across every worker (a rate counter of the
app's coordination: per second in Redis, or in this process in embedded mode) and the pause every worker
keeps after a 45009 (rate limited). Imports nothing from the other fleet modules."""

import time

from flask import current_app

from portal.coordination import coordination

_COUNTER = "fleet:rate"


def throttle(calls):
    """Wait until `calls` WeChat calls fit in FLEET_CALLS_PER_SECOND and no 45009 back-off is running."""
    limit = current_app.config.get("FLEET_CALLS_PER_SECOND", 50)
    shared = coordination()
    while True:
        now = time.time()
        used, paused = shared.count(_COUNTER, int(now), calls)
        if paused > now:  # the calls counted in this second while paused only make the limit stricter
            time.sleep(min(paused - now, 5))
            continue
        if used <= limit or used == calls:
            return
        time.sleep(max(0.01, int(now) + 1 - now))


def back_off_everyone(seconds):
    coordination().back_off(_COUNTER, seconds)
