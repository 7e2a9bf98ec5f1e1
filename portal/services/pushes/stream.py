"""The push stream: with CALLBACK_ACKNOWLEDGE=queued, a checked push is appended to a Redis stream and
WeChat gets `success` at once; drainers store the stream into the database in large transactions.

What is queued is the push as WeChat sent it (its still encrypted body and the signed query), after the
signature, timestamp, decryption, XML and appid checks passed: no decrypted secret is written to Redis, and
the drainer checks it again (all but the timestamp) before storing it like any push (once, retries counted).

Safety: `success` is answered only once XADD has returned, and only when Redis keeps its data on disk
(`appendonly yes`; checked once per process, CALLBACK_QUEUE_REQUIRE_AOF=false skips the check for a Redis
that hides CONFIG). Without Redis, or with a Redis that persists nothing, pushes are stored before success
as usual. An entry leaves the stream only after its rows are committed (XACK, then XDEL); an entry read by
a drainer that died stays pending and is claimed by another one after CALLBACK_CLAIM_IDLE_SECONDS.

Every web process drains in a daemon thread started with its first queued push (unless
CALLBACK_DRAIN_IN_PROCESS is false); `flask drain-pushes` drains from the command line, and every worker's
schedule drains once a minute (`drain_periodically`), so nothing waits for the next push after a restart.
"""

import json
import logging
import os
import socket
import threading
import time

from flask import current_app
from redis.exceptions import ConnectionError, RedisError, ResponseError, TimeoutError  # noqa: A004

from portal.coordination import coordination
from portal.extensions import db

log = logging.getLogger("portal.callbacks")

STREAM, GROUP = "callbacks:pushes", "portal"
QUERY_FIELDS = ("msg_signature", "timestamp", "nonce")
BATCH = 500  # entries stored per transaction
DRAIN_PAUSE_SECONDS = 0.1


def is_available():
    """True when pushes are to be queued: configured, Redis present and persistent."""
    app = current_app._get_current_object()
    return _is_configured(app) and _state(app).durable


def _is_configured(app):
    """Pushes are to be queued, and the app's coordination can keep the stream (it does with Redis)."""
    return app.config.get("CALLBACK_ACKNOWLEDGE") == "queued" and can_exist(app)


def can_exist(app):
    """True when the app's coordination keeps streams (Redis): pushes may wait in the stream, queued now or
    before CALLBACK_ACKNOWLEDGE changed."""
    return coordination(app).has_streams


def client(app):
    """The Redis client that holds the push stream (only when the coordination `has_streams`)."""
    return coordination(app).stream_client()


def _state(app):
    return coordination(app).here("push_queue", lambda: _QueueState(app))


def append(source, body, args, path_appid, store, request_id=None):
    """XADD one checked push; an in-process drainer (started here) stores it with `store`. One round trip of its own: Redis answers in tens of microseconds, so
    gathering several threads' pushes into one pipeline (as pushes are group-committed to the database)
    costs more CPU in locks and wake-ups than it saves. :raise RedisError: not queued (the view answers 503).
    """
    app = current_app._get_current_object()
    state = _state(app)
    state.ensure_group()
    state.xadd(("s", source, "a", path_appid or "", "b", body,
                "q", json.dumps({name: args.get(name) for name in QUERY_FIELDS}), "r", request_id or ""))
    if app.config.get("CALLBACK_DRAIN_IN_PROCESS", True):
        state.ensure_drainer(app, store)


class _QueueState:
    def __init__(self, app):
        self.client = client(app)
        self.durable = _is_durable(self.client, app.config)
        self._drainer, self._lock = None, threading.Lock()
        self._group_ready = False
        self._local = threading.local()

    def xadd(self, fields):
        """XADD on this thread's own connection (made like the client's, same server, database and
        credentials): redis-py's command path (pool check-out and check-in under a lock, retry wrapper,
        metrics and events) costs about as much CPU as the round trip itself. A broken connection is
        dropped and the command sent once more on a new one, as redis-py's retry does; any other error
        drops it too, so no half-read answer is left for the next push. :raise RedisError: not added."""
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            pool = self.client.connection_pool
            connection = self._local.connection = pool.connection_class(**pool.connection_kwargs)
            self._local.pid = os.getpid()
        command = connection.pack_command("XADD", STREAM, "*", *fields)
        for attempt in (1, 2):
            try:
                connection.send_packed_command(command, check_health=False)
                return connection.read_response()
            except (ConnectionError, TimeoutError):
                connection.disconnect()
                if attempt == 2:
                    raise
            except BaseException:
                connection.disconnect()
                raise

    def ensure_group(self):
        """The consumer group exists before the first entry, so every drainer sees every entry."""
        if not self._group_ready:
            _ensure_group(self.client)
            self._group_ready = True

    def ensure_drainer(self, app, store):
        drainer = self._drainer
        if drainer is not None and drainer.is_alive() and drainer.pid == os.getpid():
            return
        with self._lock:
            if self._drainer is None or not self._drainer.is_alive() or self._drainer.pid != os.getpid():
                self._drainer = threading.Thread(target=drain_forever, args=(app, store), name="push-drainer",
                                                 daemon=True)
                self._drainer.pid = os.getpid()
                self._drainer.start()


def _is_durable(redis, config):
    if not config.get("CALLBACK_QUEUE_REQUIRE_AOF", True):
        return True
    try:
        durable = redis.config_get("appendonly").get("appendonly") == "yes"
    except RedisError:
        durable = False
    if not durable:
        log.warning("CALLBACK_ACKNOWLEDGE=queued needs a Redis with appendonly yes: pushes are stored "
                    "before success instead")
    return durable


def backlog(app):
    """Entries in the push stream not yet stored (read by a drainer or not); None when pushes are not
    queued, or Redis cannot be asked."""
    if not _is_configured(app):
        return None
    try:
        return client(app).xlen(STREAM)
    except RedisError:
        return None


def consumer_name():
    return f"{socket.gethostname()}:{os.getpid()}"


def _ensure_group(redis):
    try:
        redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _items(entries):
    for key, fields in entries:
        if not fields:  # deleted meanwhile (XAUTOCLAIM reports such ids without fields)
            continue
        query = json.loads(fields[b"q"])
        yield (key, fields[b"s"].decode(), fields[b"b"], query, fields[b"a"].decode() or None,
               fields.get(b"r", b"").decode() or None)


def drain_once(redis, consumer, store, block_ms=None, claim_idle_ms=None):
    """Store what is waiting (entries abandoned by dead drainers first) with `store` (the package's
    `store_queued`: items in, settled keys out); returns how many were settled.

    Must run in an app context. :raise RedisError, SQLAlchemyError: left in the stream, retried later.
    """
    if claim_idle_ms is None:
        claim_idle_ms = int(current_app.config.get("CALLBACK_CLAIM_IDLE_SECONDS", 30) * 1000)
    _ensure_group(redis)
    stale = redis.xautoclaim(STREAM, GROUP, consumer, claim_idle_ms, "0-0", count=BATCH)[1]
    items = list(_items(stale))
    fresh = redis.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=BATCH, block=None if stale else block_ms)
    for _stream, entries in fresh or ():
        items += _items(entries)
    if not items:
        return 0
    settled = store(items)
    if settled:
        redis.xack(STREAM, GROUP, *settled)
        redis.xdel(STREAM, *settled)
    return len(settled)


def drain_all(redis, consumer, store, claim_idle_ms=None):
    """Drain until nothing is waiting (what `flask drain-pushes` runs); returns the count settled."""
    total = 0
    while True:
        settled = drain_once(redis, consumer, store, claim_idle_ms=claim_idle_ms)
        db.session.remove()
        if not settled:
            return total
        total += settled


def drain_periodically(store):
    """The periodic drain (every worker's schedule): stores what waits in the stream, whether or not a web
    process is up to drain it (after a restart, before the next push arrives), then forgets the consumers
    of processes gone for an hour that hold nothing (each web process reads as its own consumer, so the
    group would otherwise collect one per process ever started). Nothing to do unless pushes are queued.
    Returns {"stored", "forgotten"}."""
    if not _is_configured(current_app):
        return {"stored": 0, "forgotten": 0}
    redis = client(current_app)
    if not redis.exists(STREAM):
        return {"stored": 0, "forgotten": 0}
    stored = drain_all(redis, consumer_name(), store)
    forgotten, idle_ms = 0, float(current_app.config.get("CALLBACK_CONSUMER_IDLE_SECONDS", 3600)) * 1000
    for consumer in redis.xinfo_consumers(STREAM, GROUP):
        if consumer["pending"] == 0 and consumer["idle"] >= idle_ms:
            forgotten += redis.xgroup_delconsumer(STREAM, GROUP, consumer["name"])
    return {"stored": stored, "forgotten": forgotten}


def drain_forever(app, store):
    """The in-process drainer: block on the stream, store, repeat; an error waits a second and retries.

    After a partial batch it pauses DRAIN_PAUSE_SECONDS, so that under load pushes gather into batches of
    hundreds (one transaction each) instead of a transaction per handful: the drainer shares the request
    threads' CPU and interpreter lock, and a push waits at most that much longer to be stored.
    """
    consumer, redis = consumer_name(), client(app)
    pause = float(app.config.get("CALLBACK_DRAIN_PAUSE_SECONDS", DRAIN_PAUSE_SECONDS))
    while True:
        try:
            with app.app_context():
                settled = drain_once(redis, consumer, store, block_ms=1000)
            if 0 < settled < BATCH:
                time.sleep(pause)
        except Exception:  # noqa: BLE001 - the entries stay in the stream; try again shortly
            log.exception("draining the push stream failed")
            time.sleep(1)
