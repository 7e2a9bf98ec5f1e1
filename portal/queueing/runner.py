"""Running an RQ worker for as long as the process should: through Redis restarts, until a signal.

RQ's work loop quits when its Redis connection is lost mid-run ("found an unhandled exception,
quitting"), which would leave a host without workers after a Redis restart. `work_until_stopped` waits for
Redis and starts a fresh worker instead; only a shutdown request (SIGTERM/SIGINT, RQ's warm or cold
shutdown) ends it. Jobs lost with Redis are found again by the periodic recovery jobs. No Flask here.
"""

import logging
import signal
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import StopRequested

log = logging.getLogger("portal.jobs.runner")


def wait_for_redis(redis, max_interval=5.0):
    """Block until Redis answers, retrying with a growing pause (a worker started while Redis restarts
    waits for it instead of exiting). A signal still stops the process: no job runs meanwhile."""
    pause = 0.2
    while True:
        try:
            return redis.ping()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning("Redis is not reachable (%s); trying again in %.1f s", exc.__class__.__name__, pause)
            time.sleep(pause)
            pause = min(pause * 2, max_interval)


def _shutdown_requested(worker):
    # RQ records the time of the first SIGTERM/SIGINT (warm shutdown) on the worker
    return getattr(worker, "_shutdown_requested_date", None) is not None


def work_until_stopped(make_worker, redis, restart_pause=1.0, **work_kwargs):
    """Run `make_worker().work(**work_kwargs)` again and again until a shutdown is requested."""
    while True:
        worker = make_worker()
        try:
            worker.work(**work_kwargs)
        except RedisError as exc:  # RQ's teardown after a lost connection
            log.warning("worker %s: Redis failed while stopping (%s)", worker.name, exc.__class__.__name__)
        except StopRequested:  # a SIGTERM/SIGINT while RQ tears down after its loop: raised outside it
            return worker
        if _shutdown_requested(worker):
            return worker
        log.warning("worker %s left its loop without a shutdown request (Redis lost?); starting a fresh one",
                    worker.name)
        # RQ's handlers belong to the old worker; until the new one installs its own, a signal just ends us
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        time.sleep(restart_pause)
        wait_for_redis(redis)
