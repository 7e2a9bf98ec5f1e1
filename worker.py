"""RQ worker: `python worker.py [--fork] [queue …]` runs jobs (commit, audit, release, fleet steps, token
refresh) with the scheduler, so retries with intervals and scheduled jobs run. Several workers may run on
several machines.

The app is created once and `portal.jobs` imported before work starts. By default jobs run in the worker
process itself (`AppWorker`, an RQ `SimpleWorker`), each in a fresh app context so it gets its own database
session; the connection pool, the Redis connection and SQLAlchemy's statement cache are kept from job to job.
A fleet step costs tens of milliseconds of our own work around 100 ms WeChat calls, so forking a process,
reconnecting and recompiling every statement per job (RQ's default) would cost more than the step. Job
timeouts still apply (SIGALRM in this process), and SIGTERM still lets the current job finish (warm
shutdown). `--fork` runs each job in a forked work horse instead (the database engine is disposed first,
so no pooled connection crosses the fork).
"""

import sys

from rq import SimpleWorker, Worker

from portal import create_app
from portal.jobs.queues import QUEUE_ORDER, get_queue


class AppWorker(SimpleWorker):
    """Runs each job in this process, inside its own app context (a new session, removed afterwards)."""

    flask_app = None

    def perform_job(self, job, queue):
        with self.flask_app.app_context():
            return super().perform_job(job, queue)


def main(argv):
    fork = "--fork" in argv
    names = [a for a in argv if a != "--fork"] or list(QUEUE_ORDER)
    # without a fork per job, the process can keep a bookkeeping thread (portal.services.background)
    app = create_app({"BACKGROUND_BOOKKEEPING": not fork})
    redis = app.extensions.get("redis")
    if redis is None:
        sys.exit("REDIS_URL is not set: without Redis, jobs run inside the portal process (embedded mode).")
    unknown = [n for n in names if n not in QUEUE_ORDER]
    if unknown:
        sys.exit(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(QUEUE_ORDER)}")
    with app.app_context():
        import portal.jobs  # noqa: F401 - load job modules before any job runs (or before forking)
        from portal.extensions import db

        db.engine.dispose()
        from portal.jobs.schedule import PeriodicEnqueuer

        PeriodicEnqueuer(app).start()
        queues = [get_queue(n, redis) for n in names]
        if fork:
            worker = Worker(queues, connection=redis)
        else:
            worker = AppWorker(queues, connection=redis)
            worker.flask_app = app
        worker.work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
