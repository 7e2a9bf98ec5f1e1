"""Pooled database connections: with DB_PING_IDLE_SECONDS (what `python worker.py` runs with) a connection
is checked before use only once it has sat idle that long, and a dead one found then is replaced; without it
every checkout is checked (`pool_pre_ping`)."""

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError


def _query(db):
    value = db.session.scalar(sa.text("SELECT 1"))
    db.session.remove()  # the connection goes back to the pool
    return value


def _kill_pooled_connection(db):
    """Close, under the pool's feet, the connection it hands out next (what a restarted server does)."""
    pooled = db.engine.raw_connection()
    dbapi_connection = pooled.dbapi_connection
    pooled.close()  # back to the pool, still open
    dbapi_connection.close()


def test_a_connection_idle_long_enough_is_checked_and_replaced_when_dead(make_app):
    app = make_app(DB_PING_IDLE_SECONDS=0.3)
    with app.app_context():
        from portal.extensions import db

        assert _query(db) == 1
        _kill_pooled_connection(db)
        time.sleep(0.4)  # longer than DB_PING_IDLE_SECONDS: the next checkout pings
        assert _query(db) == 1


def test_a_connection_given_back_a_moment_ago_is_used_without_a_check(make_app):
    app = make_app(DB_PING_IDLE_SECONDS=60)
    with app.app_context():
        from portal.extensions import db

        assert _query(db) == 1
        _kill_pooled_connection(db)
        with pytest.raises(DBAPIError):  # no ping: the statement meets the dead connection
            _query(db)
        db.session.remove()
        assert _query(db) == 1  # the pool was invalidated and connects again


def test_without_the_setting_every_checkout_is_checked(make_app):
    app = make_app(DB_PING_IDLE_SECONDS=0)
    with app.app_context():
        from portal.extensions import db

        assert _query(db) == 1
        _kill_pooled_connection(db)
        assert _query(db) == 1
