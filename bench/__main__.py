"""`make bench`: every benchmark in one run against its baseline, printed as one table and kept in
bench/RESULTS.md. Not a test: a missed target is printed as MISSED and the exit status stays 0; only a
benchmark that breaks makes it non-zero.

Measures (each in its own module): the sandbox's own calls/s (`sandbox_bench`), pushes in the default
deployment (gunicorn -c gunicorn.conf.py and worker.py, as the README's production section says) against a
bare route under the same gunicorn, at wrk -c32 and -c256, with `make run`'s server beside it and the
deployment's peak memory (`deployment`), the kill -9 drill of that deployment (`drill`: no acknowledged
push lost), push forwarding keeping up with those pushes, with the delay from WeChat's push to the
target's receipt (`forwarding`), the other acknowledgement modes for comparison (`callbacks`, info only), token single-flight across processes (`tokens`), the token service API (100
clients on expired tokens across 4 processes, and its latency against a bare route: `token_api`), a fleet release to 1,000
mini-programs with 100 ms WeChat latency and 4 workers (`fleet`) and page scale at 100 vs 10,000
mini-programs, 200,000 audits and 1,000,000 pushes (`pages`); with both `sandbox` and `fleet`, the
sandbox's calls/s against the call rate the fleet runs needed (at least 3x: the sandbox must never be what
limits a benchmark). `make bench` (tests/scripts/run-all.sh --bench) starts MariaDB and Redis on loopback and
sets DATABASE_URL and REDIS_URL; bench databases are created next to DATABASE_URL's and dropped afterwards.
`BENCH_ONLY=pages,tokens` runs some measures only (nothing is written to
RESULTS.md then).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.common import ROOT, Row, base_database_url, redis_url, verdict

RESULTS = Path(__file__).with_name("RESULTS.md")
MEASURES = ("sandbox", "deployment", "drill", "forwarding", "callbacks", "tokens", "token_api", "fleet", "pages")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _first_line(command) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "not available"


def machine() -> list[str]:
    from importlib.metadata import version

    meminfo = Path("/proc/meminfo").read_text().splitlines() if Path("/proc/meminfo").exists() else []
    mem_kb = next((int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:")), 0)
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown")
    db_version = redis_version = "not available"
    try:
        import sqlite3

        import sqlalchemy as sa

        url = sa.engine.make_url(base_database_url())
        if url.drivername.startswith("mysql"):
            engine = sa.create_engine(url.set(database=""))
            with engine.connect() as conn:
                db_version = "MariaDB/MySQL " + conn.exec_driver_sql("SELECT VERSION()").scalar()
            engine.dispose()
        else:
            db_version = f"SQLite {sqlite3.sqlite_version}"
    except Exception as exc:  # noqa: BLE001 - shown in the header only
        db_version = f"not available ({exc.__class__.__name__})"
    try:
        import redis

        redis_version = redis.Redis.from_url(redis_url()).info("server")["redis_version"]
    except Exception as exc:  # noqa: BLE001
        redis_version = f"not available ({exc.__class__.__name__})"
    commit = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    packages = ", ".join(f"{name} {version(name)}" for name in
                         ("Flask", "Werkzeug", "SQLAlchemy", "gunicorn", "mysqlclient", "redis", "rq"))
    return [
        f"Date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"Machine: {os.cpu_count()} cores ({model}), {mem_kb / 1024 / 1024:.1f} GiB memory, "
        f"{platform.system()} {platform.release()}",
        f"Versions: Python {platform.python_version()}; {packages}; database {db_version}; Redis {redis_version}; "
        f"{_first_line(['wrk', '-v']) if shutil.which('wrk') else 'wrk not installed'}",
        f"Code: commit {commit}{' with uncommitted changes' if dirty else ''}",
    ]


def sandbox_row(workdir: Path) -> list[Row]:
    from bench import sandbox_bench as sb

    port = sb.free_port()
    proc = sb.start_sandbox(port)
    base = f"http://127.0.0.1:{port}"
    try:
        world = sb.setup(base, 20)
        result = sb.run(base, world, threads=8, seconds=10)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return [Row("Sandbox: WeChat API calls/s (own process, 8 client threads, 10 s)",
                f"{result['per_second']:.0f} calls/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms; "
                f"{result['errors']} errors", verdict="info" if result["errors"] == 0 else "MISSED",
                figures={"sandbox_calls_per_second": result["per_second"]})]


SANDBOX_HEADROOM = 3


def headroom_row(rows: list[Row]) -> list[Row]:
    """The sandbox's calls/s against the call rate the fleet runs needed (their calls over their wall time,
    the busiest run): the sandbox must never be what limits a benchmark. Nothing when either is missing."""
    served = next((r.figures["sandbox_calls_per_second"] for r in rows if "sandbox_calls_per_second" in r.figures),
                  None)
    needed = max((r.figures["fleet_calls_per_second"] for r in rows if "fleet_calls_per_second" in r.figures),
                 default=None)
    if not served or not needed:
        return []
    return [Row("Sandbox: headroom over the fleet bench (sandbox calls/s / the call rate the fleet runs needed)",
                f"the sandbox serves {served:.0f} calls/s; the busiest fleet run needed {needed:.1f} calls/s",
                baseline=f"{needed:.1f} calls/s", ratio=f"{served / needed:.1f}x", target=f">= {SANDBOX_HEADROOM}x",
                verdict=verdict(served >= SANDBOX_HEADROOM * needed))]


def run_measures(names) -> tuple[list[Row], bool]:
    from bench import callbacks, deployment, fleet, forwarding, pages, push_drill, token_api, tokens

    runners = {"sandbox": sandbox_row, "deployment": lambda w: deployment.run(w, log=log),
               "drill": lambda w: push_drill.run(w, log=log), "callbacks": lambda w: callbacks.run(w, log=log),
               "forwarding": lambda w: forwarding.run(w, log=log),
               "tokens": lambda w: tokens.run(w, log=log), "token_api": lambda w: token_api.run(w, log=log),
               "fleet": lambda w: fleet.run(w, log=log),
               "pages": lambda w: pages.run(w, log=log)}
    rows, broken = [], False
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        for name in names:
            log(f"== {name}")
            started = time.monotonic()
            try:
                rows += runners[name](Path(tmp))
            except Exception as exc:  # noqa: BLE001 - the other measures still run
                broken = True
                traceback.print_exc()
                rows.append(Row(f"{name}: the benchmark broke", f"{exc.__class__.__name__}: {exc}"[:300],
                                verdict="ERROR"))
            log(f"   ({time.monotonic() - started:.0f} s)")
    return rows + headroom_row(rows), broken


def table(rows: list[Row]) -> str:
    header = ("Measure", "Result", "Baseline (same run)", "Ratio", "Target", "Verdict")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = (row.measure, row.result, row.baseline, row.ratio, row.target, row.verdict)
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def main() -> int:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    only = [n.strip() for n in os.environ.get("BENCH_ONLY", "").split(",") if n.strip()]
    names = [n for n in MEASURES if not only or n in only]
    started = time.monotonic()
    header = machine()
    load_before = _load()
    rows, broken = run_measures(names)
    elapsed = time.monotonic() - started
    text = "\n".join(["# Benchmark results (`make bench`)", "", *[f"- {line}" for line in header],
                      f"- Total time: {elapsed:.0f} s; load average (1 min) {load_before} at the start, {_load()} "
                      "at the end (other processes on the machine skew the figures)", "", table(rows), ""])
    print(text)
    if not only:
        RESULTS.write_text(text, encoding="utf-8")
        log(f"written to {RESULTS.relative_to(ROOT)}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
