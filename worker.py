"""RQ worker: `python worker.py [queue …]` runs jobs (commit, audit, release, token refresh) with the
scheduler, so retries with intervals and scheduled jobs run. Several workers may run on several machines.

The app is created once and `portal.jobs` imported before work starts; the database engine is disposed
so no pooled connection crosses the fork of a job. SIGTERM is a warm shutdown (the running job finishes,
then the periodic enqueuer stops and the process exits 0); a second SIGTERM or SIGINT stops at once.
Signal the worker process itself (systemd: `KillMode=mixed`), not its whole group, or the job's work
horse gets the first SIGTERM too.
"""

import sys

from rq import Worker

from portal import create_app
from portal.jobs.queues import QUEUE_ORDER, get_queue
from portal.jobs.runner import wait_for_redis, work_until_stopped


def main(argv):
    app = create_app()
    redis = app.extensions.get("redis")
    if redis is None:
        sys.exit("REDIS_URL is not set: without Redis, jobs run inside the portal process (embedded mode).")
    names = argv or list(QUEUE_ORDER)
    unknown = [n for n in names if n not in QUEUE_ORDER]
    if unknown:
        sys.exit(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(QUEUE_ORDER)}")
    wait_for_redis(redis)  # started while Redis restarts: wait rather than exit
    with app.app_context():
        import portal.jobs  # noqa: F401 - load job modules before forking
        from portal.extensions import db

        db.engine.dispose()
        from portal.jobs.schedule import periodic_enqueuer

        # SIGTERM/SIGINT: RQ's warm shutdown lets the running job finish, then work() returns and the
        # enqueuer stops; a second signal (a second or more later) kills the job and exits at once.
        # A lost Redis connection makes RQ quit its loop: work_until_stopped starts a fresh worker.
        with periodic_enqueuer(app):
            work_until_stopped(lambda: Worker([get_queue(n, redis) for n in names], connection=redis), redis,
                               with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
