"""Shared fixtures: a migrated database (SQLite or MariaDB, chosen by DATABASE_URL), an app per test,
clients that log in through the real login form, and factories for tenants and users.

State is cleaned after each test by deleting every row and flushing the test Redis database, because
RQ workers and the sandbox use other connections than the test's.
"""

import os
import re
import socket
import tempfile

import pytest
import sqlalchemy as sa

TEST_PASSWORD = "correct-horse-battery"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _database_url():
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="portal-test-"), "test.sqlite3")


def _recreate_mysql_database(url):
    parsed = sa.engine.make_url(url)
    server = sa.create_engine(parsed.set(database=""))
    with server.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{parsed.database}`")
        conn.exec_driver_sql(f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    server.dispose()


@pytest.fixture(scope="session")
def database_url():
    """A fresh database with the schema created by running the Alembic migrations (this tests them)."""
    url = _database_url()
    if url.startswith("mysql"):
        _recreate_mysql_database(url)
    elif url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        if os.path.exists(path):
            os.remove(path)
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app(base_overrides(url))
    with app.app_context():
        upgrade()
        from portal.extensions import db

        db.engine.dispose()
    return url


def base_overrides(url):
    redis_url = os.environ.get("REDIS_URL")
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret-key",
        "DATA_KEY": "test-data-key",
        "REDIS_URL": _test_redis_url(redis_url) if redis_url else None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "SERVER_NAME": None,
    }


def _test_redis_url(url):
    """Tests use database 15 of the given Redis so flushing it never touches anything else."""
    return re.sub(r"/\d*$", "", url.rstrip("/")) + "/15"


@pytest.fixture
def make_app(database_url):
    """Factory for apps on the test database; every app made is cleaned up after the test."""
    apps = []

    def factory(**overrides):
        from portal import create_app

        settings = base_overrides(database_url)
        settings.update(overrides)
        app = create_app(settings)
        apps.append(app)
        return app

    yield factory
    if apps:
        _clean(apps[0])
    for app in apps:
        with app.app_context():
            from portal.extensions import db

            db.session.remove()
            db.engine.dispose()


def _clean(app):
    from portal.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "mysql":
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            if conn.dialect.name == "mysql":
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
        redis = app.extensions.get("redis")
        if redis is not None:
            redis.flushdb()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


def csrf_token(client, path="/account/login"):
    """The CSRF token of the client's session, read from a page like a browser would."""
    page = client.get(path, follow_redirects=True)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, "no CSRF token on " + path
    return match.group(1)


def post_form(client, path, data=None, token_from="/account/login", **kwargs):
    """POST a form with a valid CSRF token, as the portal's own pages would."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client, token_from))
    return client.post(path, data=data, **kwargs)


@pytest.fixture
def make_tenant(app):
    counter = {"n": 0}

    def factory(name=None, **fields):
        from portal.extensions import db
        from portal.models import Tenant

        counter["n"] += 1
        with app.app_context():
            tenant = Tenant(name=name or f"Tenant {counter['n']}", **fields)
            db.session.add(tenant)
            db.session.commit()
            return tenant.id

    return factory


@pytest.fixture
def make_user(app):
    counter = {"n": 0}

    def factory(role="merchant", tenant_id=None, email=None, password=TEST_PASSWORD, **fields):
        from portal.extensions import db
        from portal.models import User

        counter["n"] += 1
        with app.app_context():
            user = User(email=email or f"user{counter['n']}@example.com", role=role, tenant_id=tenant_id, **fields)
            if password:
                user.set_password(password)
            db.session.add(user)
            db.session.commit()
            return user.id

    return factory


@pytest.fixture
def login_as(app, client):
    """Log the test client in through the real login form; returns the response."""

    def do_login(email, password=TEST_PASSWORD, test_client=None):
        c = test_client or client
        return post_form(c, "/account/login", {"email": email, "password": password})

    return do_login


@pytest.fixture
def staff(make_user, login_as):
    """A logged-in staff user (returns its id)."""
    user_id = make_user(role="staff", email="staff@example.com")
    assert login_as("staff@example.com").status_code == 302
    return user_id


@pytest.fixture
def two_tenants(make_tenant, make_user):
    """Tenants A and B with one merchant user each: {'a': (tenant_id, user_id, email), 'b': …}."""
    result = {}
    for key in ("a", "b"):
        tenant_id = make_tenant(f"Tenant {key.upper()}")
        email = f"merchant-{key}@example.com"
        result[key] = (tenant_id, make_user(tenant_id=tenant_id, email=email), email)
    return result


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Fail any attempt to open a network connection to anything but this machine."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")):
            raise RuntimeError(f"test tried to reach {host}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def tenant_objects(app):
    """Creates one of each tenant-owned object for a tenant; returns their ids by kind."""
    counter = {"n": 0}

    def factory(tenant_id):
        from portal.extensions import db
        from portal.models import Audit, MiniProgram

        counter["n"] += 1
        with app.app_context():
            appid = f"wxobj{tenant_id:05d}{counter['n']:07d}"
            mp = MiniProgram(authorizer_appid=appid, nick_name=f"App {appid}", tenant_id=tenant_id)
            db.session.add(mp)
            db.session.flush()
            audit = Audit(appid=appid, auditid=f"9{counter['n']:08d}", miniprogram_id=mp.id)
            db.session.add(audit)
            db.session.commit()
            return {"miniprogram": mp.id, "audit": audit.id, "appid": appid}

    return factory
