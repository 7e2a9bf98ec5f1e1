"""Connections the app holds besides the database: Redis (optional) and the secret box.

They live in `app.extensions`, never in module globals, so each app (and each test) has its own.
"""

import sqlite3

import redis
from flask import current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine

from portal.secretbox import SecretBox


@event.listens_for(Engine, "connect")
def _sqlite_enforces_foreign_keys(dbapi_connection, _record):
    """SQLite ignores foreign keys unless asked; MySQL enforces them. Behave the same on both."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def init_connections(app):
    previous = [k.strip() for k in app.config.get("DATA_KEY_PREVIOUS", "").split(",") if k.strip()]
    app.extensions["secretbox"] = SecretBox(app.config["DATA_KEY"], previous)
    url = app.config.get("REDIS_URL")
    app.extensions["redis"] = redis.Redis.from_url(url, socket_connect_timeout=2) if url else None


def get_redis():
    """The app's Redis client, or None in embedded mode (no REDIS_URL)."""
    return current_app.extensions.get("redis")


def get_secretbox():
    return current_app.extensions["secretbox"]
