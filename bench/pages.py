"""Page scale: server time and SQL statements per page at two sizes, 100 mini-programs (2,000 audits,
10,000 pushes) and 10,000 mini-programs (200,000 audits, 1,000,000 pushes).

For each size a fresh database is migrated (`flask_migrate.upgrade()`) and filled in bulk (`bench.dataset`):
10 mini-programs per tenant (and tenants without any up to a full page of the tenant list), 20 audits per
mini-program, 100 stored pushes per mini-program. A staff user and a merchant user of tenant 1 (10
mini-programs at both sizes) log in through the real login form. Each page is requested through the Flask
test client (server time, no network): warm-up requests first, then the median of timed requests; a
SQLAlchemy `before_cursor_execute` listener counts the statements of one request (and their time); the
page's size is shown too. Both databases are filled first, then the timed requests alternate between
them, so that the load of other processes on the machine weighs on both sizes alike. Pages: the staff lists (mini-programs, also on their last page; latest audits,
also on their last page; tenants; pushes, also of one kind, a full page at both sizes), the merchant dashboard and a
mini-program's overview and audit history. WeChat is not reachable (an unused loopback port) while the
tokens are valid, so the audit page shows its "WeChat unavailable" parts; its history comes from the
database. Target: at most 10 statements, no more at the large size, and at most 1.5x the time.
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
APPS_PER_TENANT, AUDITS_PER_APP, PUSHES_PER_APP = 10, 20, 100
MAX_STATEMENTS, MAX_TIME_RATIO = 10, 1.5
WARMUP, TIMED = 3, 15
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGES = [  # (label, who, path template, endpoint that must exist); {last} is the last page of a staff list
    ("staff mini-program list", "staff", "/staff/platform/", "platform.index"),
    ("staff mini-program list, last page", "staff", "/staff/platform/?page={last}", "platform.index"),
    ("staff code list (latest audits)", "staff", "/staff/code/", "releases_staff.index"),
    ("staff code list, last page", "staff", "/staff/code/?page={last}", "releases_staff.index"),
    ("staff tenant list", "staff", "/staff/tenants/", "tenants.index"),
    ("staff push list", "staff", "/staff/platform/pushes", "platform.pushes"),
    ("staff push list, one kind (5 %)", "staff", "/staff/platform/pushes?kind=weapp_audit_fail", "platform.pushes"),
    ("merchant dashboard", "merchant", "/dashboard", "dashboard.merchant"),
    ("overview of one mini-program", "merchant", "/miniprograms/{mp_id}/", "releases.overview"),
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


def _count(app, client, path):
    """Warm-up requests, then one counted request: {"sql", "sql_time", "bytes"}."""
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
    return {"sql": len(statements), "sql_time": sum(sql_seconds), "bytes": size}


def _time_one(client, path):
    started = time.perf_counter()
    response = client.get(path)
    if response.status_code != 200:
        raise PageFailed(f"GET {path} answered {response.status_code}")
    return time.perf_counter() - started


def _live_tokens(app, mp_id):
    """The platform's component token and the measured app's authorizer token are valid, as in production,
    so WeChat being unreachable fails the calls themselves, not the fetching of tokens."""
    from portal.extensions import db
    from portal.models import ComponentAccount, MiniProgram
    from portal.timeutil import utcnow

    expires = int(time.time()) + 7200
    with app.app_context():
        mp = db.session.get(MiniProgram, mp_id)
        mp.authorizer_access_token, mp.authorizer_expires = "bench-authorizer-token", expires
        db.session.add(ComponentAccount(component_appid=app.config["WECHAT_COMPONENT_APPID"],
                                        component_verify_ticket="bench-ticket", ticket_time=utcnow(),
                                        component_access_token="bench-component-token", token_expires=expires))
        db.session.commit()


def _prepare(n, log):
    """A migrated, filled database of `n` mini-programs and the two users' clients on it."""
    url = database_url(f"portal_bench_pages_{n}")
    app = migrated_app(url, None)
    started = time.monotonic()
    tenants = max(1, n // APPS_PER_TENANT)
    # at least a full page of tenants, so the tenant list shows as many rows at both sizes
    ids = seed(app, tenants=tenants, apps=n, audits_per_app=AUDITS_PER_APP, pushes=n * PUSHES_PER_APP,
               empty_tenants=max(0, app.config["PAGE_SIZE"] - tenants))
    log(f"  {n} mini-programs, {n * AUDITS_PER_APP} audits, {n * PUSHES_PER_APP} pushes generated in "
        f"{time.monotonic() - started:.1f} s")
    _live_tokens(app, ids["mp_id"])
    return {"n": n, "url": url, "app": app, "ids": ids, "last": -(-n // app.config["PAGE_SIZE"]),
            "clients": {"staff": _login(app, ids["staff"]), "merchant": _login(app, ids["merchant"])}}


def _drop(size):
    from portal.extensions import db

    with size["app"].app_context():
        db.session.remove()
        db.engine.dispose()
    drop_database(size["url"])


def _page(sizes, who, path, log):
    """Counts at each size, then the timed requests alternating between the sizes, so that a change in the
    machine's load while the bench runs weighs on both alike: {n: figures}."""
    paths = {s["n"]: path.format(mp_id=s["ids"]["mp_id"], last=s["last"]) for s in sizes}
    figures = {s["n"]: _count(s["app"], s["clients"][who], paths[s["n"]]) for s in sizes}
    times = {s["n"]: [] for s in sizes}
    for _ in range(TIMED):
        for s in sizes:
            times[s["n"]].append(_time_one(s["clients"][who], paths[s["n"]]))
    for n, f in figures.items():
        f["time"] = statistics.median(times[n])
        log(f"    {n} apps: {f['time'] * 1000:.1f} ms, {f['sql']} SQL statements ({f['sql_time'] * 1000:.1f} ms), "
            f"{f['bytes'] / 1024:.0f} KiB")
    return figures


def _measure_all(log):
    sizes = []
    try:
        for n in SIZES:
            sizes.append(_prepare(n, log))
        endpoints = set(sizes[0]["app"].view_functions)
        small, large = {}, {}
        for label, who, path, endpoint in PAGES:
            if endpoint not in endpoints:
                small[label] = large[label] = None
                continue
            log(f"  {label}")
            try:
                figures = _page(sizes, who, path, log)
            except PageFailed as exc:  # the product's failure, reported in the table
                small[label] = large[label] = {"error": str(exc)}
                log(f"    {exc}")
                continue
            small[label], large[label] = figures[SIZES[0]], figures[SIZES[1]]
        return small, large
    finally:
        for size in sizes:
            _drop(size)


def _figure(f):
    return f"{f['time'] * 1000:.1f} ms, {f['sql']} SQL ({f['sql_time'] * 1000:.1f} ms in SQL), {f['bytes'] / 1024:.0f} KiB"


def run(workdir: Path, log=print) -> list[Row]:
    small, large = _measure_all(log)
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
            f"<= {MAX_TIME_RATIO}x time, <= {MAX_STATEMENTS} SQL, no more than at {SIZES[0]}",
            verdict(ratio <= MAX_TIME_RATIO and q2 <= min(q1, MAX_STATEMENTS))))
    return rows
