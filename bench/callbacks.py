"""Callback throughput: encrypted WeChat pushes against the portal under gunicorn, compared with a bare
Flask route answering "success" under the same gunicorn settings, in the same run.

The portal (`bench.portal_wsgi:app`, i.e. `wsgi.py` with the callback rate limit raised) gets a fresh
migrated database with 2,000 authorized mini-programs holding 100 audits in review each, Redis, newly
generated component credentials and a sandbox as its WeChat hosts. Pools of unique pushes are encrypted
and signed with the sandbox's own message crypto (`sandbox/crypto.py`, shares no code with the portal)
just before each run, so their timestamps are fresh and their contents distinct (no duplicates unless
the pool wraps, which is reported):

- `component_verify_ticket` to /wechat/auth-events (each one stores the ticket: one hot row),
- `weapp_audit_success` to /wechat/events/<appid> (each one closes one audit in review, 100 per app: enough for the five runs).

Both in each acknowledgement mode (CALLBACK_ACKNOWLEDGE): `stored` (committed to the database before
`success`, concurrent pushes group-committed); `spooled` (written to a local spool file) and `queued`
(appended to a Redis stream made persistent with `appendonly yes`), each drained into the database by the
portal's own drainer threads while the load runs (the row says how long after the load the last push was
stored, and the stored counts are taken after that); and `spooled` and `queued` again with nothing draining
during the load (`spool-only`, `ack-only`): the web tier's own cost when drainers run later or elsewhere,
drained afterwards by one `flask drain-pushes` (its rate is reported). BENCH_CALLBACK_MODES=spool-only,stored
measures some modes only.

The bare route is measured before, between and after the modes, and each mode is compared with the mean of
the two bare runs around it (the machine's speed drifts over minutes); each timed run first waits until the
machine is nearly idle.

Load comes from `wrk` (Debian's package, not the server's code) with `push_pool.lua`, a fixed number of
connections for a fixed time, one server at a time. Reports pushes/s, p50 and p99 for each, the ratios to
the bare route, answers that were not 200 "success", and how many pushes the portal stored.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
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
    free_port,
    migrated_app,
    redis_url,
    verdict,
    wait_for_port,
)
from bench.dataset import appid_for, seed

WORKERS, THREADS = 2, 4
WRK_THREADS = 2
APPS, OPEN_AUDITS_PER_APP = 2000, 100
POOL = 80_000  # unique pushes of each kind per run: more than one 10-second run sends
LUA = Path(__file__).with_name("push_pool.lua")


class Gunicorn:
    """`gunicorn -w 2 --threads 4` (or `workers`) serving `target` on a free loopback port; logs to a file.
    With `config` (e.g. "gunicorn.conf.py"), that file's settings instead, as a deployment runs it."""

    def __init__(self, target: str, env: dict, log_path: Path, workers: int = WORKERS, config: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        sizing = ["-c", config] if config else ["-w", str(workers), "--threads", str(THREADS)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *sizing,
             "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "--graceful-timeout", "5", target],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, 60, self.proc)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the worker processes."""
        total = 0.0
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            for pid in children:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


class PushFactory:
    """Encrypted, signed pushes as WeChat sends them (query string + outer XML), one line per push."""

    def __init__(self, credentials: dict):
        from sandbox.crypto import MessageCrypto

        self.component_appid = credentials["WECHAT_COMPONENT_APPID"]
        self.crypto = MessageCrypto(credentials["WECHAT_COMPONENT_TOKEN"], credentials["WECHAT_COMPONENT_AES_KEY"],
                                    self.component_appid)

    def _line(self, path: str, inner: str, outer_name: str, outer_value: str, extra: str = "") -> str:
        from urllib.parse import urlencode

        timestamp = str(int(time.time()))
        nonce = str(int.from_bytes(os.urandom(4), "big"))
        sealed = self.crypto.seal(inner, timestamp, nonce)
        query = urlencode({"signature": sealed["signature"], "timestamp": timestamp, "nonce": nonce}) + extra \
            + "&" + urlencode({"encrypt_type": "aes", "msg_signature": sealed["msg_signature"]})
        body = (f"<xml><{outer_name}><![CDATA[{outer_value}]]></{outer_name}>"
                f"<Encrypt><![CDATA[{sealed['encrypt']}]]></Encrypt></xml>")
        return f"{path}?{query}\t{body}"

    def ticket(self) -> str:
        inner = (f"<xml><AppId><![CDATA[{self.component_appid}]]></AppId><CreateTime>{int(time.time())}</CreateTime>"
                 f"<InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA["
                 f"ticket@@@{secrets.token_urlsafe(60)}]]></ComponentVerifyTicket></xml>")
        return self._line("/wechat/auth-events", inner, "AppId", self.component_appid)

    def audit_success(self, app_index: int) -> str:
        appid, user_name, now = appid_for(app_index), f"gh_{app_index:012d}", int(time.time())
        inner = (f"<xml><ToUserName><![CDATA[{user_name}]]></ToUserName><FromUserName><![CDATA["
                 f"o{secrets.token_hex(12)}]]></FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA["
                 f"event]]></MsgType><Event><![CDATA[weapp_audit_success]]></Event><SuccTime>{now}</SuccTime></xml>")
        return self._line(f"/wechat/events/{appid}", inner, "ToUserName", user_name, f"&openid=o{appid[2:]}")

    def user_message(self, app_index: int, content: str) -> str:
        """A user's text message to app `app_index` (MsgType text, a fresh MsgId), sealed now."""
        appid, user_name = appid_for(app_index), f"gh_{app_index:012d}"
        inner = (f"<xml><ToUserName><![CDATA[{user_name}]]></ToUserName><FromUserName><![CDATA["
                 f"o{secrets.token_hex(12)}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType>"
                 f"<![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
                 f"<MsgId>{secrets.randbelow(2 ** 63)}</MsgId></xml>")
        return self._line(f"/wechat/events/{appid}", inner, "ToUserName", user_name, f"&openid=o{appid[2:]}")

    def write(self, path: Path, lines) -> Path:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def _busy_fraction(interval: float = 0.5) -> float:
    """The machine's CPU use over `interval` seconds (all cores, 0..1), from /proc/stat."""
    def sample():
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    total_before, idle_before = sample()
    time.sleep(interval)
    total_after, idle_after = sample()
    return 1 - (idle_after - idle_before) / max(1, total_after - total_before)


def _unwritten_mib() -> float:
    """Dirty and in-writeback page cache (MiB, /proc/meminfo): file data the kernel has yet to write."""
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    return sum(int(fields.get(name, "0 kB").split()[0]) for name in ("Dirty", "Writeback")) / 1024


def settle(limit: float = 0.15, unwritten_mib: float = 64.0, timeout: float = 60.0) -> float:
    """Wait until the machine is nearly idle and the disk has caught up (what the previous run left behind,
    such as the database flushing the pages it wrote, would otherwise be charged to the next one: a write()
    of the push spool is held back by the kernel while too much is unwritten); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout and (_busy_fraction() > limit or _unwritten_mib() > unwritten_mib):
        pass
    return time.monotonic() - started


def wrk(server: Gunicorn, pool_file: Path, seconds: float, connections: int) -> dict:
    settle()
    url, cpu_before = server.url, server.cpu_seconds()
    out = subprocess.run(["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "10s",
                          "-s", str(LUA), url, "--", str(pool_file), str(WRK_THREADS)],
                         capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr.strip()[-500:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["per_second"] = result["requests"] / (result["duration_us"] / 1e6)
    result["cpu_ms"] = (server.cpu_seconds() - cpu_before) * 1000 / max(1, result["requests"])
    result["failed"] = result["non_2xx"] + result["not_success"] + result["connect_errors"] \
        + result["read_errors"] + result["write_errors"] + result["timeouts"]
    return result


def _stored(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        kinds = dict(conn.execute(sa.text("SELECT kind, COUNT(*) FROM callback_events GROUP BY kind")).all())
        outcomes = dict(conn.execute(sa.text("SELECT outcome, COUNT(*) FROM callback_events GROUP BY outcome")).all())
        dups = conn.scalar(sa.text("SELECT COALESCE(SUM(duplicates), 0) FROM callback_events"))
        approved = conn.scalar(sa.text("SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0"))
    engine.dispose()
    return {"kinds": kinds, "outcomes": outcomes, "duplicates": int(dups), "approved": approved}


def _ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def _drained(redis: str, spool: Path, timeout: float = 300.0) -> float:
    """Seconds until the push stream is empty (nothing waiting, nothing pending) and so is the spool."""
    import redis as redis_lib

    client, started = redis_lib.Redis.from_url(redis), time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            waiting = client.xlen("callbacks:pushes") + client.xpending("callbacks:pushes", "portal")["pending"]
        except redis_lib.ResponseError:  # no stream yet
            waiting = 0
        if spool.is_dir():
            waiting += sum(1 for p in spool.iterdir() if p.suffix in (".open", ".ready"))
        if not waiting:
            return time.monotonic() - started
        time.sleep(0.1)
    return float("nan")


# (name, environment, label): the two acknowledgement modes, and the queued one with nothing draining while
# the load runs (what the web tier alone pays when drainers run elsewhere), drained by `flask drain-pushes`.
MODES = (("stored", {"CALLBACK_ACKNOWLEDGE": "stored"}, "stored before success (group commit)"),
         ("spooled", {"CALLBACK_ACKNOWLEDGE": "spooled"}, "spooled to a local file, drained by the web processes"),
         ("spool-follow", {"CALLBACK_ACKNOWLEDGE": "spooled", "CALLBACK_DRAIN_IN_PROCESS": "false"},
          "spooled to a local file, drained meanwhile by one flask drain-pushes --follow"),
         ("spool-only", {"CALLBACK_ACKNOWLEDGE": "spooled", "CALLBACK_DRAIN_IN_PROCESS": "false"},
          "spooled to a local file, drained afterwards by flask drain-pushes"),
         ("queued", {"CALLBACK_ACKNOWLEDGE": "queued"}, "queued in Redis, drained by the web processes"),
         ("ack-only", {"CALLBACK_ACKNOWLEDGE": "queued", "CALLBACK_DRAIN_IN_PROCESS": "false"},
          "queued in Redis, drained afterwards by flask drain-pushes"))
DRAINED_AFTER = ("spool-only", "ack-only")


MODES_BY_NAME = {mode[0]: mode for mode in MODES}


def _modes():
    """The modes to measure: all, or those named in BENCH_CALLBACK_MODES (e.g. "ack-only")."""
    named = [n.strip() for n in os.environ.get("BENCH_CALLBACK_MODES", "").split(",") if n.strip()]
    unknown = set(named) - set(MODES_BY_NAME)
    if unknown:
        raise ValueError(f"BENCH_CALLBACK_MODES: unknown mode(s) {', '.join(sorted(unknown))}")
    return [mode for mode, _settings, _label in MODES if not named or mode in named]


def _drain_by_command(env: dict) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "drain-pushes"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=600)
    return time.monotonic() - started


def _measure_portal(mode, env, factory, workdir, url, redis, seconds, connections, log):
    """Tickets then audit results against the portal in one acknowledgement mode; the figures of each."""
    settings = dict(env, **dict(MODES_BY_NAME[mode][1]))
    portal = Gunicorn("bench.portal_wsgi:app", settings, workdir / "gunicorn.log")
    follower = None
    if mode == "spool-follow":  # a drainer of its own, as a service beside gunicorn would be
        follower = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "drain-pushes", "--follow"],
                                    cwd=ROOT, env=settings, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wrk(portal, factory.write(workdir / "warm.txt", (factory.ticket() for _ in range(3000))), 2, connections)
        drain_after = settings.get("CALLBACK_DRAIN_IN_PROCESS") == "false"
        spool = Path(settings["CALLBACK_SPOOL_DIR"])
        if drain_after:
            time.sleep(1.5)  # the spool's last segment is closed about a second after its first push
            _drain_by_command(settings)
        _drained(redis, spool)
        results = {}
        for name, lines in (("component_verify_ticket", lambda: (factory.ticket() for _ in range(POOL))),
                            ("weapp_audit_success", lambda: (factory.audit_success(i % APPS + 1)
                                                             for i in range(POOL)))):
            before = _stored(url)
            result = wrk(portal, factory.write(workdir / f"{mode}-{name}.txt", lines()), seconds, connections)
            if drain_after:
                time.sleep(1.5)  # the spool's last segment is closed about a second after its first push
            result["drain_s"] = _drain_by_command(settings) if drain_after else _drained(redis, spool)
            after = _stored(url)
            result["stored"] = after["kinds"].get(name, 0) - before["kinds"].get(name, 0)
            result["approved"] = after["approved"] - before["approved"]
            results[name] = result
            log(f"  {mode} {name}: {result['per_second']:.0f}/s p50 {_ms(result['p50_us'])} "
                f"p99 {_ms(result['p99_us'])}; drained {result['drain_s']:.1f} s after")
        return results
    finally:
        if follower is not None:
            follower.terminate()
            follower.wait(timeout=30)
        portal.stop()


def _portal_row(mode, label, name, result, base) -> Row:
    ratio = result["per_second"] / base["per_second"]
    p99_ratio = result["p99_us"] / max(1, base["p99_us"])
    ok = ratio >= 0.7 and p99_ratio <= 2.0 and result["failed"] == 0
    wrapped = f", pool wrapped {result['wrapped']}x (repeats = duplicates)" if result["wrapped"] else ""
    note = f", {result['approved']} audits closed" if name == "weapp_audit_success" else ""
    drained = ""
    if mode in ("queued", "spooled", "spool-follow"):
        drained = f"; all stored {result['drain_s']:.1f} s after the load stopped"
    elif mode in DRAINED_AFTER:
        drained = (f"; drained afterwards in {result['drain_s']:.1f} s "
                   f"({result['stored'] / max(result['drain_s'], 1e-9):.0f} pushes/s, one process)")
    return Row(
        f"Callbacks: portal, {name} pushes, {label}",
        f"{result['per_second']:.0f} pushes/s, p50 {_ms(result['p50_us'])}, p99 {_ms(result['p99_us'])}; "
        f"{result['failed']} not 'success', {result['stored']} stored{note}{wrapped}{drained}; "
        f"workers' CPU {result['cpu_ms']:.1f} ms/push",
        f"{base['per_second']:.0f}/s, p99 {_ms(base['p99_us'])} (bare runs before and after)",
        f"{ratio:.2f}x throughput, {p99_ratio:.1f}x p99",
        ">= 0.7x throughput, p99 <= 2x",
        verdict(ok))


def _mean_of(before: dict, after: dict) -> dict:
    """The baseline for a mode: the mean rate and p99 of the bare runs just before and just after it."""
    return {"per_second": (before["per_second"] + after["per_second"]) / 2,
            "p99_us": (before["p99_us"] + after["p99_us"]) / 2}


def _measure_bare(env, factory, workdir, seconds, connections, log) -> dict:
    bare = Gunicorn("bench.bare_app:app", env, workdir / "gunicorn.log")
    try:
        wrk(bare, factory.write(workdir / "warm.txt", (factory.ticket() for _ in range(3000))), 2, connections)
        bare_file = factory.write(workdir / "bare.txt", (factory.audit_success(i % APPS + 1) for i in range(POOL)))
        base = wrk(bare, bare_file, seconds, connections)
    finally:
        bare.stop()
    log(f"  bare: {base['per_second']:.0f}/s p50 {_ms(base['p50_us'])} p99 {_ms(base['p99_us'])}")
    return base


def run(workdir: Path, seconds: float = 10.0, connections: int = 16, log=print) -> list[Row]:
    if shutil.which("wrk") is None:
        return [Row("Callback throughput", "wrk is not installed", verdict="ERROR")]
    import redis as redis_lib

    from sandbox.server import start_background

    url, redis = database_url("portal_bench_callbacks"), redis_url()
    flush_redis(redis)
    redis_lib.Redis.from_url(redis).config_set("appendonly", "yes")  # queued mode needs a persistent Redis
    credentials = component_credentials()
    sandbox = start_background(host="127.0.0.1", port=0, ticket_interval=86400, quiet=True)
    try:
        app = migrated_app(url, redis, **credentials)
        seed(app, tenants=1, apps=APPS, audits_per_app=OPEN_AUDITS_PER_APP, open_audits=True)
        with app.app_context():
            from portal.extensions import db

            db.engine.dispose()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WECHAT_", "DATABASE_URL", "REDIS_URL", "CALLBACK_"))}
        env.update(credentials, DATABASE_URL=url, REDIS_URL=redis, SECRET_KEY="bench-secret-key-for-benchmarks-only-0000",
                   DATA_KEY="bench-data-key-for-benchmarks-only-00000", WECHAT_API_BASE=sandbox.url, WECHAT_MP_BASE=sandbox.url,
                   WECHAT_OPEN_BASE=sandbox.url, PUBLIC_BASE_URL="http://127.0.0.1", PYTHONDONTWRITEBYTECODE="1",
                   CALLBACK_SPOOL_DIR=str(workdir / "push-spool"))
        factory = PushFactory(credentials)
        # The baseline, the bare route with the same server settings and the same kind of request bodies, is
        # measured before the first mode, between modes and after the last: the machine's speed drifts over
        # minutes (other work on the host), so each mode is compared with the mean of the two bare runs around
        # it, and the table shows the slowest and fastest bare runs.
        bare_runs = [_measure_bare(env, factory, workdir, seconds, connections, log)]
        measured, brackets = {}, {}
        for mode in _modes():
            measured[mode] = _measure_portal(mode, env, factory, workdir, url, redis, seconds, connections, log)
            bare_runs.append(_measure_bare(env, factory, workdir, seconds, connections, log))
            brackets[mode] = _mean_of(bare_runs[-2], bare_runs[-1])
    finally:
        sandbox.stop()
    rates = sorted(run["per_second"] for run in bare_runs)
    first = bare_runs[0]
    rows = [Row(f"Callbacks: bare Flask route (gunicorn -w {WORKERS} --threads {THREADS}, wrk -c{connections})",
                f"{len(bare_runs)} runs around the modes: {rates[0]:.0f} to {rates[-1]:.0f} req/s; the first "
                f"p50 {_ms(first['p50_us'])}, p99 {_ms(first['p99_us'])}, workers' CPU {first['cpu_ms']:.2f} ms/request",
                verdict="baseline" if not any(run["failed"] for run in bare_runs) else "some failed")]
    for mode, _settings, label in MODES:
        rows += [_portal_row(mode, label, name, result, brackets[mode])
                 for name, result in measured.get(mode, {}).items()]
    drop_database(url)
    return rows
