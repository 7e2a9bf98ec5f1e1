"""What the app holds besides the database and Redis (`portal.coordination`): the secret box.

They live in `app.extensions`, never in module globals, so each app (and each test) has its own.
"""

import logging
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from portal.secretbox import SecretBox

log = logging.getLogger("portal.db")


@event.listens_for(Engine, "connect")
def _sqlite_enforces_foreign_keys(dbapi_connection, _record):
    """SQLite ignores foreign keys unless asked; MySQL enforces them. Behave the same on both."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def engine_options(config):
    """SQLAlchemy engine options: `pool_pre_ping` (a restarted MySQL costs no failed page once it is back),
    and on MySQL a connect timeout, so a server that does not answer fails a page in seconds, not minutes."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_pre_ping", True)
    if str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("mysql"):
        options.setdefault("pool_recycle", 3600)  # under MySQL's wait_timeout, so idle connections stay usable
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", int(config.get("DB_CONNECT_TIMEOUT", 5)))
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
