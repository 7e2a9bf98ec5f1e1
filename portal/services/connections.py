"""Connections the app holds besides the database: Redis (optional) and the secret box.

They live in `app.extensions`, never in module globals, so each app (and each test) has its own.
"""

import redis
from flask import current_app

from portal.secretbox import SecretBox


def init_connections(app):
    previous = [k.strip() for k in app.config.get("DATA_KEY_PREVIOUS", "").split(",") if k.strip()]
    app.extensions["secretbox"] = SecretBox(app.config["DATA_KEY"], previous)
    url = app.config.get("REDIS_URL")
    app.extensions["redis"] = redis.Redis.from_url(url) if url else None


def get_redis():
    """The app's Redis client, or None in embedded mode (no REDIS_URL)."""
    return current_app.extensions.get("redis")


def get_secretbox():
    return current_app.extensions["secretbox"]
