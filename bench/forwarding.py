"""Push forwarding under load, in the default deployment: does forwarding keep up with the pushes, and how
long does a push take from WeChat to the operator's system?

The deployment is what the README's production section runs: the portal under `gunicorn -c
gunicorn.conf.py` (`bench.portal_wsgi:app`: `wsgi.py` with the per-address callback limit raised, the load
comes from one address), one `python worker.py`, the database of DATABASE_URL (MariaDB in `make bench`) and
Redis, with the default acknowledgement mode. It gets a fresh migrated database with APPS authorized
mini-programs and one forwarding rule sending every user text message (`MsgType=text`) of every app to
the operator's system: `bench.forward_receiver` under gunicorn, which records each arrival and whose own
capacity (wrk against it alone) is reported, so it is seen not to be what limits a row.

- Paced rows: a Python sender (SENDER_THREADS threads, kept connections) sends user messages at a fixed
  rate (BENCH_FORWARDING_RATES, default 100, 500 and "max", as fast as it can drive) for BENCH_SECONDS,
  round robin over the apps. Each push is sealed when it is sent and carries its send time in its Content,
  so delay = arrival at the receiver - send time: it includes WeChat's wait for `success`, storing, the
  wake-up of the rule's job and the delivery. Reported: p50/p99 of the delay, delivered/sent, repeats.
- Burst row: BENCH_FORWARDING_BURST pre-sealed user messages (default 4,000 per second of the burst) sent as fast as wrk sends them
  (32 connections) for BENCH_SECONDS; then the deliveries per second while the backlog drains, against the
  push rate of the burst, and how long after the burst's end the last one arrives.

Targets: every push delivered once with p99 <= 1 s at the paced rates (operator-integrations issue: "within
a second when the target is healthy"); in the burst, every push delivered, at a rate >= the push rate or
with no backlog left (the last delivery within 1 s of the burst's end); the burst row also says when the
last push was stored with its deliveries queued, which tells storing from sending. The CPU each process on
the way takes per push (gunicorn, the drainer storing it, the database, worker.py sending it, the receiver)
is printed beside, with the rate their sum allows on this machine's cores: on a machine shared by all of
them that is the ceiling of every row, and those are the figures that carry over to one that is not.
"""

from __future__ import annotations

import http.client
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import (
    ROOT,
    Row,
    component_credentials,
    database_url,
    drop_database,
    flush_redis,
    migrated_app,
    redis_url,
    verdict,
)
from bench.dataset import seed
from bench.load import THREADS, WORKERS, Gunicorn, PushFactory, cmdline, descendants, settle, wrk

APPS = 1000
SENDER_THREADS = 16
BURST_CONNECTIONS = 32
BURST_PER_SECOND = 4000  # pushes sealed for the burst per second of it: more than wrk gets through
DELAY_TARGET = 1.0  # seconds, p99
# Deliveries cannot outpace the pushes they follow: a forwarder that keeps up spans the burst plus its
# delay, so its rate over that span is a little under the push rate. No backlog left at the end (the last
# delivery within this many seconds of the last push) is the other way to say it kept up.
BACKLOG_TARGET = 1.0
NO_PROGRESS_SECONDS = 20.0  # waiting for deliveries stops when none arrived for this long
RECEIVER_BODY = ('{"ToUserName":"gh_000000000001","FromUserName":"o0","CreateTime":"1","MsgType":"text",'
                 '"Content":"capacity 0 0","MsgId":"1"}')


def process_cpu(pid: int) -> float:
    """CPU time (user + system, seconds) used so far by process `pid` (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _rates():
    named = os.environ.get("BENCH_FORWARDING_RATES", "100,500,max")
    return [None if r.strip() == "max" else float(r) for r in named.split(",") if r.strip()]


class Receiver:
    """The operator's system: `bench.forward_receiver` under gunicorn; reads back what arrived."""

    def __init__(self, workdir: Path, env: dict):
        self.dir = workdir / "received"
        self.dir.mkdir(exist_ok=True)
        self.server = Gunicorn("bench.forward_receiver:app", dict(env, BENCH_RECEIVER_DIR=str(self.dir)),
                               workdir / "receiver.log")
        self.url = self.server.url + "/push"

    def arrivals(self, tag: str) -> list[tuple[float, str, str]]:
        """(arrival, push id, the Content's words after the tag) of every push of `tag` that arrived."""
        found = []
        for path in self.dir.glob("received-*.tsv"):
            for line in path.read_text().splitlines():
                arrived, push_id, content = line.split("\t", 2)
                words = content.split()
                if words and words[0] == tag:
                    found.append((float(arrived), push_id, words[1:]))
        return found

    def capacity(self, workdir: Path, seconds: float) -> dict:
        """wrk against the receiver alone, with a forwarded push's body: its own ceiling."""
        script = workdir / "receiver.lua"
        script.write_text(f"wrk.method = 'POST'\nwrk.headers['Content-Type'] = 'application/json'\n"
                          f"wrk.body = '{RECEIVER_BODY}'\n")
        settle()
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{max(1, seconds):.0f}s", "-s", str(script), self.url],
                             capture_output=True, text=True, timeout=seconds + 60)
        line = next((row for row in out.stdout.splitlines() if row.startswith("Requests/sec:")), "Requests/sec: 0")
        return {"per_second": float(line.split(":")[1])}

    def stop(self):
        self.server.stop()


def wait_delivered(receiver: Receiver, tag: str, expected: int, log) -> list:
    """The arrivals of `tag` once `expected` distinct pushes arrived, or once none arrived for a while."""
    last_count, last_change = -1, time.monotonic()
    while True:
        found = receiver.arrivals(tag)
        distinct = len({words[0] for _at, _id, words in found if words})
        if distinct >= expected:
            return found
        if distinct != last_count:
            last_count, last_change = distinct, time.monotonic()
        elif time.monotonic() - last_change > NO_PROGRESS_SECONDS:
            log(f"  {tag}: {distinct} of {expected} arrived; nothing more for {NO_PROGRESS_SECONDS:.0f} s")
            return found
        time.sleep(0.5)


def paced(portal: Gunicorn, factory: PushFactory, tag: str, rate: float | None, seconds: float) -> dict:
    """Send user messages at `rate` per second (None: as fast as SENDER_THREADS threads can) for `seconds`;
    returns {"sent", "failed", "per_second"}. Content: "<tag> <n> <send time>"."""
    total = int(rate * seconds) if rate else None
    counter, tally, guard = itertools.count(), {"sent": 0, "failed": 0}, threading.Lock()
    start = time.monotonic() + 0.2
    stop_at = start + seconds

    def sender():
        conn = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=30)
        sent = failed = 0
        while True:
            n = next(counter)
            if total is not None and n >= total:
                break
            due = start + n / rate if rate else time.monotonic()
            if due > stop_at or (rate is None and time.monotonic() > stop_at):
                break
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            line = factory.text_message(n % APPS + 1, f"{tag} {n} {time.time():.6f}")
            path, body = line.split("\t", 1)
            try:
                conn.request("POST", path, body.encode(), {"Content-Type": "text/xml"})
                response = conn.getresponse()
                ok = response.status == 200 and response.read() == b"success"
            except (OSError, http.client.HTTPException):
                conn.close()
                conn, ok = http.client.HTTPConnection("127.0.0.1", portal.port, timeout=30), False
            sent, failed = sent + 1, failed + (not ok)
        conn.close()
        with guard:
            tally["sent"] += sent
            tally["failed"] += failed

    threads = [threading.Thread(target=sender) for _ in range(SENDER_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally["per_second"] = tally["sent"] / max(1e-9, time.monotonic() - start)
    return tally


def _percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def paced_row(receiver, portal, worker, factory, rate, seconds, log) -> Row:
    tag = f"paced{int(rate) if rate else 'max'}"
    settle()
    cpu_at_start = cpu_so_far(worker, portal, receiver)
    sent = paced(portal, factory, tag, rate, seconds)
    ok_sent = sent["sent"] - sent["failed"]
    found = wait_delivered(receiver, tag, ok_sent, log)
    cpu = _cpu_note(cpu_at_start, worker, portal, receiver, ok_sent, len(found))
    first = {}
    for arrived, _push_id, words in found:
        first[words[0]] = min(arrived, first.get(words[0], arrived))
    sent_at = {words[0]: float(words[1]) for _at, _id, words in found}
    delays = [first[n] - sent_at[n] for n in first]
    p50, p99 = statistics.median(delays) if delays else float("nan"), _percentile(delays, 0.99)
    repeats = len(found) - len(first)
    label = f"{rate:.0f} pushes/s" if rate else f"as fast as {SENDER_THREADS} sender threads go"
    log(f"  {tag}: sent {sent['sent']} at {sent['per_second']:.0f}/s, delivered {len(first)}, "
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    return Row(f"Forwarding: user messages at {label}, one rule, delay WeChat -> target",
               f"sent {sent['sent']} at {sent['per_second']:.0f}/s ({sent['failed']} not 'success'); delivered "
               f"{len(first)}/{ok_sent}, {repeats} repeats; delay p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; {cpu}",
               target=f"all delivered once, p99 <= {DELAY_TARGET:.0f} s",
               verdict=verdict(len(first) == ok_sent and repeats == 0 and p99 <= DELAY_TARGET),
               figures={"push_rate": sent["per_second"]})


def drainer_cpu(worker) -> float:
    """CPU seconds used so far by the push drainer(s) `worker.py` runs as children (`drain-pushes`)."""
    return sum(process_cpu(pid) for pid in descendants(worker.pid) if "drain-pushes" in cmdline(pid))


def database_cpu() -> float:
    """CPU seconds used so far by the database server on this machine (MariaDB; 0 on SQLite)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and cmdline(int(entry.name)).split(" ", 1)[0].endswith(("mariadbd", "mysqld")):
            total += process_cpu(int(entry.name))
    return total


def cpu_so_far(worker, portal, receiver) -> tuple:
    """CPU seconds used so far by gunicorn's workers, the drainer, worker.py, the database and the receiver."""
    return (portal.cpu_seconds(), drainer_cpu(worker), process_cpu(worker.pid), database_cpu(),
            receiver.server.cpu_seconds())


def _cpu_note(before, worker, portal, receiver, pushes, deliveries, ceiling=False) -> str:
    """CPU per push of each process on the way from WeChat to the target; with `ceiling` (a saturated run,
    where fixed costs no longer count), the rate their sum allows on this machine's cores: the ceiling of
    any forwarding row here, whatever the design."""
    after = cpu_so_far(worker, portal, receiver)
    web, drainer, deliverer, database, target = ((a - b) * 1000 for a, b in zip(after, before, strict=True))
    web, drainer, database = (v / max(1, pushes) for v in (web, drainer, database))
    deliverer, target = (v / max(1, deliveries) for v in (deliverer, target))
    total = web + drainer + deliverer + database + target
    cores = os.cpu_count() or 1
    note = (f"CPU {web:.2f} ms/push in gunicorn, {drainer:.2f} in the drainer storing it, {database:.2f} in "
            f"the database, {deliverer:.2f} ms/delivery in worker.py, {target:.2f} in the receiver: "
            f"{total:.2f} ms in all")
    return note + (f", so at most {cores * 1000 / total:.0f} pushes/s forwarded on {cores} cores" if ceiling else "")


def queued_deliveries(url: str, settled: bool = False) -> tuple[int, float]:
    """(delivery rows queued so far, when the count last grew: epoch seconds); `settled`: once the count has
    not moved for 2 s (pushes acknowledged before they are stored are stored a moment later)."""
    engine = sa.create_engine(url)
    try:
        count, grew_at, still_since = -1, time.time(), time.monotonic()
        while True:
            with engine.connect() as conn:
                now = conn.scalar(sa.text("SELECT COUNT(*) FROM forward_deliveries"))
            if not settled or (now == count and time.monotonic() - still_since >= 2):
                return now, grew_at
            if now != count:
                count, grew_at, still_since = now, time.time(), time.monotonic()
            time.sleep(0.1)
    finally:
        engine.dispose()


def burst_row(receiver, portal, worker, factory, workdir, url, seconds, log) -> Row:
    count = int(os.environ.get("BENCH_FORWARDING_BURST", 0)) or int(BURST_PER_SECOND * seconds)
    pool = factory.write(workdir / "burst.txt", (factory.text_message(n % APPS + 1, f"burst {n}")
                                                 for n in range(count)))
    settle()
    queued_before = queued_deliveries(url)[0]
    cpu_at_start = cpu_so_far(worker, portal, receiver)
    result = wrk(portal, pool, seconds, BURST_CONNECTIONS)
    ended = time.time()
    # what was stored and queued (wrk does not count the requests it left in flight at its end)
    queued, stored_at = queued_deliveries(url, settled=True)
    unique = queued - queued_before
    found = wait_delivered(receiver, "burst", unique, log)
    cpu = _cpu_note(cpu_at_start, worker, portal, receiver, unique, len(found), ceiling=True)
    arrivals = sorted({words[0]: at for at, _id, words in found}.values())
    delivered = len(arrivals)
    span = arrivals[-1] - arrivals[0] if delivered > 1 else float("nan")
    push_rate = unique / (result["duration_us"] / 1e6)
    delivery_rate = (delivered - 1) / span if delivered > 1 else 0.0
    lag = arrivals[-1] - ended if arrivals else float("nan")
    log(f"  burst: {push_rate:.0f} pushes/s, {delivery_rate:.0f} deliveries/s, last {lag:.1f} s after the end")
    wrapped = f", pool wrapped {result['wrapped']}x" if result["wrapped"] else ""
    return Row(f"Forwarding: a burst of user messages (wrk -c{BURST_CONNECTIONS}, {seconds:.0f} s), one rule",
               f"{unique} pushes at {push_rate:.0f}/s ({result['failed']} not 'success'{wrapped}); delivered "
               f"{delivered}/{unique} at {delivery_rate:.0f}/s, the last {lag:.1f} s after the burst ended (all stored, "
               f"with their deliveries queued, {max(0.0, stored_at - ended):.1f} s after it); {cpu}",
               baseline=f"{push_rate:.0f} pushes/s (the burst)", ratio=f"{delivery_rate / push_rate:.2f}x",
               target=f">= 1x, or the last within {BACKLOG_TARGET:.0f} s of the burst's end; all delivered",
               verdict=verdict(delivered == unique and (delivery_rate >= push_rate or lag <= BACKLOG_TARGET)))


def _deployment_env(credentials, url, redis, sandbox_url, workdir) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WECHAT_", "DATABASE_URL", "REDIS_URL", "CALLBACK_", "FORWARDING_", "GUNICORN_"))}
    env.update(credentials, DATABASE_URL=url, REDIS_URL=redis, SECRET_KEY="bench-secret-key-for-benchmarks-only-0000",
               DATA_KEY="bench-data-key-for-benchmarks-only-00000", WECHAT_API_BASE=sandbox_url,
               WECHAT_MP_BASE=sandbox_url, WECHAT_OPEN_BASE=sandbox_url, PUBLIC_BASE_URL="http://127.0.0.1",
               PYTHONDONTWRITEBYTECODE="1", CALLBACK_SPOOL_DIR=str(workdir / "push-spool"), LOG_LEVEL="WARNING")
    return env


def _create_rule(app, target_url):
    from portal.extensions import db
    from portal.services import forwarding

    with app.app_context():
        rule, _secret = forwarding.create_rule("Bench: every user message", target_url, kinds="text")
        db.engine.dispose()
        return rule.id


def run(workdir: Path, seconds: float | None = None, log=print) -> list[Row]:
    if shutil.which("wrk") is None:
        return [Row("Forwarding", "wrk is not installed", verdict="ERROR")]
    from sandbox.server import start_background

    seconds = seconds or float(os.environ.get("BENCH_SECONDS", 10))
    url, redis = database_url("portal_bench_forwarding"), redis_url()
    flush_redis(redis)
    credentials = component_credentials()
    sandbox = start_background(host="127.0.0.1", port=0, ticket_interval=86400, quiet=True)
    receiver = portal = worker = None
    try:
        # the rule is made here as staff would make it; a loopback http target is accepted in development
        app = migrated_app(url, redis, PORTAL_ENV="development", FORWARDING_ALLOW_LOOPBACK_HTTP=True, **credentials)
        seed(app, tenants=1, apps=APPS, audits_per_app=0)
        env = _deployment_env(credentials, url, redis, sandbox.url, workdir)
        receiver = Receiver(workdir, env)
        _create_rule(app, receiver.url)
        capacity = receiver.capacity(workdir, min(seconds, 5))
        log(f"  receiver alone: {capacity['per_second']:.0f} requests/s")
        portal = Gunicorn("bench.portal_wsgi:app", env, workdir / "gunicorn.log", config="gunicorn.conf.py")
        worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                                  stdout=open(workdir / "worker.log", "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115
        factory = PushFactory(credentials)
        paced(portal, factory, "warm", 50, 1)
        wait_delivered(receiver, "warm", 50, log)
        rows = [Row(f"Forwarding: the bench's receiver alone (gunicorn -w {WORKERS} --threads {THREADS}, wrk -c16)",
                    f"{capacity['per_second']:.0f} requests/s: the ceiling of any forwarding row", verdict="info",
                    figures={"receiver_per_second": capacity["per_second"]})]
        rows += [paced_row(receiver, portal, worker, factory, rate, seconds, log) for rate in _rates()]
        rows.append(burst_row(receiver, portal, worker, factory, workdir, url, seconds, log))
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)
        for server in (portal, receiver):
            if server is not None:
                server.stop()
        sandbox.stop()
    drop_database(url)
    return rows
