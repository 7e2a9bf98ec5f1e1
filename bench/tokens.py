"""Token single-flight: 200 concurrent API calls (4 processes x 50 threads) that all find the component
token and the mini-program's access token expired must cause exactly one call to each token endpoint.

Setup, as tests/services/test_tokens.py does: a sandbox (in this process) and a portal app on a fresh
migrated database with Redis, served over loopback HTTP so the sandbox can push to it; a component is
registered (its ticket is pushed), a mini-program is authorized by push and the queued job is run by an
RQ worker (burst). Then the portal's stored tokens are expired, its Redis token cache dropped, and the
sandbox clock moved 2 h 10 min on so WeChat's side expires them too. Four processes start 50 threads
each, released together at one wall-clock instant; the sandbox's call counts for api_component_token and
api_authorizer_token are read before and after.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
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
    migrated_app,
    portal_settings,
    redis_url,
    verdict,
)

PROCESSES, THREADS = 4, 50
SANDBOX_OPTIONS = {"ticket_interval": 600, "push_timeout": 3.0, "push_retries": 3, "push_retry_delay": 0.05,
                   "audit_delay": 60, "privacy_scan_seconds": 30, "tick_interval": 0.05,
                   "rotate_refresh_tokens": True}


class Control:
    def __init__(self, base):
        self.base, self.http = base, requests.Session()

    def call(self, path, body=None, method="POST", **params):
        response = self.http.request(method, self.base + path, json=body, params=params or None, timeout=30)
        response.raise_for_status()
        return response.json()

    def count(self, endpoint):
        return self.call("/sandbox/calls", method="GET", endpoint=endpoint, limit=0).get("counts", {}).get(endpoint, 0)


def _serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="bench-portal", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def _drain(app, redis):
    from rq import SimpleWorker

    from portal.queueing import QUEUE_ORDER, SERIALIZER, get_queue

    with app.app_context():
        connection = app.extensions["redis"]
        SimpleWorker([get_queue(n, connection) for n in QUEUE_ORDER], connection=connection,
                     serializer=SERIALIZER).work(burst=True)


class Platform:
    """A portal app on a fresh migrated database wired to a sandbox as one platform, served over loopback
    HTTP (pushes reach it), with `appids` authorized by push and stored; `stop()` ends the server."""

    def __init__(self, url, redis, sandbox, nick_names):
        credentials = component_credentials()
        bootstrap = migrated_app(url, redis)
        with bootstrap.app_context():
            from portal.extensions import db

            db.engine.dispose()
        # The portal's URL is needed in its settings (pushes go there): serve a switchable WSGI callable.
        holder = {}
        self.server, live_url = _serve(lambda environ, start: holder["app"](environ, start))
        from portal import create_app

        self.credentials = credentials
        self.settings = portal_settings(url, redis, **credentials, WECHAT_API_BASE=sandbox.url,
                                        WECHAT_MP_BASE=sandbox.url, WECHAT_OPEN_BASE=sandbox.url,
                                        PUBLIC_BASE_URL=live_url, WECHAT_BACKOFF_BASE=0.01, WECHAT_READ_TIMEOUT=5,
                                        WECHAT_MAX_RETRIES=2)
        self.app = holder["app"] = create_app(self.settings)
        self.api = api = Control(sandbox.url)
        api.call("/sandbox/components", {
            "component_appid": credentials["WECHAT_COMPONENT_APPID"],
            "component_appsecret": credentials["WECHAT_COMPONENT_APPSECRET"],
            "token": credentials["WECHAT_COMPONENT_TOKEN"],
            "encoding_aes_key": credentials["WECHAT_COMPONENT_AES_KEY"],
            "auth_event_url": live_url + "/wechat/auth-events",
            "message_url": live_url + "/wechat/events/$APPID$",
            "authorized_domains": ["127.0.0.1", "localhost"], "rotate_refresh_tokens": True, "wait": True})
        self.appids = [api.call("/sandbox/miniprograms", {"nick_name": name})["appid"] for name in nick_names]
        for appid in self.appids:
            api.call("/sandbox/authorize", {"component_appid": credentials["WECHAT_COMPONENT_APPID"],
                                            "authorizer_appid": appid, "wait": True})
        _drain(self.app, redis)
        self.url = url

    def expire_tokens(self):
        """The stored tokens expire, the Redis token cache is dropped, and WeChat's side expires them too."""
        engine = sa.create_engine(self.url)
        with engine.begin() as conn:
            stored = conn.scalar(sa.text("SELECT COUNT(*) FROM wxminiprograms WHERE authorizer_refresh_token "
                                         "IS NOT NULL"))
            if stored != len(self.appids):
                raise RuntimeError("the authorized mini-programs were not stored by the portal")
            conn.execute(sa.text("UPDATE wxminiprograms SET authorizer_expires = 1"))
            conn.execute(sa.text("UPDATE weixin_account SET token_expires = 1"))
        engine.dispose()
        cache = self.app.extensions["redis"]
        for key in cache.scan_iter("wxtok:*"):
            cache.delete(key)
        self.api.call("/sandbox/clock", {"advance": 7200 + 600, "wait": True})

    def stop(self):
        self.server.shutdown()


def run(workdir: Path, log=print) -> list[Row]:
    from sandbox.server import start_background

    url, redis = database_url("portal_bench_tokens"), redis_url()
    flush_redis(redis)
    sandbox = start_background(host="127.0.0.1", port=0, **SANDBOX_OPTIONS)
    platform = None
    try:
        platform = Platform(url, redis, sandbox, ["Bench noodles"])
        api, settings, appid = platform.api, platform.settings, platform.appids[0]
        platform.expire_tokens()

        before = {e: api.count(e) for e in ("api_component_token", "api_authorizer_token", "get_category")}
        settings_file = workdir / "token-settings.json"
        settings_file.write_text(json.dumps(settings), encoding="utf-8")
        sync_dir = workdir / "token-sync"
        sync_dir.mkdir(exist_ok=True)
        procs = [subprocess.Popen([sys.executable, "-m", "bench.token_worker", str(settings_file), appid,
                                   str(THREADS), str(sync_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
        deadline = time.monotonic() + 120
        while len(list(sync_dir.glob("ready-*"))) < PROCESSES and time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.02)
        (sync_dir / "go.tmp").write_text(repr(time.time()), encoding="utf-8")
        (sync_dir / "go.tmp").rename(sync_dir / "go")  # atomic: workers never read a half-written file
        results, latencies, late = [], [], []
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            if proc.returncode != 0:
                raise RuntimeError(f"token worker failed: {err[-1500:]}")
            data = json.loads(out.strip().splitlines()[-1])
            results += data["results"]
            latencies += data["latencies"]
            late.append(data["released_late"])
        after = {e: api.count(e) for e in before}
    finally:
        if platform is not None:
            platform.stop()
        sandbox.stop()
    component_calls = after["api_component_token"] - before["api_component_token"]
    authorizer_calls = after["api_authorizer_token"] - before["api_authorizer_token"]
    ok_calls = results.count("ok")
    failures = sorted({r for r in results if r != "ok"})[:2]
    log(f"  threads of the 4 processes released within {max(late) * 1000:.0f} ms of the go signal")
    ordered = sorted(latencies)
    lat = (f"p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {ordered[int(len(ordered) * 0.99) - 1] * 1000:.0f} ms"
           if ordered else "no latencies")
    drop_database(url)
    flush_redis(redis)
    rows = [
        Row(f"Token single-flight: {PROCESSES} processes x {THREADS} threads, expired tokens",
            f"{ok_calls}/{PROCESSES * THREADS} calls ok ({lat}); "
            f"get_category seen {after['get_category'] - before['get_category']}"
            + (f"; failures: {failures}" if failures else ""),
            target=f"{PROCESSES * THREADS} ok", verdict=verdict(ok_calls == PROCESSES * THREADS)),
        Row("Token single-flight: api_component_token calls", str(component_calls), target="exactly 1",
            verdict=verdict(component_calls == 1)),
        Row("Token single-flight: api_authorizer_token calls", str(authorizer_calls), target="exactly 1",
            verdict=verdict(authorizer_calls == 1)),
    ]
    return rows
