"""What the app holds besides the database and Redis (`portal.coordination`): the secret box.

They live in `app.extensions`, never in module globals, so each app (and each test) has its own.
"""

import logging
import sqlite3
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from portal.secretbox import SecretBox

log = logging.getLogger("portal.db")


@event.listens_for(Engine, "connect")
def _sqlite_like_a_server(dbapi_connection, _record):
    """SQLite ignores foreign keys unless asked; MySQL enforces them. Behave the same on both.

    And a database file is written ahead (WAL): readers then never wait for a writer nor a writer for them,
    so the embedded job runner's threads, the push drainer and the web threads of `make run` only take turns
    to write. In the default rollback journal a reader's lock also holds back a writer's commit, and three
    of them at once (an authorization push, its job, the authorizer sync) all gave up on "database is locked"."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not an in-memory database
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Session, "after_flush")
def _note_flush(session, _flush_context):
    """Marks a transaction that wrote (see `wrote_in_transaction`)."""
    session.info["flushed"] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_flush(session):
    session.info.pop("flushed", None)


def wrote_in_transaction(session):
    """Whether the session's transaction holds changes, pending or already flushed: only then does a failure
    need a rollback, which would also make every object loaded so far be read again."""
    return bool(session.new or session.dirty or session.deleted or session.info.get("flushed"))


def holds_sqlite_write_lock(session):
    """Whether this session's transaction holds SQLite's one write lock (it has written and not yet ended).
    Then a write on another connection of the same thread waits for a commit that can only come after it:
    work that would commit on a connection of its own (tokens, the call log) has to go inside or after it.
    Python's sqlite3 opens a transaction only for a write, so an open transaction is a writing one."""
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return False
    raw = session.connection().connection.dbapi_connection
    return isinstance(raw, sqlite3.Connection) and raw.in_transaction


# A connection that came back to the pool less than this many seconds ago was working a moment ago.
PING_AFTER_IDLE_SECONDS = 1.0


@event.listens_for(Pool, "connect")
@event.listens_for(Pool, "checkin")
def _note_use(_dbapi_connection, record):
    record.info["used_at"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_after_idle(dbapi_connection, record, _proxy):
    """Make sure a connection taken from the pool still works (a restarted MySQL costs no failed page once it
    is back), when it has been idle for PING_AFTER_IDLE_SECONDS or more. SQLAlchemy's `pool_pre_ping` asks on
    every checkout: a round trip before each transaction, five for a fleet step that commits five times
    within half a second, on a connection a restart cannot have cut since its last transaction ended
    (a restart takes longer than that). A failed ping makes the pool replace the connection."""
    if time.monotonic() - record.info.get("used_at", float("-inf")) < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as exc:  # the driver's own error types: any failure means the connection is gone
        raise DisconnectionError(f"connection failed its ping: {exc.__class__.__name__}") from exc


# --- resetting a connection as it goes back to the pool: only when a transaction may be open ---------------

@event.listens_for(Pool, "checkout")
def _note_checkout(_dbapi_connection, record, _proxy):
    record.info["may_be_in_transaction"] = True  # whatever runs on it, through SQLAlchemy or not


@event.listens_for(Engine, "before_cursor_execute")
def _note_statement(conn, _cursor, _statement, _parameters, _context, _executemany):
    conn.connection.info["may_be_in_transaction"] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _note_transaction_end(conn):
    conn.connection.info["may_be_in_transaction"] = False


@event.listens_for(Engine, "handle_error")
def _note_failure(context):
    """A commit or rollback that failed (or any failed statement) leaves the transaction's state unknown."""
    connection = context.connection
    try:
        if connection is not None and not connection.closed and not connection.invalidated:
            connection.connection.info["may_be_in_transaction"] = True
    except Exception:  # noqa: BLE001 - never mask the error being handled; the checkout mark stands
        pass


@event.listens_for(Pool, "reset")
def _reset_when_needed(dbapi_connection, record, state):
    """A connection going back to the pool is rolled back only if a transaction may still be open on it, so
    the next user never inherits one (on MySQL, a snapshot of old data and its locks). A session's commit
    ends its transaction and then returns the connection, and SQLAlchemy's own reset (`pool_reset_on_return`,
    switched off on MySQL by `engine_options`) would send a ROLLBACK after every COMMIT: one more round trip
    per transaction, per push stored and per fleet step. Any statement, and a checkout alone (raw DBAPI use
    that SQLAlchemy does not see), marks the connection; only a commit or rollback that SQLAlchemy carried
    out after the last statement clears the mark, and a failure sets it again."""
    if isinstance(dbapi_connection, sqlite3.Connection) or state.terminate_only or not state.asyncio_safe:
        return  # SQLite keeps the pool's own reset (a rollback there is no round trip)
    if state.transaction_was_reset or (record is not None and not record.info.get("may_be_in_transaction", True)):
        return
    dbapi_connection.rollback()
    if record is not None:
        record.info["may_be_in_transaction"] = False


def engine_options(config):
    """SQLAlchemy engine options: on MySQL a connect timeout, so a server that does not answer fails a page in
    seconds, not minutes, and on SQLite how long a writer waits for the one writing. Connections are checked
    as they leave the pool by `_ping_after_idle`."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("mysql"):
        options.setdefault("pool_recycle", 3600)  # under MySQL's wait_timeout, so idle connections stay usable
        options.setdefault("pool_reset_on_return", None)  # `_reset_when_needed` does it, when it is needed
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", int(config.get("DB_CONNECT_TIMEOUT", 5)))
        options["connect_args"] = connect_args
    elif str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        connect_args = dict(options.get("connect_args") or {})
        # how long a writer waits for another's transaction (Python's default, 5 s, is short on a busy host)
        connect_args.setdefault("timeout", float(config.get("SQLITE_BUSY_TIMEOUT", 20)))
        options["connect_args"] = connect_args
    return options


def end_session_quietly(db):
    """Teardown that ends the request's database session before Flask-SQLAlchemy's own does (teardowns run
    in reverse order of registration). If the database went away mid-request, the session's final rollback
    fails; the answer is already made (a page, or the 503 in words), so that failure must not turn it into
    a 500: the broken connection is discarded and the pool reconnects on the next request."""

    def teardown(_exc):
        try:
            db.session.remove()
        except DBAPIError as exc:
            log.warning("database connection lost while ending a request: %s", exc.__class__.__name__)
            db.session.registry.clear()

    return teardown


def init_connections(app):
    previous = [k.strip() for k in app.config.get("DATA_KEY_PREVIOUS", "").split(",") if k.strip()]
    app.extensions["secretbox"] = SecretBox(app.config["DATA_KEY"], previous)
