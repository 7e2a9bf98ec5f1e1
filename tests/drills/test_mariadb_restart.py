"""Drill: MariaDB restarts while staff browse the portal over HTTP. While it is down every page answers at
once with a 503 page in words (never a 500, never a hang) and /readyz says what is down; once it is back
the same portal process, the same session and the same forms work again, with nothing half-written."""

import os
import re
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Tenant, User
from tests.conftest import TEST_PASSWORD
from tests.drills.conftest import needs_mariadb

pytestmark = [pytest.mark.mysql_only, needs_mariadb,
              pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("mysql"),
                                 reason="a MariaDB drill: runs with the MariaDB suite")]
PAGES = ("/staff/tenants/", "/staff/platform/", "/staff/platform/pushes")
DOWN_TEXT = "平台暂时无法连接数据库"


@pytest.fixture
def drill_app(make_app, own_mariadb, live_server):
    """A portal on the drill's own MariaDB (schema from the migrations), served over HTTP."""
    from flask_migrate import upgrade

    url = own_mariadb.url("portal_drill")
    server = sa.create_engine(own_mariadb.url(""))
    with server.begin() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS portal_drill")
        conn.exec_driver_sql("CREATE DATABASE portal_drill CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    server.dispose()
    app = make_app(SQLALCHEMY_DATABASE_URI=url, REDIS_URL=None)
    with app.app_context():
        upgrade()
        staff = User(email="ops@example.com", role="staff")
        staff.set_password(TEST_PASSWORD)
        db.session.add(staff)
        db.session.commit()
    live_server.app = app
    yield app
    live_server.app = None


def _csrf(session, url):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', session.get(url, timeout=10).text).group(1)


def _login(base):
    session = requests.Session()
    response = session.post(base + "/account/login", data={"email": "ops@example.com", "password": TEST_PASSWORD,
                                                           "csrf_token": _csrf(session, base + "/account/login")},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return session


class Traffic(threading.Thread):
    """Staff clicking through pages without pause; records (status, seconds) of every answer."""

    def __init__(self, session, base):
        super().__init__(daemon=True)
        self.session, self.base, self.seen, self.stop = session, base, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            for path in PAGES:
                started = time.monotonic()
                response = self.session.get(self.base + path, timeout=30)
                self.seen.append((response.status_code, time.monotonic() - started, path))


def test_mariadb_restart_during_page_traffic(drill_app, own_mariadb, live_server):
    base = live_server.url
    session = _login(base)
    token = _csrf(session, base + "/staff/tenants/new")
    traffic = Traffic(_login(base), base)
    traffic.start()
    try:
        time.sleep(0.5)
        own_mariadb.stop()
        down = [session.get(base + path, timeout=30) for path in PAGES]
        ready = session.get(base + "/readyz", timeout=30)
        posted = session.post(base + "/staff/tenants/new", data={"name": "Tea House", "csrf_token": token},
                              timeout=30)
        time.sleep(0.5)
        own_mariadb.start()
        time.sleep(0.5)
    finally:
        traffic.stop.set()
        traffic.join(60)
    assert all(r.status_code == 503 and DOWN_TEXT in r.text and r.headers["Retry-After"] for r in down)
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"
    assert posted.status_code == 503 and "没有保存" in posted.text
    statuses = {status for status, _seconds, _path in traffic.seen}
    assert statuses <= {200, 503} and {200, 503} <= statuses, traffic.seen
    assert max(seconds for _status, seconds, _path in traffic.seen) < 5, "a page hung while MariaDB was down"
    # back: the same process and session, no restart of the portal
    assert all(session.get(base + path, timeout=10).status_code == 200 for path in PAGES)
    assert session.get(base + "/readyz", timeout=10).status_code == 200
    created = session.post(base + "/staff/tenants/new", allow_redirects=False, timeout=10,
                           data={"name": "Tea House", "csrf_token": _csrf(session, base + "/staff/tenants/new")})
    assert created.status_code == 302, created.text
    with drill_app.app_context():
        assert [t.name for t in db.session.query(Tenant)] == ["Tea House"]


def test_a_connection_lost_at_the_end_of_a_request_does_not_fail_it(make_app):
    """The database goes away after a page was made, before the request ends: the session's closing rollback
    fails, which must not become an error (the page was answered), and the next request reconnects."""
    import sqlalchemy as sa

    from portal.extensions import db

    app = make_app()
    with app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("killing a connection from another one needs a database server")
    with app.app_context():
        thread_id = db.session.execute(sa.text("SELECT CONNECTION_ID()")).scalar()  # a transaction is open
        with db.engine.connect() as other:
            other.execute(sa.text(f"KILL {int(thread_id)}"))
    # leaving the context ran the teardowns without raising; the pool hands out a live connection again
    with app.app_context():
        assert db.session.execute(sa.text("SELECT 1")).scalar() == 1
