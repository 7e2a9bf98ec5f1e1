"""Shared fixtures: a migrated database (SQLite or MariaDB, chosen by DATABASE_URL), an app per test,
clients that log in through the real login form, and factories for tenants and users.

State is cleaned after each test by deleting every row and flushing the test Redis database, because
RQ workers and the sandbox use other connections than the test's.
"""

import os
import re
import secrets
import socket
import tempfile

import pytest
import sqlalchemy as sa

TEST_PASSWORD = "correct-horse-battery"
# Strong keys for this run: worker and gunicorn processes started by tests count as production.
TEST_SECRET_KEY = secrets.token_urlsafe(32)
TEST_DATA_KEY = secrets.token_urlsafe(32)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# Most tests read what a push changed right after posting it, so the suite stores pushes before `success`
# (and so do the worker and gunicorn processes tests start, which inherit this environment); the tests of
# the spool and of the default deployment choose the mode themselves.
ACKNOWLEDGE = os.environ.setdefault("CALLBACK_ACKNOWLEDGE", "stored")


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
        for leftover in (path, path + "-wal", path + "-shm"):  # a stale write-ahead log must not meet a new file
            if os.path.exists(leftover):
                os.remove(leftover)
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
        "PORTAL_ENV": "development",
        "CALLBACK_ACKNOWLEDGE": ACKNOWLEDGE,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATA_KEY": TEST_DATA_KEY,
        "REDIS_URL": _test_redis_url(redis_url) if redis_url else None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "SERVER_NAME": None,
    }


def _test_redis_url(url):
    """Tests use database 15 (or TEST_REDIS_DB) of the given Redis so flushing it never touches anything else;
    two suites running at once on one Redis need different TEST_REDIS_DB values."""
    return re.sub(r"/\d*$", "", url.rstrip("/")) + "/" + os.environ.get("TEST_REDIS_DB", "15")


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
    # Jobs of this process (embedded mode) end before the tables are emptied: one that outlived its test
    # (a forwarding run waits a moment for more pushes) would otherwise act on the next test's rows.
    for app in apps:
        app.extensions["coordination"].wait_until_idle()
    main = [a for a in apps if a.config["SQLALCHEMY_DATABASE_URI"] == database_url]
    if main:
        _clean(main[0])
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
            from portal.models import JobRun

            run = JobRun(kind="commit", key=f"commit:{mp.id}", miniprogram_id=mp.id, tenant_id=tenant_id)
            db.session.add(run)
            from portal.models import FastRegistration, OfficialAccount

            registration = FastRegistration(tenant_id=tenant_id, kind="personal", name=f"Person {appid}",
                                            state="waiting")
            oa = OfficialAccount(appid=f"wxoa{tenant_id:05d}{counter['n']:07d}", nick_name=f"OA {appid}",
                                 tenant_id=tenant_id)
            db.session.add_all([registration, oa])
            db.session.commit()
            return {"miniprogram": mp.id, "audit": audit.id, "appid": appid, "job_run": run.id,
                    "registration": registration.id, "official_account": oa.id}

    return factory


# --- the WeChat sandbox and a live portal it can push to ------------------------------------------------

SANDBOX_TEST_OPTIONS = {"ticket_interval": 600, "push_timeout": 3.0, "push_retries": 3, "push_retry_delay": 0.05,
                        "audit_delay": 60, "privacy_scan_seconds": 30, "tick_interval": 0.05,
                        "rotate_refresh_tokens": True}


@pytest.fixture(scope="session")
def sandbox():
    """The WeChat emulator over real HTTP on a loopback port (reset per test by `platform`)."""
    from sandbox.server import start_background

    handle = start_background(host="127.0.0.1", port=0, **SANDBOX_TEST_OPTIONS)
    yield handle
    handle.stop()


class LiveServer:
    """A threaded werkzeug server on a loopback port that serves whichever portal app a test sets."""

    def __init__(self):
        from werkzeug.serving import make_server

        self.app = None
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def _wsgi(self, environ, start_response):
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app"]
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def live_server():
    import threading

    server = LiveServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()


class SandboxAPI:
    """The sandbox's control API, as tests use it."""

    def __init__(self, base, component_appid):
        import requests

        self.base, self.component_appid = base, component_appid
        self.http = requests.Session()

    def call(self, path, body=None, method="POST", **params):
        response = self.http.request(method, self.base + path, json=body, params=params or None, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def create_miniprogram(self, **fields):
        return self.call("/sandbox/miniprograms", fields)["appid"]

    def authorize(self, appid, wait=True, **extra):
        body = {"component_appid": self.component_appid, "authorizer_appid": appid, "wait": wait, **extra}
        return self.call("/sandbox/authorize", body)

    def unauthorize(self, appid, wait=True):
        return self.call("/sandbox/unauthorize", {"component_appid": self.component_appid,
                                                  "authorizer_appid": appid, "wait": wait})

    def calls(self, endpoint=None, appid=None, errcode=None, limit=200):
        params = {k: v for k, v in {"endpoint": endpoint, "appid": appid, "errcode": errcode,
                                    "limit": limit}.items() if v is not None}
        return self.call("/sandbox/calls", method="GET", **params)

    def count(self, endpoint, appid=None, errcode=None):
        """How many calls the sandbox saw (all of them, not only the recent history)."""
        return self.calls(endpoint, appid, errcode, limit=0).get("counts", {}).get(endpoint, 0)

    def in_flight(self, endpoint, appid=None):
        """How many calls of `endpoint` the sandbox is carrying out now (arrived, not yet answered)."""
        return self.calls(endpoint, appid, limit=0).get("in_flight", {}).get(endpoint, 0)

    def pushes(self, **params):
        return self.call("/sandbox/pushes", method="GET", wait="1", **params)["pushes"]

    def advance(self, seconds):
        return self.call("/sandbox/clock", {"advance": seconds, "wait": True})

    def faults(self, **spec):
        return self.call("/sandbox/faults", spec)

    def clear_faults(self):
        return self.call("/sandbox/faults", method="DELETE")


class Platform:
    """A portal app wired to the sandbox as one third-party platform, reachable over HTTP for pushes."""

    def __init__(self, app, live_url, api, credentials):
        self.app, self.url, self.api, self.credentials = app, live_url, api, credentials
        self.component_appid = credentials["WECHAT_COMPONENT_APPID"]

    def client(self):
        return self.app.test_client()

    def authorized_app(self, tenant_id=None, **fields):
        """A sandbox mini-program authorized by push (as an admin's scan would), stored by the portal."""
        from portal.extensions import db
        from portal.models import MiniProgram

        appid = self.api.create_miniprogram(**fields)
        self.api.authorize(appid)
        drain_jobs(self.app)
        with self.app.app_context():
            mp = MiniProgram.query.filter_by(authorizer_appid=appid).one()
            mp.tenant_id = tenant_id
            db.session.commit()
        return appid


def component_credentials():
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits
    return {
        "WECHAT_COMPONENT_APPID": "wx" + secrets.token_hex(8),
        "WECHAT_COMPONENT_APPSECRET": secrets.token_hex(16),
        "WECHAT_COMPONENT_TOKEN": secrets.token_hex(8),
        "WECHAT_COMPONENT_AES_KEY": "".join(secrets.choice(alphabet) for _ in range(43)),
    }


@pytest.fixture
def platform(make_app, sandbox, live_server):
    """A portal app + a component registered in a freshly reset sandbox; the first ticket is delivered."""
    credentials = component_credentials()
    settings = dict(credentials, WECHAT_API_BASE=sandbox.url, WECHAT_MP_BASE=sandbox.url,
                    WECHAT_OPEN_BASE=sandbox.url, PUBLIC_BASE_URL=live_server.url,
                    WECHAT_BACKOFF_BASE=0.01, WECHAT_READ_TIMEOUT=5)
    app = make_app(**settings)
    live_server.app = app
    api = SandboxAPI(sandbox.url, credentials["WECHAT_COMPONENT_APPID"])
    api.call("/sandbox/reset", {})
    api.call("/sandbox/components", {
        "component_appid": credentials["WECHAT_COMPONENT_APPID"],
        "component_appsecret": credentials["WECHAT_COMPONENT_APPSECRET"],
        "token": credentials["WECHAT_COMPONENT_TOKEN"],
        "encoding_aes_key": credentials["WECHAT_COMPONENT_AES_KEY"],
        "auth_event_url": live_server.url + "/wechat/auth-events",
        "message_url": live_server.url + "/wechat/events/$APPID$",
        "authorized_domains": ["127.0.0.1", "localhost"],
        "rotate_refresh_tokens": True, "wait": True,
    })
    yield Platform(app, live_server.url, api, credentials)
    api.clear_faults()
    live_server.app = None


def drain_jobs(app):
    """Run every queued job to completion on real Redis (SimpleWorker, burst), as workers would."""
    from rq import SimpleWorker

    from portal.queueing import QUEUE_ORDER, SERIALIZER, get_queue

    redis = app.extensions.get("redis")
    if redis is None:
        assert app.extensions["coordination"].wait_until_idle(), "embedded jobs did not finish"
        return
    with app.app_context():
        worker = SimpleWorker([get_queue(n, redis) for n in QUEUE_ORDER], connection=redis, serializer=SERIALIZER)
        worker.work(burst=True)


def wait_for(app, condition, timeout=60.0, what="the condition"):
    """Run the jobs that fall due, delayed ones too (`queues.enqueue_in`), until `condition()` holds; fail
    after `timeout` seconds. With Redis each round is a burst worker whose scheduler first enqueues the
    delayed jobs that are due; embedded, they start in their own threads and this only polls."""
    import time

    from rq import SimpleWorker

    from portal.queueing import QUEUE_ORDER, SERIALIZER, get_queue

    deadline = time.monotonic() + timeout
    redis = app.extensions.get("redis")
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        if redis is not None:
            with app.app_context():
                SimpleWorker([get_queue(n, redis) for n in QUEUE_ORDER], connection=redis, serializer=SERIALIZER).work(
                    burst=True, with_scheduler=True)
        time.sleep(0.1)


# --- code management (tests/releases) --------------------------------------------------------------------

class CodeEnv:
    """A merchant logged in on a portal wired to the sandbox, with one authorized mini-program and a template."""

    def __init__(self, platform, client, tenant_id, appid, mp_id, template_id):
        self.platform, self.client, self.tenant_id = platform, client, tenant_id
        self.appid, self.mp_id, self.template_id = appid, mp_id, template_id
        self.api, self.app = platform.api, platform.app

    def url(self, suffix=""):
        return f"/miniprograms/{self.mp_id}/{suffix}"

    def post(self, suffix, data=None, client=None, **kwargs):
        return post_form(client or self.client, self.url(suffix), data, token_from="/dashboard", **kwargs)

    def get(self, suffix="", **kwargs):
        return self.client.get(self.url(suffix), **kwargs)

    def drain(self):
        drain_jobs(self.app)

    def template(self, **fields):
        body = {"component_appid": self.api.component_appid, "user_version": "1.0.0", "user_desc": "shop",
                "pages": ["pages/index/index", "pages/about/about"], **fields}
        return self.api.call("/sandbox/templates", body)["template_id"]


@pytest.fixture
def code_env(platform, make_tenant, make_user, login_as):
    """Jobs retry at once (intervals 0) so tests need no clock; audits are polled however young they are."""
    from portal.models import MiniProgram

    platform.app.config.update(JOB_RETRY_INTERVALS=[0, 0], AUDIT_POLL_AFTER_MINUTES=-1)
    tenant_id = make_tenant("Noodle Shop")
    make_user(tenant_id=tenant_id, email="owner@example.com")
    client = platform.client()
    assert login_as("owner@example.com", test_client=client).status_code == 302
    appid = platform.authorized_app(tenant_id, nick_name="面馆小程序")
    with platform.app.app_context():
        mp_id = MiniProgram.query.filter_by(authorizer_appid=appid).one().id
    env = CodeEnv(platform, client, tenant_id, appid, mp_id, None)
    env.template_id = env.template()
    return env
