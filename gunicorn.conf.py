"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py wsgi:app` (behind nginx).

Everything can be tuned from the environment:

| Variable | Meaning | Default |
|---|---|---|
| `GUNICORN_BIND` | address to listen on (nginx proxies to it) | `127.0.0.1:8000` |
| `GUNICORN_WORKERS` (or `WEB_CONCURRENCY`) | worker processes | 2 per core, at least 2 |
| `GUNICORN_THREADS` | threads per worker (`gthread`; pages wait on MySQL, Redis and WeChat) | 8 |
| `GUNICORN_TIMEOUT` | seconds a silent worker lives before the master restarts it | 60 |
| `GUNICORN_GRACEFUL_TIMEOUT` | seconds running requests get to finish after SIGTERM/HUP | 30 |
| `GUNICORN_KEEPALIVE` | seconds an idle nginx upstream connection stays open | 5 |
| `FORWARDED_ALLOW_IPS` | proxies whose X-Forwarded-Proto gunicorn trusts | `127.0.0.1,::1` |
| `GUNICORN_PRELOAD` | `1` loads the app in the master before forking | `0` |
| `GUNICORN_CONTROL_SOCKET` | path of gunicorn's control socket (`gunicornc`) | none (disabled) |
| `LOG_FORMAT`, `LOG_LEVEL` | `kv` or `json` lines, as the portal's own logs | `kv`, `INFO` |

Preload is off by default: a `kill -HUP` then reloads new code without a restart, and no connection is
created before the fork. The portal holds only an SQLAlchemy engine and a Redis client per process, so the
memory a preload would share is small. With `GUNICORN_PRELOAD=1` (import errors fail at start, workers
spawn faster) `post_fork` disposes the engine the master created, so no pooled MySQL connection is shared
by two processes; redis-py resets its own pool when it sees a new pid.

Access lines go through the portal's formatter: one line per request with its `request_id` (the
X-Request-Id the portal answers with), the path without its query string, status, size and time.
"""

import gc
import multiprocessing
import os


def _env(name, default):
    value = os.environ.get(name, "")
    return value if value.strip() else default


bind = _env("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(_env("GUNICORN_WORKERS", _env("WEB_CONCURRENCY", max(2, 2 * multiprocessing.cpu_count()))))
threads = int(_env("GUNICORN_THREADS", 8))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(_env("GUNICORN_TIMEOUT", 60))  # WeChat's read timeout is 15 s; slow calls run as jobs
graceful_timeout = int(_env("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = int(_env("GUNICORN_KEEPALIVE", 5))
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
preload_app = _env("GUNICORN_PRELOAD", "0").lower() in ("1", "true", "yes")
# gunicorn's control socket defaults to one path per user, which two instances on a host would share.
control_socket_disable = not _env("GUNICORN_CONTROL_SOCKET", "")
if not control_socket_disable:
    control_socket = _env("GUNICORN_CONTROL_SOCKET", "")

access_log_format = '%(m)s %(U)s %(s)s %(B)sB %(M)sms from=%(h)s fwd=%({x-forwarded-for}i)s'
_format = _env("LOG_FORMAT", "kv").strip().lower()
_level = _env("LOG_LEVEL", "INFO").upper()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "portal.logging_setup.ContextFilter"}},
    "formatters": {"structured": {"()": "portal.logging_setup.StructuredFormatter", "style": _format}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                            "formatter": "structured", "filters": ["context"]}},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": _level, "propagate": False},
        "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}


def post_worker_init(worker):
    """Freeze what the worker has loaded (the app, SQLAlchemy's mappers, every module: hundreds of thousands
    of objects that live as long as the process), so that the collector never walks it again: under push
    load (`make bench`, the deployment rows) three of four workers otherwise ran a full collection that
    freed nothing and stopped all of their threads for 97-235 ms on the 2-core bench machine; frozen, the
    full collections seen took under 0.5 ms.

    Then say when a worker has its own signal handlers and serves: a SIGTERM that reaches a worker between
    its fork and this point is lost (gunicorn's handler copied from the master only queues it), and the
    master then waits the whole graceful timeout before it kills that worker."""
    gc.collect()
    gc.freeze()
    worker.log.info("Worker ready (pid: %s)", worker.pid)


def post_fork(server, worker):
    """A preloaded app's database connections belong to the master: drop them (without closing the
    master's sockets) so this worker opens its own."""
    if not server.cfg.preload_app:
        return
    import sys

    wsgi = sys.modules.get("wsgi")
    if wsgi is None:
        return
    from portal.extensions import db

    with wsgi.app.app_context():
        db.engine.dispose(close=False)
