"""Helpers shared by the benchmark modules: free loopback ports, bench databases derived from
DATABASE_URL, component credentials, a portal app for a bench database, and the result table rows."""

from __future__ import annotations

import os
import secrets
import socket
import string
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_REDIS_URL = "redis://127.0.0.1:6399/0"


@dataclass
class Row:
    """One line of the result table."""

    measure: str
    result: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""  # "ok", "MISSED", "FAIL" (pushes lost), "pending", "skipped", "ERROR" or ""
    figures: dict = field(default_factory=dict)  # numbers another row compares with (not printed)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process listening on {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def base_database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(ROOT / "instance" / "bench.sqlite3")


def redis_url(db_index: int | None = None) -> str:
    """The bench's own Redis database (13, or BENCH_REDIS_DB) of REDIS_URL, so flushing it touches nothing
    else (BENCH_REDIS_DB keeps two benchmarks on a shared Redis apart)."""
    if db_index is None:
        db_index = int(os.environ.get("BENCH_REDIS_DB", "13"))
    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL).rstrip("/")
    head, _, tail = url.rpartition("/")
    base = head if tail.isdigit() and head.count("/") >= 2 else url
    return f"{base}/{db_index}"


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def database_url(name: str) -> str:
    """A URL for a bench database called `name` on the server of DATABASE_URL (a file beside it on SQLite)."""
    base = sa.engine.make_url(base_database_url())
    if base.drivername.startswith("sqlite"):
        folder = Path(base.database).parent if base.database else ROOT / "instance"
        return str(base.set(database=str(folder / f"{name}.sqlite3")))
    return base.set(database=name).render_as_string(hide_password=False)


def is_mysql(url: str) -> bool:
    return url.startswith("mysql")


def recreate_database(url: str) -> None:
    parsed = sa.engine.make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and os.path.exists(parsed.database):
            os.remove(parsed.database)
        return
    server = sa.create_engine(parsed.set(database=""))
    with server.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{parsed.database}`")
        conn.exec_driver_sql(f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    server.dispose()


def drop_database(url: str) -> None:
    parsed = sa.engine.make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and os.path.exists(parsed.database):
            os.remove(parsed.database)
        return
    server = sa.create_engine(parsed.set(database=""))
    with server.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{parsed.database}`")
    server.dispose()


def component_credentials() -> dict:
    alphabet = string.ascii_letters + string.digits
    return {
        "WECHAT_COMPONENT_APPID": "wx" + secrets.token_hex(8),
        "WECHAT_COMPONENT_APPSECRET": secrets.token_hex(16),
        "WECHAT_COMPONENT_TOKEN": secrets.token_hex(8),
        "WECHAT_COMPONENT_AES_KEY": "".join(secrets.choice(alphabet) for _ in range(43)),
    }


def portal_settings(url: str, redis: str | None, **extra) -> dict:
    """Overrides for `create_app`: a bench database, fixed keys, no real WeChat host reachable."""
    settings = {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-secret-key-for-benchmarks-only-0000",
        "DATA_KEY": "bench-data-key-for-benchmarks-only-00000",
        "REDIS_URL": redis,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "SERVER_NAME": None,
        "LOG_LEVEL": "ERROR",
        # Loopback only: an unused port stands in for WeChat unless a measure starts a sandbox.
        "WECHAT_API_BASE": "http://127.0.0.1:9", "WECHAT_MP_BASE": "http://127.0.0.1:9",
        "WECHAT_OPEN_BASE": "http://127.0.0.1:9", "WECHAT_MAX_RETRIES": 0,
    }
    settings.update(extra)
    return settings


def migrated_app(url: str, redis: str | None = None, **extra):
    """A fresh database at `url` with the schema made by the Alembic migrations; returns the app."""
    from flask_migrate import upgrade

    from portal import create_app

    recreate_database(url)
    app = create_app(portal_settings(url, redis, **extra))
    with app.app_context():
        upgrade()
    return app


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
