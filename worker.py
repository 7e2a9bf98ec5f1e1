"""RQ worker: `python worker.py [--fork] [queue …]` runs jobs (commit, audit, release, fleet steps, token
refresh) with the scheduler, so retries with intervals and scheduled jobs run. Several workers may run on
several machines.

The app is created once and `portal.jobs` imported before work starts. By default jobs run in the worker
process itself (`AppWorker`, an RQ `SimpleWorker`), each in a fresh app context so it gets its own database
session; the connection pool, the Redis connection and SQLAlchemy's statement cache are kept from job to job.
A fleet step costs tens of milliseconds of our own work around 100 ms WeChat calls, so forking a process,
reconnecting and recompiling every statement per job (RQ's default) would cost more than the step. Job
timeouts still apply (SIGALRM in this process). `--fork` runs each job in a forked work horse instead (the
database engine is disposed first, so no pooled connection crosses the fork).

SIGTERM is a warm shutdown (the running job finishes, then the periodic enqueuer stops and the process
exits 0); a second SIGTERM or SIGINT stops at once. With `--fork`, signal the worker process itself
(systemd: `KillMode=mixed`), not its whole group, or the job's work horse gets the first SIGTERM too.
A lost Redis connection does not end the worker: it waits for Redis and starts a fresh RQ worker.

Pushes are acknowledged once written to the host's push spool (CALLBACK_ACKNOWLEDGE=spooled, the default): a
worker also runs this host's spool drainer, `flask drain-pushes --follow` as a child process at
CALLBACK_DRAINER_NICE (10), so answering WeChat comes first and storing uses what CPU is left; the child is
started again if it dies, and stopped with the worker. Several workers on one host each start one; one
drains, the others wait to take over (see `portal.services.pushes.spool_drainer`).
"""

import gc
import os
import sys

from rq import SimpleWorker, Worker
from rq.utils import now as utcnow
from rq.worker import WorkerStatus

from portal import create_app
from portal.queueing.queues import QUEUE_ORDER, SERIALIZER, get_queue
from portal.queueing.runner import wait_for_redis, work_until_stopped
from portal.queueing.schedule import periodic_enqueuer
from portal.services.pushes.spool_drainer import supervised_host_drainer


class AppWorker(SimpleWorker):
    """Runs each job in this process, inside its own app context (a new session, removed afterwards).

    RQ's loop writes the worker's own hash several times per job: a heartbeat after the job, another as it
    starts listening and one more once a job is dequeued (each an HSET and an EXPIRE pushing the key's expiry
    `worker_ttl` + 60 s ahead), and the "idle" state twice in a row. For fleet steps of a few 100 ms each that
    is a dozen Redis round trips per job on the path from one WeChat call to the next. A heartbeat within
    HEARTBEAT_EVERY seconds of the last one, and a state the hash already holds, are not written again: the
    key still expires minutes after the last write, so the worker stays registered, and `rq info` shows a
    heartbeat at most HEARTBEAT_EVERY seconds old. Heartbeats RQ sends in a pipeline (as a job starts, with
    the job's own timeout) always go through."""

    flask_app = None
    HEARTBEAT_EVERY = 10.0

    def perform_job(self, job, queue):
        with self.flask_app.app_context():
            return super().perform_job(job, queue)

    def heartbeat(self, timeout=None, pipeline=None):
        if pipeline is None and timeout is None and self.last_heartbeat is not None \
                and (utcnow() - self.last_heartbeat).total_seconds() < self.HEARTBEAT_EVERY:
            return
        super().heartbeat(timeout, pipeline)

    def set_state(self, state, pipeline=None):
        if pipeline is None and state == getattr(self, "_state", None) == WorkerStatus.IDLE:
            return
        super().set_state(state, pipeline)


def main(argv):
    fork = "--fork" in argv
    names = [a for a in argv if a != "--fork"] or list(QUEUE_ORDER)
    # without a fork per job, the process can keep a bookkeeping thread (portal.services.background)
    app = create_app({"BACKGROUND_BOOKKEEPING": not fork})
    redis = app.extensions["coordination"].redis
    if redis is None:
        sys.exit("REDIS_URL is not set: without Redis, jobs run inside the portal process (embedded mode).")
    unknown = [n for n in names if n not in QUEUE_ORDER]
    if unknown:
        sys.exit(f"unknown queue(s): {', '.join(unknown)}; known: {', '.join(QUEUE_ORDER)}")
    wait_for_redis(redis)  # started while Redis restarts: wait rather than exit
    with app.app_context():
        import portal.jobs  # noqa: F401 - load job modules before any job runs (or before forking)
        from portal.extensions import db

        db.engine.dispose()
        # What is loaded by now (the app, SQLAlchemy's mappers, every job module: over 100,000 objects) lives as
        # long as the process. Left to the collector, each full collection walks it all again, a pause of
        # 70 ms or more between two WeChat calls; frozen, it is never walked (and, with --fork, never
        # copied into a work horse by the collector touching it).
        gc.collect()
        gc.freeze()
        queues = [get_queue(n, redis) for n in names]

        def make_worker():
            if fork:
                return Worker(queues, connection=redis, serializer=SERIALIZER)
            worker = AppWorker(queues, connection=redis, serializer=SERIALIZER)
            worker.flask_app = app
            return worker

        # SIGTERM/SIGINT: RQ's warm shutdown lets the running job finish, then work() returns and the
        # enqueuer stops; a second signal (a second or more later) kills the job and exits at once.
        # A lost Redis connection makes RQ quit its loop: work_until_stopped starts a fresh worker.
        with periodic_enqueuer(app), supervised_host_drainer(app, os.path.dirname(os.path.abspath(__file__))):
            work_until_stopped(make_worker, redis, with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
