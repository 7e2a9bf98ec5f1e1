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
