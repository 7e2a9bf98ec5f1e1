"""A pooled database connection that the server dropped while it sat idle (a MariaDB restart, wait_timeout,
a failover) is replaced as it leaves the pool: the page that takes it works; nobody sees an error for it."""

import os
import time

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.services.connections import PING_AFTER_IDLE_SECONDS

pytestmark = [pytest.mark.mysql_only,
              pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("mysql"),
                                 reason="drops a connection on the server: runs with the MariaDB suite")]


def test_a_connection_dropped_while_idle_is_replaced(app, client, staff):
    assert client.get("/staff/tenants/").status_code == 200
    with app.app_context():
        with db.engine.connect() as conn:
            pooled = conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
        # the page and this block used the same pooled connection (one thread, one at a time)
        killer = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
        with killer.connect() as conn:
            conn.exec_driver_sql(f"KILL {int(pooled)}")
        killer.dispose()
    time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)

    assert client.get("/staff/tenants/").status_code == 200
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar() != pooled


def _rollbacks(conn):
    return int(conn.exec_driver_sql("SHOW SESSION STATUS LIKE 'Com_rollback'").one()[1])


def test_a_connection_is_rolled_back_on_its_way_to_the_pool_only_when_a_transaction_may_be_open(app):
    """After a COMMIT the connection goes back as it is (no ROLLBACK round trip); a transaction left open, by
    SQLAlchemy or by raw DBAPI use it cannot see, is rolled back before anyone else takes the connection."""
    from portal.services.connections import engine_options

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    engine = sa.create_engine(url, pool_size=1, max_overflow=0, **engine_options(app.config))
    other = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE reset_probe (id INT PRIMARY KEY, v INT)")
            conn.exec_driver_sql("INSERT INTO reset_probe VALUES (1, 1)")
            conn.commit()
        with engine.connect() as conn:
            before = _rollbacks(conn)
            conn.commit()
        with engine.connect() as conn:
            assert _rollbacks(conn) == before  # the COMMIT ended it: no ROLLBACK on the way back
            conn.exec_driver_sql("SELECT v FROM reset_probe").all()
        with engine.connect() as conn:  # left without commit: SQLAlchemy's own rollback, and no second one
            assert _rollbacks(conn) == before + 1
            conn.commit()

        raw = engine.raw_connection()  # a read snapshot SQLAlchemy never hears of
        cursor = raw.cursor()
        cursor.execute("SELECT v FROM reset_probe")
        assert cursor.fetchall()[0][0] == 1
        cursor.close()
        raw.close()
        with other.connect() as conn:
            conn.exec_driver_sql("UPDATE reset_probe SET v = 2")
            conn.commit()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT v FROM reset_probe").scalar() == 2  # not the old snapshot
            conn.commit()
    finally:
        with other.connect() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS reset_probe")
            conn.commit()
        engine.dispose()
        other.dispose()
