"""Page scale: server time and SQL statements per page with 100 and with 10,000 mini-programs.

For each size a fresh database is migrated (`flask_migrate.upgrade()`) and filled in bulk (`bench.dataset`):
10 mini-programs per tenant, 20 audits per mini-program (2,000 and 200,000 audit rows). A staff user and
a merchant user of tenant 1 (10 mini-programs at both sizes) log in through the real login form. Each page
is requested through the Flask test client (server time, no network): warm-up requests first, then the
median of timed requests; a SQLAlchemy `before_cursor_execute` listener counts the statements of one
request (and their time); the page's size is shown too. Pages: the staff mini-program list (/staff/platform/), the staff code list (/staff/code/, the
latest audit of every mini-program), the merchant dashboard (/dashboard) and a mini-program's audit
history (/miniprograms/<id>/audit). WeChat is not reachable (an unused loopback port), so the audit page
shows its "WeChat unavailable" parts; its history comes from the database.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import Row, database_url, drop_database, migrated_app, verdict
from bench.dataset import PASSWORD, seed

SIZES = (100, 10_000)
APPS_PER_TENANT, AUDITS_PER_APP = 10, 20
WARMUP, TIMED = 3, 15
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGES = [  # (label, who, path template, endpoint that must exist)
    ("staff mini-program list", "staff", "/staff/platform/", "platform.index"),
    ("staff code list (latest audits)", "staff", "/staff/code/", "releases_staff.index"),
    ("merchant dashboard", "merchant", "/dashboard", "dashboard.merchant"),
    ("audit history of one mini-program", "merchant", "/miniprograms/{mp_id}/audit", "releases.audit"),
]


class PageFailed(Exception):
    """A page did not answer 200."""


def _login(app, email):
    client = app.test_client()
    page = client.get("/account/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post("/account/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"login of {email} answered {response.status_code}")
    return client


def _measure(app, client, path):
    from portal.extensions import db

    for _ in range(WARMUP):
        response = client.get(path)
        if response.status_code != 200:
            raise PageFailed(f"GET {path} answered {response.status_code}")
    with app.app_context():
        engine = db.engine
    statements, sql_seconds = [], []

    def before(conn, cursor, statement, *args):
        statements.append(statement)
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, *args):
        sql_seconds.append(time.perf_counter() - conn.info.pop("bench_started", time.perf_counter()))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        size = len(client.get(path).get_data())
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    times = []
    for _ in range(TIMED):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise PageFailed(f"GET {path} answered {response.status_code}")
    return {"time": statistics.median(times), "sql": len(statements), "sql_time": sum(sql_seconds), "bytes": size}


def _size(n, log):
    url = database_url(f"portal_bench_pages_{n}")
    app = migrated_app(url, None)
    started = time.monotonic()
    ids = seed(app, tenants=max(1, n // APPS_PER_TENANT), apps=n, audits_per_app=AUDITS_PER_APP)
    log(f"  {n} mini-programs, {n * AUDITS_PER_APP} audits generated in {time.monotonic() - started:.1f} s")
    clients = {"staff": _login(app, ids["staff"]), "merchant": _login(app, ids["merchant"])}
    endpoints = set(app.view_functions)
    figures = {}
    for label, who, path, endpoint in PAGES:
        if endpoint not in endpoints:
            figures[label] = None
            continue
        try:
            figures[label] = _measure(app, clients[who], path.format(mp_id=ids["mp_id"]))
        except PageFailed as exc:  # the product's failure, reported in the table
            figures[label] = {"error": str(exc)}
            log(f"    {label}: {exc}")
            continue
        f = figures[label]
        log(f"    {label}: {f['time'] * 1000:.1f} ms, {f['sql']} SQL statements ({f['sql_time'] * 1000:.1f} ms), "
            f"{f['bytes'] / 1024:.0f} KiB")
    with app.app_context():
        from portal.extensions import db

        db.session.remove()
        db.engine.dispose()
    drop_database(url)
    return figures


def _figure(f):
    return f"{f['time'] * 1000:.1f} ms, {f['sql']} SQL ({f['sql_time'] * 1000:.1f} ms in SQL), {f['bytes'] / 1024:.0f} KiB"


def run(workdir: Path, log=print) -> list[Row]:
    small, large = (_size(n, log) for n in SIZES)
    rows = []
    for label, _who, path, _endpoint in PAGES:
        if small[label] is None or large[label] is None:
            rows.append(Row(f"Page scale: {label} ({path})", "no such page yet", verdict="skipped"))
            continue
        a, b = small[label], large[label]
        if "error" in a or "error" in b:
            rows.append(Row(f"Page scale: {label} ({path})", f"{SIZES[1]:,} apps: {b.get('error', 'ok')}",
                            f"{SIZES[0]} apps: {a.get('error', 'ok')}", target="answers 200", verdict="FAILED"))
            continue
        (t1, q1), (t2, q2) = (a["time"], a["sql"]), (b["time"], b["sql"])
        ratio = t2 / t1
        rows.append(Row(
            f"Page scale: {label} ({path})",
            f"{SIZES[1]:,} apps: {_figure(b)}",
            f"{SIZES[0]} apps: {_figure(a)}",
            f"{ratio:.2f}x time, {q2 - q1:+d} SQL",
            "<= 2x time, SQL count equal",
            verdict(ratio <= 2.0 and q2 <= q1)))
    return rows
