"""Pushes in the default deployment (issue P1) and its memory (P5): what the README's "Production deployment"
tells an operator to run - `gunicorn -c gunicorn.conf.py` with that file's defaults (2 workers per core,
8 threads), one `python worker.py`, the database of DATABASE_URL (MariaDB under `make bench`) and Redis -
configured by the environment alone, with no CALLBACK_* setting: the acknowledgement mode and whatever
drains pushes are the defaults of the code that runs (`bench.production`). The served object is
`bench.portal_wsgi:app`, i.e. `wsgi.py` with the callback rate limit raised (wrk is one address).

Data as in `bench.callbacks`: a fresh migrated database with 2,000 authorized mini-programs holding 100
audits in review each. Three kinds of push, each at wrk -c32 and -c256 for BENCH_SECONDS (10) seconds:
tickets (/wechat/auth-events), audit results (`weapp_audit_success`, each closes an audit) and users' text
messages (/wechat/events/<appid>, unique MsgId and Content). For each: pushes/s, p50, p99, answers that
were not 200 `success`, the ratios to the bare route, and how long after the load stopped the last
acknowledged push was stored (the count of its kind's rows in `callback_events`, polled; after 300 s the
row says how many are missing and fails).

Baseline: the bare route (`bench.bare_app`) under the same `gunicorn -c gunicorn.conf.py`, the same request
bodies, measured before, between and after the portal runs; each portal row is compared with the mean of the
bare runs around it. Order: bare -c32, portal -c32 (three kinds), bare -c32, `make run`, bare -c32 and
-c256, portal -c256, bare -c256.

`make run`: `python -m portal.devrun` itself is started headless (werkzeug's threaded server, jobs
embedded without Redis, SQLite, its sandbox and demo data, in a fresh PORTAL_INSTANCE_PATH), with one
setting added: CALLBACK_RATE_LIMIT raised, as above. Ticket pushes at -c32, signed with the credentials it
generated, against the bare route served the same way (werkzeug's threaded server in one process, measured
just before and after); target 0.5x. The row also gives its ratio to the bare route under gunicorn.

Memory: the peak resident memory (VmHWM) of every gunicorn worker and of `worker.py` and its children,
sampled every half second while the deployment runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    wait_for_port,
)
from bench.dataset import appid_for, seed
from bench.load import CONFIG, Gunicorn, PushFactory, stored_counts, wrk
from bench.production import Deployment, configured_workers, production_env

APPS, OPEN_AUDITS_PER_APP = 2000, 100
CONNECTIONS = (32, 256)
KINDS = (("component_verify_ticket", lambda factory, i: factory.ticket()),
         ("weapp_audit_success", lambda factory, i: factory.audit_success(i % APPS + 1)),
         ("text", lambda factory, i: factory.text_message(i % APPS + 1)))
STORE_TIMEOUT = 300.0
WEB_BOUND_MB, WORKER_BOUND_MB = 120, 150
THROUGHPUT, P99 = 0.8, 2.0


def _ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


class Bench:
    """The bench database (seeded), Redis, a sandbox as WeChat and the production environment for them."""

    def __init__(self, workdir: Path, log, name="portal_bench_deployment", apps=APPS, audits=OPEN_AUDITS_PER_APP):
        self.workdir, self.log, self.name, self.app_count, self.audits = workdir, log, name, apps, audits

    def __enter__(self) -> Bench:
        from sandbox.server import start_background

        self.url, self.redis = database_url(self.name), redis_url()
        flush_redis(self.redis)
        credentials = component_credentials()
        self.sandbox = start_background(host="127.0.0.1", port=0, ticket_interval=86400, quiet=True)
        self.app = migrated_app(self.url, self.redis, **credentials)
        seed(self.app, tenants=1, apps=self.app_count, audits_per_app=self.audits, open_audits=True)
        self._dispose()
        keys = portal_settings(self.url, self.redis)
        self.env = production_env(dict(
            credentials, DATABASE_URL=self.url, REDIS_URL=self.redis, SECRET_KEY=keys["SECRET_KEY"],
            DATA_KEY=keys["DATA_KEY"], WECHAT_API_BASE=self.sandbox.url, WECHAT_MP_BASE=self.sandbox.url,
            WECHAT_OPEN_BASE=self.sandbox.url, PUBLIC_BASE_URL="http://127.0.0.1",
            PORTAL_INSTANCE_PATH=self.workdir / f"{self.name}-instance"))
        self.factory = PushFactory(credentials)
        return self

    def _dispose(self):
        from portal.extensions import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    def __exit__(self, *exc):
        self.sandbox.stop()
        self._dispose()
        drop_database(self.url)
        flush_redis(self.redis)

    def deployment(self) -> Deployment:
        return Deployment(self.env, self.workdir, target="bench.portal_wsgi:app").start()

    def apps(self, count: int) -> list[tuple[str, str]]:
        return [(appid_for(i), f"gh_{i:012d}") for i in range(1, min(count, self.app_count) + 1)]

    def mode(self) -> str:
        """CALLBACK_ACKNOWLEDGE as the deployment's processes read it (the code's default)."""
        out = subprocess.run([sys.executable, "-c", "from config import Config; print(Config.CALLBACK_ACKNOWLEDGE)"],
                             cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or "unknown"


def wait_stored(url: str, kind: str, before: int, expected: int, timeout: float = STORE_TIMEOUT) -> tuple[float, int]:
    """Seconds until `expected` more rows of `kind` are stored than `before` (nan after `timeout`), and how
    many are stored then."""
    started = time.monotonic()
    while True:
        stored = stored_counts(url)["kinds"].get(kind, 0) - before
        if stored >= expected:
            return time.monotonic() - started, stored
        if time.monotonic() - started > timeout:
            return float("nan"), stored
        time.sleep(0.2)


def _pool_size(seconds: float) -> int:
    return max(10_000, int(8_000 * seconds))  # unique pushes per run: more than a run sends


def _measure(server, factory, path: Path, make, seconds, connections, url, kind) -> dict:
    """One timed wrk run of pushes of `kind`, then the wait until each acknowledged one is stored."""
    pool = factory.write(path, (make(factory, i) for i in range(_pool_size(seconds))))
    before = stored_counts(url)
    result = wrk(server, pool, seconds, connections)
    # a wrapped pool repeats pushes: WeChat's retries, stored once
    expected = min(result["acknowledged"], _pool_size(seconds)) if result["wrapped"] else result["acknowledged"]
    result["expected"] = expected
    result["stored_after"], result["stored"] = wait_stored(url, kind, before["kinds"].get(kind, 0), expected)
    result["approved"] = stored_counts(url)["approved"] - before["approved"]
    return result


def _portal_block(bench, connections, seconds, log) -> tuple[dict, Deployment]:
    deployment = bench.deployment()
    try:
        warm = bench.factory.write(bench.workdir / "warm.txt", (bench.factory.ticket() for _ in range(3000)))
        before = stored_counts(bench.url)["kinds"].get("component_verify_ticket", 0)
        warmed = wrk(deployment.web, warm, 2, connections)
        wait_stored(bench.url, "component_verify_ticket", before, min(warmed["acknowledged"], 3000))
        results = {}
        for kind, make in KINDS:
            result = _measure(deployment.web, bench.factory, bench.workdir / f"{kind}-{connections}.txt", make,
                              seconds, connections, bench.url, kind)
            results[kind] = result
            log(f"  portal {kind} -c{connections}: {result['per_second']:.0f}/s p50 {_ms(result['p50_us'])} "
                f"p99 {_ms(result['p99_us'])}; stored {result['stored_after']:.1f} s after")
        return results, deployment
    finally:
        deployment.stop()


def _bare(bench, pool: Path, seconds, connections, log) -> dict:
    server = Gunicorn("bench.bare_app:app", bench.env, bench.workdir / "gunicorn-bare.log", config=CONFIG)
    try:
        wrk(server, pool, 2, connections)
        result = wrk(server, pool, seconds, connections)
    finally:
        server.stop()
    log(f"  bare -c{connections}: {result['per_second']:.0f}/s p50 {_ms(result['p50_us'])} p99 {_ms(result['p99_us'])}")
    return result


class _Process:
    """A single-process server for `wrk` (its CPU time read from /proc)."""

    def __init__(self, url: str, pid: int):
        self.url, self.pid = url, pid

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")


def _bare_werkzeug(workdir: Path, pool: Path, seconds: float, log) -> dict:
    """The bare route served as `make run` serves the portal: werkzeug's threaded server, one process."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from werkzeug.serving import make_server; from bench.bare_app import app; "
         "make_server('127.0.0.1', int(sys.argv[1]), app, threaded=True).serve_forever()", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 60, proc)
        server = _Process(f"http://127.0.0.1:{port}", proc.pid)
        wrk(server, pool, 2, 32)
        result = wrk(server, pool, seconds, 32)
    finally:
        proc.terminate()
        proc.wait(15)
    log(f"  bare (werkzeug threaded) -c32: {result['per_second']:.0f}/s p99 {_ms(result['p99_us'])}")
    return result


def _devrun(workdir: Path, seconds: float, log) -> dict:
    """`make run` started headless; ticket pushes at -c32 against it."""
    instance, port = workdir / "devrun-instance", free_port()
    env = production_env({"PORTAL_ENV": "development", "PORTAL_INSTANCE_PATH": instance, "PORTAL_PORT": port,
                          "SANDBOX_PORT": free_port(), "CALLBACK_RATE_LIMIT": "1000000 per minute"})
    output = open(workdir / "devrun.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "portal.devrun"], cwd=ROOT, env=env, stdout=output,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while b"Press Ctrl-C" not in (workdir / "devrun.log").read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"make run's portal did not start; see {workdir / 'devrun.log'}")
            time.sleep(0.2)
        credentials = json.loads((instance / "demo-credentials.json").read_text())
        url = "sqlite:///" + str(instance / "portal.sqlite3")
        return _measure(_Process(f"http://127.0.0.1:{port}", proc.pid), PushFactory(credentials),
                        workdir / "devrun-tickets.txt", KINDS[0][1], seconds, 32, url, KINDS[0][0])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its sandbox, whatever is left
        except ProcessLookupError:
            pass
        output.close()


def _mean(*runs) -> dict:
    return {"per_second": sum(r["per_second"] for r in runs) / len(runs),
            "p99_us": sum(r["p99_us"] for r in runs) / len(runs)}


def _stored_text(result: dict) -> str:
    if result["stored_after"] != result["stored_after"]:  # nan: not all stored in time
        return (f"NOT STORED: {result['expected'] - result['stored']} of {result['expected']} acknowledged pushes "
                f"missing {STORE_TIMEOUT:.0f} s after the load stopped")
    return f"all {result['expected']} acknowledged stored {result['stored_after']:.1f} s after the load stopped"


def _push_row(measure, result, base, throughput_target, p99_target=None) -> Row:
    ratio = result["per_second"] / base["per_second"]
    p99_ratio = result["p99_us"] / max(1, base["p99_us"])
    stored_ok = result["stored_after"] == result["stored_after"]
    ok = ratio >= throughput_target and result["failed"] == 0 and stored_ok \
        and (p99_target is None or p99_ratio <= p99_target)
    wrapped = f", pool wrapped {result['wrapped']}x (repeats = retries)" if result["wrapped"] else ""
    closed = f", {result['approved']} audits closed" if result["approved"] else ""
    target = f">= {throughput_target}x throughput" + (f", p99 <= {p99_target:g}x" if p99_target else "")
    return Row(measure,
               f"{result['per_second']:.0f} pushes/s, p50 {_ms(result['p50_us'])}, p99 {_ms(result['p99_us'])}; "
               f"{result['failed']} not 'success'{wrapped}; {_stored_text(result)}{closed}; "
               f"server CPU {result['cpu_ms']:.1f} ms/push",
               f"{base['per_second']:.0f}/s, p99 {_ms(base['p99_us'])} (bare runs before and after)",
               f"{ratio:.2f}x throughput, {p99_ratio:.1f}x p99", target,
               verdict(ok) if stored_ok else "FAIL")  # an acknowledged push lost is no matter of speed


def _memory_row(deployments) -> Row:
    peaks = [peak for d in deployments for peak in d.peaks.values()]

    def largest(prefix):
        values = [mb for role, mb in peaks if role.startswith(prefix)]
        return (max(values) if values else 0.0), len(values)

    (web_mb, web_n), (worker_mb, worker_n), (child_mb, child_n) = (
        largest("gunicorn"), largest("worker.py"), largest("child"))
    drainer = [mb for role, mb in peaks if role.startswith("child") and "drain-pushes" in role]
    children = f"its children: max {child_mb:.0f} MB ({child_n} seen, RQ's scheduler forks among them" + (
        f"; the push drainer {max(drainer):.0f} MB)" if drainer else "; no push drainer)")
    return Row("Memory (P5): peak RSS (VmHWM) during the push runs, default deployment",
               f"gunicorn workers: max {web_mb:.0f} MB ({web_n} workers); worker.py: max {worker_mb:.0f} MB "
               f"({worker_n} processes); {children}",
               target=f"<= {WEB_BOUND_MB} MB per web worker, <= {WORKER_BOUND_MB} MB per worker.py or child",
               verdict=verdict(web_n > 0 and worker_n > 0 and web_mb <= WEB_BOUND_MB
                               and max(worker_mb, child_mb) <= WORKER_BOUND_MB))


def run(workdir: Path, seconds: float | None = None, log=print) -> list[Row]:
    import shutil

    if shutil.which("wrk") is None:
        return [Row("Pushes, default deployment", "wrk is not installed", verdict="ERROR")]
    seconds = seconds or float(os.environ.get("BENCH_SECONDS", "10"))
    with Bench(workdir, log) as bench:
        factory = bench.factory
        bare_pool = factory.write(workdir / "bare.txt", (factory.audit_success(i % APPS + 1)
                                                         for i in range(_pool_size(seconds))))
        bare = {32: [_bare(bench, bare_pool, seconds, 32, log)], 256: []}
        measured, deployments = {}, []
        measured[32], deployment = _portal_block(bench, 32, seconds, log)
        deployments.append(deployment)
        bare[32].append(_bare(bench, bare_pool, seconds, 32, log))
        served_alike = [_bare_werkzeug(workdir, bare_pool, seconds, log)]
        devrun = _devrun(workdir, seconds, log)
        log(f"  make run -c32: {devrun['per_second']:.0f}/s p99 {_ms(devrun['p99_us'])}")
        served_alike.append(_bare_werkzeug(workdir, bare_pool, seconds, log))
        bare[32].append(_bare(bench, bare_pool, seconds, 32, log))
        bare[256].append(_bare(bench, bare_pool, seconds, 256, log))
        measured[256], deployment = _portal_block(bench, 256, seconds, log)
        deployments.append(deployment)
        bare[256].append(_bare(bench, bare_pool, seconds, 256, log))
        mode = bench.mode()
    workers, threads = configured_workers(bench.env), int(bench.env.get("GUNICORN_THREADS") or 8)
    rows = [Row(f"Pushes, default deployment: bare Flask route (gunicorn -c gunicorn.conf.py: {workers} workers x "
                f"{threads} threads)",
                "; ".join(f"-c{c}: " + ", ".join(f"{r['per_second']:.0f}/s p99 {_ms(r['p99_us'])}" for r in runs)
                          for c, runs in bare.items()) + f" (acknowledgement mode of this code: {mode})",
                verdict="baseline" if not any(r["failed"] for runs in bare.values() for r in runs) else "some failed")]
    for connections in CONNECTIONS:
        runs = bare[connections]
        base = _mean(runs[0], runs[1])
        for kind, _make in KINDS:
            rows.append(_push_row(f"Pushes, default deployment: {kind} at wrk -c{connections}",
                                  measured[connections][kind], base, THROUGHPUT, P99))
    alike, gunicorn_bare = _mean(*served_alike), _mean(bare[32][1], bare[32][2])
    row = _push_row("Pushes, make run (portal.devrun: werkzeug threaded, jobs embedded, SQLite): "
                    "component_verify_ticket at wrk -c32", devrun, alike, 0.5)
    row.baseline = (f"{alike['per_second']:.0f}/s, p99 {_ms(alike['p99_us'])} (the bare route under werkzeug's "
                    f"threaded server, before and after; under gunicorn {gunicorn_bare['per_second']:.0f}/s: "
                    f"{devrun['per_second'] / gunicorn_bare['per_second']:.2f}x that)")
    rows.append(row)
    rows.append(_memory_row(deployments))
    return rows
