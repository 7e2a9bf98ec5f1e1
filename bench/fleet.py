"""Fleet release: one template uploaded, submitted, audited and released to many mini-programs by 4 RQ workers
against real MariaDB and Redis, with 100 ms of WeChat latency on every call.

Setup (timed apart from the runs): a fresh migrated database, Redis database 13 flushed, the sandbox in its
own process (`python -m sandbox`, audits decide AUDIT_DELAY sandbox seconds after submission, privacy scans
finish at once, monthly submit quota raised past the fleet), the portal served in this process over loopback
HTTP (threaded werkzeug, callback rate limit raised) so the sandbox pushes tickets and audit results to it.
Once the portal has stored the ticket the sandbox pushed, mini-programs are created and authorized in the
sandbox with the `authorized` push dropped, and stored by the portal's own service
(`authorization.complete_from_redirect`: api_query_auth + api_get_authorizer_info), three tenants of SIZES
apps each. Then four `python worker.py fleet wechat maintenance` processes start with the portal's
environment; once the jobs they enqueue as they start have run (the periodic ones, among them the nightly
comparison of the authorizer list: one call per app), the sandbox fault `latency_ms: 100` on every endpoint
(`*`) is set.

Each size runs one release (`start_fleet_release(..., {"mode": "tenants"}, max_concurrency 40, auto submit and
release)` followed by `_wait_for_release(..., tick_every=5)`, which looks every 50 ms); the 1,000-app run is
capped at RUN_CAP seconds and reports how far it got. For each: wall time, WeChat calls made (sandbox
`/sandbox/calls` totals before and after), the ideal = calls x 0.1 s / 4 (concurrency 4: four RQ workers each
run one job at a time), their ratio (the target), the mean time a call took in the portal's call log (the
injected latency plus the sandbox's and the HTTP client's own time; the sandbox's own record of the time it
took, from taking the call to its answer, tells the two apart) with the ideal at that time (how much of the
gap is the portal's), where the time above the ideal went (calls beyond the latency; the workers' own work in
jobs around the calls, from RQ's start and end of each job; time between jobs), and the SQL statements of one
progress-page view (`GET /staff/fleet/<id>` through the Flask test client, staff logged in). At the end: each
worker's peak RSS (VmHWM of the worker process, which runs its jobs itself) and the largest VmHWM seen in the
processes a worker forks (RQ's scheduler; work horses too with `--fork`; sampled every 0.25 s). Each run's
calls over its wall time is the call rate it asked of the sandbox, which `make bench` compares with the
sandbox's own calls/s (the headroom row).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import sqlalchemy as sa

from bench.common import (
    ROOT,
    Row,
    component_credentials,
    database_url,
    drop_database,
    flush_redis,
    free_port,
    migrated_app,
    portal_settings,
    redis_url,
    verdict,
)

# BENCH_FLEET_SIZES=5,20,50 for a quick try of the measure itself (baseline, complete run, capped run).
SIZES = tuple(int(n) for n in os.environ.get("BENCH_FLEET_SIZES", "10,100,1000").split(","))
WORKERS = 4
WORKER_QUEUES = ("fleet", "wechat", "maintenance")  # the forwarding queue has no part in a release
LATENCY_MS = 100
MAX_CONCURRENCY = 40
AUDIT_DELAY = 1.0  # sandbox seconds from submit_audit to the approval push
RUN_CAP = 600.0  # seconds the 1,000-app run may take before it is reported as partial
RATIO_TARGET, RSS_TARGET_MB = 1.1, 150
PASSWORD = "bench-password-123"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Sandbox:
    """`python -m sandbox` in its own process, and its control API."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(self.port),
             "--audit-delay", str(AUDIT_DELAY), "--privacy-scan-seconds", "0", "--push-timeout", "10",
             "--daily-quota", "10000000"], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        self.http = requests.Session()
        deadline = time.monotonic() + 30
        while True:
            try:
                self.http.get(self.url + "/sandbox/clock", timeout=1)
                break
            except requests.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)

    def call(self, path, body=None, method="POST", session=None, **params):
        response = (session or self.http).request(method, self.url + path, json=body, params=params or None,
                                                  timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"sandbox {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    def counts(self) -> tuple[int, dict]:
        data = self.call("/sandbox/calls", method="GET", limit=0)
        return data.get("total", 0), data.get("counts", {})

    def last_seq(self) -> int:
        calls = self.call("/sandbox/calls", method="GET", limit=1)["calls"]
        return calls[-1]["seq"] if calls else 0

    def mean_handling_ms(self, after_seq: int) -> float | None:
        """The mean time the sandbox took over the calls after `after_seq`, from the moment it began with one
        to its answer (the injected latency included), by its own record of its last 5,000 calls."""
        durations = [c["duration_ms"] for c in self.call("/sandbox/calls", method="GET", limit=5000)["calls"]
                     if c["seq"] > after_seq]
        return sum(durations) / len(durations) if durations else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Workers:
    """WORKERS `python worker.py fleet wechat maintenance` processes; samples the RSS of their work horses."""

    def __init__(self, env: dict, workdir: Path):
        self.logs = [workdir / f"fleet-worker-{i}.log" for i in range(WORKERS)]
        self.files = [open(p, "ab") for p in self.logs]  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "worker.py", *WORKER_QUEUES]
        self.procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
                      for f in self.files]
        self.horse_peak_kb, self.horses_seen = 0, set()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._sampler.start()

    @staticmethod
    def _status_kb(pid, field) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def _sample(self):
        while not self._stop.wait(0.25):
            for proc in self.procs:
                try:
                    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
                except OSError:
                    continue
                for pid in children:
                    self.horses_seen.add(pid)
                    self.horse_peak_kb = max(self.horse_peak_kb, self._status_kb(pid, "VmHWM"))

    def wait_ready(self, redis, timeout=60.0):
        from rq import Worker

        deadline = time.monotonic() + timeout
        while len(Worker.all(connection=redis)) < WORKERS:
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError("fleet workers did not start: " + self.tail())
            time.sleep(0.2)

    def peak_rss_kb(self) -> list[int]:
        return [self._status_kb(p.pid, "VmHWM") for p in self.procs]

    def tail(self) -> str:
        return " | ".join(p.read_text(errors="replace")[-600:] for p in self.logs if p.exists())

    def stop(self):
        self._stop.set()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for handle in self.files:
            handle.close()


def _serve(app):
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, name="bench-fleet-portal", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def _login(app):
    client = app.test_client()
    token = CSRF_RE.search(client.get("/account/login").get_data(as_text=True)).group(1)
    response = client.post("/account/login", data={"csrf_token": token, "email": "staff@bench.example.com",
                                                   "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"staff login answered {response.status_code}")
    return client


def _page_statements(app, client, release_id) -> int:
    from portal.extensions import db

    with app.app_context():
        engine = db.engine
    seen = []

    def count(*_args):
        seen.append(1)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(f"/staff/fleet/{release_id}")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    if response.status_code != 200:
        raise RuntimeError(f"the progress page answered {response.status_code}")
    return len(seen)


def _wait_until_idle(redis, timeout=300.0):
    """Wait until the jobs the workers enqueue as they start (the periodic ones, among them the nightly
    comparison of the authorizer list, one WeChat call per app) have run, so none of them is timed with a
    release or takes a worker from it."""
    from rq.registry import StartedJobRegistry

    from portal.queueing import SERIALIZER, get_queue

    deadline = time.monotonic() + timeout
    while True:  # the queues the workers serve (the forwarding sweep waits on its own queue, unserved here)
        queues = [get_queue(name, redis) for name in WORKER_QUEUES]
        busy = sum(q.count + StartedJobRegistry(q.name, connection=redis, serializer=SERIALIZER).count
                   for q in queues)
        if not busy:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workers' start-up jobs did not finish in {timeout:.0f} s ({busy} left)")
        time.sleep(0.2)


def _seed_portal(app) -> list[int]:
    """A staff user and one tenant per size; returns the tenant ids."""
    from portal.extensions import db
    from portal.models import Tenant, User

    with app.app_context():
        staff = User(email="staff@bench.example.com", role="staff", language="en")
        staff.set_password(PASSWORD)
        tenants = [Tenant(name=f"Fleet bench {n} apps") for n in SIZES]
        db.session.add_all([staff, *tenants])
        db.session.commit()
        return [t.id for t in tenants]


def _wait_for_ticket(app, component_appid: str, timeout: float = 60.0) -> None:
    """Wait until the portal has stored the ticket the sandbox pushed on registering the component: the push
    is acknowledged once spooled and stored a moment later, and authorizing before that finds no ticket."""
    from portal.extensions import db
    from portal.models import ComponentAccount

    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            stored = db.session.scalar(sa.select(ComponentAccount.ticket_time)
                                       .where(ComponentAccount.component_appid == component_appid))
            db.session.rollback()  # the next look sees what was stored meanwhile
            if stored is not None:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the portal stored no component_verify_ticket within {timeout:.0f} s")
            time.sleep(0.1)


def _authorize_all(app, sandbox: Sandbox, component_appid: str, tenant_ids: list[int], log) -> int:
    """Create and authorize every mini-program in the sandbox (8 threads), then store each through the
    portal's authorization service; returns how many the portal stored."""
    from portal.extensions import db
    from portal.models import MiniProgram
    from portal.services.authorization import complete_from_redirect

    plan = [(tenant_id, n, i) for tenant_id, n in zip(tenant_ids, SIZES, strict=True) for i in range(n)]
    local = threading.local()

    def create(item):
        tenant_id, _n, i = item
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        appid = sandbox.call("/sandbox/miniprograms", {"nick_name": f"Fleet app {tenant_id}-{i}"},
                             session=session)["appid"]
        body = {"component_appid": component_appid, "authorizer_appid": appid}
        code = sandbox.call("/sandbox/authorize", body, session=session)["auth_code"]
        return tenant_id, appid, code

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(create, plan))
    log(f"  {len(created)} mini-programs created and authorized in the sandbox")
    by_tenant = {}
    with app.app_context():
        for tenant_id, appid, code in created:
            complete_from_redirect(code, None, None)
            by_tenant.setdefault(tenant_id, []).append(appid)
        for tenant_id, appids in by_tenant.items():
            db.session.execute(sa.update(MiniProgram).where(MiniProgram.authorizer_appid.in_(appids))
                               .values(tenant_id=tenant_id))
        db.session.commit()
        return db.session.scalar(sa.select(sa.func.count()).select_from(MiniProgram)
                                 .where(MiniProgram.auth_state == "authorized"))


def _mean_call_ms(app, after_id) -> float | None:
    """The mean duration of the WeChat calls the portal logged after row `after_id` (the workers write their
    call log from a background thread: give it a moment). The log keeps whole milliseconds, cut down, so
    half a millisecond is added back."""
    from portal.extensions import db
    from portal.models import WeChatCall

    time.sleep(1.0)
    with app.app_context():
        count, mean = db.session.execute(sa.select(sa.func.count(), sa.func.avg(WeChatCall.latency_ms))
                                         .where(WeChatCall.id > after_id)).one()
    return float(mean) + 0.5 if count else None


def _job_times(redis, since) -> dict:
    """{function: (jobs, mean seconds in the job, mean seconds queued)} of the fleet queue's finished jobs."""
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    from portal.queueing import SERIALIZER

    ids = FinishedJobRegistry("fleet", connection=redis, serializer=SERIALIZER).get_job_ids()
    times = {}
    for job in Job.fetch_many(ids, connection=redis, serializer=SERIALIZER):
        if job is None or not job.started_at or not job.ended_at or job.enqueued_at.timestamp() < since:
            continue
        name = job.func_name.rsplit(".", 1)[-1]
        run_s, queued_s = (job.ended_at - job.started_at).total_seconds(), \
            (job.started_at - job.enqueued_at).total_seconds()
        n, total_run, total_queued = times.get(name, (0, 0.0, 0.0))
        times[name] = (n + 1, total_run + run_s, total_queued + queued_s)
    return {k: f"{n} jobs, {r / n:.2f} s each, {q / n:.1f} s queued" for k, (n, r, q) in times.items()}


def _busy_seconds(redis, since, until) -> float:
    """The seconds the workers spent in jobs between `since` and `until` (epoch), summed over the workers:
    every job of the queues they serve that finished or failed, cut to the window."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    from portal.queueing import SERIALIZER

    busy = 0.0
    for name in WORKER_QUEUES:
        for registry in (FinishedJobRegistry, FailedJobRegistry):
            ids = registry(name, connection=redis, serializer=SERIALIZER).get_job_ids()
            for job in Job.fetch_many(ids, connection=redis, serializer=SERIALIZER):
                if job is None or not job.started_at or not job.ended_at:
                    continue
                start, end = max(job.started_at.timestamp(), since), min(job.ended_at.timestamp(), until)
                busy += max(0.0, end - start)
    return busy


def _above_ideal(outcome, busy) -> dict | None:
    """Where the wall time above the ideal went, in seconds of wall time (each worker's share, averaged):
    calls slower than the injected latency (the sandbox's and the HTTP client's own time), the workers' own
    work within jobs around the calls (database, Redis, Python, RQ's bookkeeping of the job), and time
    between jobs (RQ taking the next job, or no job to take)."""
    if not outcome.get("call_ms"):
        return None
    calls_s = outcome["calls"] * outcome["call_ms"] / 1000
    return {"calls beyond the latency": (calls_s - outcome["calls"] * LATENCY_MS / 1000) / WORKERS,
            "in jobs around the calls": (busy - calls_s) / WORKERS,
            "between jobs": outcome["wall"] - busy / WORKERS}


def _run_release(app, sandbox, template_id, tenant_id, size, cap, log) -> dict:
    from portal.extensions import db
    from portal.models import WeChatCall
    from portal.services.fleet import start_fleet_release

    total_before, counts_before = sandbox.counts()
    seq_before = sandbox.last_seq()
    with app.app_context():
        logged_before = db.session.scalar(sa.select(sa.func.max(WeChatCall.id))) or 0
    started, since = time.monotonic(), time.time()
    with app.app_context():
        release = start_fleet_release(template_id, None, {"mode": "tenants", "tenant_ids": [tenant_id]},
                                      {"max_concurrency": MAX_CONCURRENCY, "auto_submit": True,
                                       "auto_release": True})
        release_id = release.id
        result = _wait_for_release(release_id, timeout=cap, poll=0.05, tick_every=5)  # the end, within 50 ms
    wall, until = time.monotonic() - started, time.time()
    total_after, counts_after = sandbox.counts()
    per_endpoint = {k: v - counts_before.get(k, 0) for k, v in counts_after.items()
                    if v - counts_before.get(k, 0)}
    calls = total_after - total_before
    ideal = calls * LATENCY_MS / 1000 / WORKERS
    call_ms, sandbox_ms = _mean_call_ms(app, logged_before), sandbox.mean_handling_ms(seq_before)
    outcome = {"size": size, "release_id": release_id, "wall": wall, "calls": calls, "ideal": ideal,
               "ratio": wall / ideal if ideal else float("inf"), "state": result["state"],
               "settled": result["settled"], "total": result["total"],
               "released": result["counts"].get("released", 0),
               "not_released": {s: n for s, n in result["counts"].items() if n and s != "released"},
               "endpoints": dict(sorted(per_endpoint.items(), key=lambda kv: -kv[1])),
               "call_ms": call_ms, "sandbox_ms": sandbox_ms,
               "floor": calls * call_ms / 1000 / WORKERS if call_ms else None}
    log(f"  {size} apps: {result['state']}, {result['settled']}/{result['total']} settled in {wall:.1f} s; "
        f"{calls} WeChat calls, ideal {ideal:.1f} s, ratio {outcome['ratio']:.2f}; "
        f"states {outcome['not_released'] or 'all released'}")
    log(f"    calls by endpoint: {json.dumps(outcome['endpoints'])}")
    if call_ms:
        log(f"    a call took {call_ms:.1f} ms on average (call log), the sandbox's part of it "
            f"{sandbox_ms or float('nan'):.1f} ms (its own record); at that time the ideal is "
            f"{outcome['floor']:.1f} s, ratio {wall / outcome['floor']:.2f}")
    outcome["jobs"] = _job_times(app.extensions["redis"], since)
    log(f"    fleet jobs: {json.dumps(outcome['jobs'], ensure_ascii=False)}")
    outcome["above"] = _above_ideal(outcome, _busy_seconds(app.extensions["redis"], since, until))
    if outcome["above"]:
        log(f"    above the ideal ({wall - ideal:.1f} s): " + ", ".join(
            f"{part} {seconds:.1f} s" for part, seconds in outcome["above"].items()))
    return outcome


def run(workdir: Path, log=print) -> list[Row]:
    url, redis = database_url("portal_bench_fleet"), redis_url()
    flush_redis(redis)
    credentials = component_credentials()
    sandbox = Sandbox(workdir / "fleet-sandbox.log")
    server = workers = None
    try:
        setup_started = time.monotonic()
        bootstrap = migrated_app(url, redis)
        with bootstrap.app_context():
            from portal.extensions import db

            db.engine.dispose()
        holder = {}
        server, live_url = _serve(lambda environ, start: holder["app"](environ, start))
        env_settings = {**credentials, "DATABASE_URL": url, "REDIS_URL": redis,
                        "SECRET_KEY": "bench-secret-key-for-benchmarks-only-0000", "DATA_KEY": "bench-data-key-for-benchmarks-only-00000",
                        "WECHAT_API_BASE": sandbox.url,
                        "WECHAT_MP_BASE": sandbox.url, "WECHAT_OPEN_BASE": sandbox.url,
                        "PUBLIC_BASE_URL": live_url}
        from portal import create_app

        app = holder["app"] = create_app(portal_settings(
            url, redis, **credentials, WECHAT_API_BASE=sandbox.url, WECHAT_MP_BASE=sandbox.url,
            WECHAT_OPEN_BASE=sandbox.url, PUBLIC_BASE_URL=live_url, WECHAT_MAX_RETRIES=2,
            CALLBACK_RATE_LIMIT="1000000 per minute"))
        tenant_ids = _seed_portal(app)
        component_appid = credentials["WECHAT_COMPONENT_APPID"]
        sandbox.call("/sandbox/components", {
            "component_appid": component_appid,
            "component_appsecret": credentials["WECHAT_COMPONENT_APPSECRET"],
            "token": credentials["WECHAT_COMPONENT_TOKEN"],
            "encoding_aes_key": credentials["WECHAT_COMPONENT_AES_KEY"],
            "auth_event_url": live_url + "/wechat/auth-events",
            "message_url": live_url + "/wechat/events/$APPID$",
            "authorized_domains": ["127.0.0.1", "localhost"], "submit_quota": 100_000, "wait": True})
        # The portal stores each authorization itself below; the `authorized` pushes would queue a second one.
        sandbox.call("/sandbox/faults", {"drop_pushes": True, "push_type": "authorized"})
        _wait_for_ticket(app, component_appid)
        stored = _authorize_all(app, sandbox, component_appid, tenant_ids, log)
        if stored != sum(SIZES):
            raise RuntimeError(f"the portal stored {stored} of {sum(SIZES)} authorized mini-programs")
        sandbox.call("/sandbox/faults", method="DELETE")
        template_id = sandbox.call("/sandbox/templates", {
            "component_appid": component_appid, "user_version": "2.0.0", "user_desc": "fleet bench",
            "pages": ["pages/index/index"]})["template_id"]
        with app.app_context():
            from portal.services import library

            library.sync_templates()
        workers = Workers({**os.environ, **env_settings}, workdir)
        workers.wait_ready(app.extensions["redis"])
        _wait_until_idle(app.extensions["redis"])
        sandbox.call("/sandbox/faults", {"endpoint": "*", "latency_ms": LATENCY_MS})
        setup = time.monotonic() - setup_started
        log(f"  setup: {stored} mini-programs stored, {WORKERS} workers up, in {setup:.0f} s")

        client = _login(app)
        outcomes = []
        for tenant_id, size in zip(tenant_ids, SIZES, strict=True):
            outcome = _run_release(app, sandbox, template_id, tenant_id, size,
                                   RUN_CAP if size == max(SIZES) else RUN_CAP / 2, log)
            outcome["sql"] = _page_statements(app, client, outcome["release_id"])
            outcomes.append(outcome)
        rss = workers.peak_rss_kb()
        horse_peak, horses = workers.horse_peak_kb, len(workers.horses_seen)
    finally:
        if workers is not None:
            workers.stop()
        if server is not None:
            server.shutdown()
        sandbox.stop()
    drop_database(url)
    flush_redis(redis)
    return _rows(outcomes, rss, horse_peak, horses, setup)


def _rows(outcomes, rss, horse_peak, horses, setup) -> list[Row]:
    rows = []
    base_sql = outcomes[0]["sql"]
    for o in outcomes[1:]:
        complete = o["state"] != "running" and o["settled"] == o["total"]
        done = (f"{o['state']}, {o['settled']}/{o['total']} settled ({o['released']} released)"
                if complete else f"PARTIAL after the {o['wall']:.0f} s cap: {o['settled']}/{o['total']} "
                f"settled ({o['released']} released; open: {o['not_released']})")
        rows.append(Row(
            f"Fleet: {o['size']:,} apps, {LATENCY_MS} ms WeChat latency, {WORKERS} workers "
            f"(concurrency {WORKERS})",
            f"{done}; wall {o['wall']:.1f} s, {o['calls']} WeChat calls "
            f"({o['calls'] / max(1, o['settled']):.1f} per settled app)"
            + (f"; a call took {o['call_ms']:.1f} ms on average ({LATENCY_MS} ms injected; the sandbox's and the "
               f"HTTP client's own time on top"
               + (f", the sandbox from taking the call to its answer {o['sandbox_ms']:.1f} ms" if o.get("sandbox_ms")
                  else "")
               + f"), so at that time the ideal is {o['floor']:.1f} s and the wall "
               f"{o['wall'] / o['floor']:.2f}x it" if o.get("floor") else "")
            + (f"; the {o['wall'] - o['ideal']:.1f} s above the ideal: " + ", ".join(
                f"{part} {seconds:.1f} s" for part, seconds in o["above"].items()) if o.get("above") else "")
            + f"; {o['calls'] / o['wall']:.1f} WeChat calls/s asked of the sandbox"
            + (f"; setup {setup:.0f} s (not timed)" if o is outcomes[-1] else ""),
            baseline=f"ideal {o['ideal']:.1f} s = {o['calls']} calls x {LATENCY_MS / 1000:g} s / {WORKERS}",
            ratio=f"{o['ratio']:.2f}x", target=f"<= {RATIO_TARGET}x",
            verdict=verdict(complete and o["ratio"] <= RATIO_TARGET),
            figures={"fleet_calls_per_second": o["calls"] / o["wall"]}))
    peak_mb = max(rss) / 1024
    rows.append(Row(
        f"Fleet: peak RSS per worker ({WORKERS} x worker.py fleet wechat maintenance)",
        "VmHWM " + ", ".join(f"{kb / 1024:.0f}" for kb in rss) + " MB (jobs run in the worker processes); "
        f"largest forked child (RQ's scheduler, or work horses with --fork; {horses} seen) {horse_peak / 1024:.0f} MB",
        target=f"<= {RSS_TARGET_MB} MB",
        verdict=verdict(peak_mb <= RSS_TARGET_MB and horse_peak / 1024 <= RSS_TARGET_MB)))
    sql = ", ".join(f"{o['size']:,} apps: {o['sql']}" for o in outcomes[1:])
    rows.append(Row("Fleet: SQL statements per progress-page view (/staff/fleet/<id>)", sql,
                    baseline=f"{outcomes[0]['size']} apps: {base_sql}",
                    ratio=", ".join(f"{o['sql'] - base_sql:+d} SQL" for o in outcomes[1:]), target="equal",
                    verdict=verdict(all(o["sql"] == base_sql for o in outcomes))))
    return rows


def _wait_for_release(release_id, timeout=3600.0, poll=1.0, tick_every=None):
    """Block until the release is no longer running (finished, cancelled or paused by a stop) or `timeout`
    seconds pass; returns `progress()` plus "state". With `tick_every` seconds it also ticks the release
    (what the periodic job does), for scripts that run without the scheduler."""
    from portal.extensions import db
    from portal.models import FleetRelease
    from portal.models import fleet as F
    from portal.services.fleet import tick
    from portal.services.fleet.report import progress

    deadline, last_tick = time.monotonic() + timeout, time.monotonic()
    while True:
        db.session.rollback()
        release = db.session.get(FleetRelease, release_id)
        if release.state not in (F.RUNNING, F.CANCELLING) or time.monotonic() > deadline:
            return {"state": release.state, **progress(release)}
        if tick_every is not None and time.monotonic() - last_tick >= tick_every:
            tick(release_id)
            last_tick = time.monotonic()
        time.sleep(poll)
