"""Token service API: 100 concurrent API clients asking 4 portal processes (gunicorn -w 4) for the tokens of
APPS mini-programs, all expired, cause exactly one api_authorizer_token call per app (and one
api_component_token call); the same 100 reporting the token they got as rejected cause one more per app;
then, with valid tokens, the API's p50 and p99 against the bare route under the
same gunicorn settings (wrk, `BENCH_SECONDS` each).

Setup as `bench.tokens` (`Platform`): a sandbox in this process, a portal on a fresh migrated database with
Redis, the apps authorized by push; one API key for all tenants. The clients are threads of this process,
released together by a barrier, once to warm the workers up (valid tokens), then on the expired tokens;
the sandbox's call counts are read before and after.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path

import requests

from bench.common import Row, database_url, drop_database, flush_redis, redis_url, verdict
from bench.load import Gunicorn, settle
from bench.tokens import SANDBOX_OPTIONS, Platform

APPS, CLIENTS, PROCESSES = 4, 100, 4
WRK_CONNECTIONS, WRK_THREADS = 16, 2
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _env(platform, redis):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "DATABASE_URL", "REDIS_URL"))}
    settings = platform.settings
    env.update({k: str(settings[k]) for k in settings if k.startswith("WECHAT_")},
               DATABASE_URL=platform.url, REDIS_URL=redis, SECRET_KEY=settings["SECRET_KEY"],
               DATA_KEY=settings["DATA_KEY"], PUBLIC_BASE_URL=settings["PUBLIC_BASE_URL"],
               PYTHONDONTWRITEBYTECODE="1",
               API_RATE_LIMIT="100000000 per minute")  # one key makes every request: its limit is not measured
    return env


def _stampede(base, key, appids, report=None):
    """CLIENTS threads, released together, each asking once for the token of appids[i % len(appids)], or
    with `report` ({appid: token}) each reporting that token as rejected (the invalidate endpoint).
    Returns [(status, seconds, appid, token answered)]."""
    barrier, answers = threading.Barrier(CLIENTS), [None] * CLIENTS

    def client(i):
        appid, url = appids[i % len(appids)], f"{base}/api/v1/authorizers/{appids[i % len(appids)]}/access-token"
        with requests.Session() as http:
            barrier.wait()
            began = time.monotonic()
            if report is None:
                response = http.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
            else:
                response = http.post(url + "/invalidate", json={"access_token": report[appid]},
                                     headers={"Authorization": f"Bearer {key}"}, timeout=60)
            token = response.json().get("access_token") if response.status_code == 200 else None
            answers[i] = (response.status_code, time.monotonic() - began, appid, token)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def _outcome(answers, appids, previous):
    """(answers with 200, apps whose clients all got one token other than `previous[appid]`, latencies)."""
    ok = sum(1 for a in answers if a and a[0] == 200)
    served = {appid: {a[3] for a in answers if a and a[2] == appid} for appid in appids}
    renewed = sum(1 for appid, tokens in served.items() if len(tokens) == 1 and previous.get(appid) not in tokens)
    latencies = sorted(a[1] for a in answers if a)
    text = (f"p50 {statistics.median(latencies) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms" if latencies
            else "no answers")
    return ok, renewed, text


def _tokens(app, key, appids):
    """{appid: the token the API answers now} (valid tokens: no refresh)."""
    client = app.test_client()
    return {appid: client.get(f"/api/v1/authorizers/{appid}/access-token",
                              headers={"Authorization": f"Bearer {key}"}).get_json()["access_token"]
            for appid in appids}


def _wrk(url, key, seconds):
    """wrk's p50/p99 (ms), requests/s and non-2xx count for GETs of `url` with the key's header."""
    settle()
    out = subprocess.run(["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds:.0f}s", "--timeout", "10s",
                          "--latency", "-H", f"Authorization: Bearer {key}", url],
                         capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr.strip()[-500:]}")
    text = out.stdout
    percentiles = {p: float(v) * _UNIT[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    failed = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return {"p50": percentiles["50"], "p99": percentiles["99"], "rate": rate, "failed": int(failed.group(1)) if failed else 0}


def run(workdir: Path, log=print, seconds: float | None = None) -> list[Row]:
    from sandbox.server import start_background

    seconds = seconds or float(os.environ.get("BENCH_SECONDS", 10))
    url, redis = database_url("portal_bench_token_api"), redis_url()
    flush_redis(redis)
    sandbox = start_background(host="127.0.0.1", port=0, **SANDBOX_OPTIONS)
    platform = portal = None
    try:
        platform = Platform(url, redis, sandbox, [f"Bench shop {n}" for n in range(APPS)])
        with platform.app.app_context():
            from portal.services import token_api

            key = token_api.create_key("bench", all_tenants=True)[1]
        old_tokens = _tokens(platform.app, key, platform.appids)
        env = _env(platform, redis)
        portal = Gunicorn("wsgi:app", env, workdir / "gunicorn-api.log", workers=PROCESSES)
        _stampede(portal.url, key, platform.appids)  # warm every worker up (valid tokens: no refresh)
        platform.expire_tokens()
        api = platform.api
        before = {e: api.count(e) for e in ("api_authorizer_token", "api_component_token")}
        answers = _stampede(portal.url, key, platform.appids)
        refreshes = api.count("api_authorizer_token") - before["api_authorizer_token"]
        component_calls = api.count("api_component_token") - before["api_component_token"]
        stale = {a[2]: a[3] for a in answers if a and a[3]}  # what each app's clients were handed
        before_reports = api.count("api_authorizer_token")
        reports = _stampede(portal.url, key, platform.appids, report=stale)
        report_refreshes = api.count("api_authorizer_token") - before_reports
        measured = None
        if shutil.which("wrk") is not None:
            path = f"/api/v1/authorizers/{platform.appids[0]}/access-token"
            measured = _wrk(portal.url + path, key, seconds)
            portal.stop()
            portal = Gunicorn("bench.bare_app:app", env, workdir / "gunicorn-bare.log", workers=PROCESSES)
            bare = _wrk(portal.url + path, key, seconds)
    finally:
        if portal is not None:
            portal.stop()
        if platform is not None:
            platform.stop()
        sandbox.stop()
    drop_database(url)
    flush_redis(redis)
    # The sandbox counts api_authorizer_token under the component's appid (the call's token), so calls per app
    # are inferred: as many calls as apps, and every app answered one new token to all its clients.
    ok, renewed, lat = _outcome(answers, platform.appids, old_tokens)
    log(f"  stampede: {ok}/{CLIENTS} ok, {renewed} apps renewed, {refreshes} refreshes, component {component_calls}")
    reported_ok, reported_renewed, reported_lat = _outcome(reports, platform.appids, stale)
    rows = [
        Row(f"Token API: {CLIENTS} clients, {PROCESSES} gunicorn processes, {APPS} apps with expired tokens",
            f"{ok}/{CLIENTS} answered 200 ({lat}); api_authorizer_token calls {refreshes}, each app one new token "
            f"to all its clients: {renewed}/{APPS}; api_component_token calls {component_calls}",
            target="all 200, exactly 1 per app and 1 component",
            verdict=verdict(ok == CLIENTS and renewed == refreshes == APPS and component_calls == 1)),
        Row(f"Token API: the same {CLIENTS} clients report the token they got as rejected (invalidate)",
            f"{reported_ok}/{CLIENTS} answered 200 ({reported_lat}); api_authorizer_token calls {report_refreshes}, "
            f"each app one new token to all its clients: {reported_renewed}/{APPS}",
            target="all 200, exactly 1 per app",
            verdict=verdict(reported_ok == CLIENTS and reported_renewed == report_refreshes == APPS)),
    ]
    if measured is None:
        rows.append(Row("Token API: latency against the bare route", "wrk is not installed", verdict="skipped"))
    else:
        rows.append(Row(f"Token API: GET access-token, valid token (gunicorn -w {PROCESSES}, wrk -c{WRK_CONNECTIONS})",
                        f"{measured['rate']:.0f} req/s, p50 {measured['p50']:.1f} ms, p99 {measured['p99']:.1f} ms; "
                        f"{measured['failed']} not 200",
                        baseline=f"bare route {bare['rate']:.0f} req/s, p50 {bare['p50']:.1f} ms, p99 {bare['p99']:.1f} ms",
                        ratio=f"{measured['p50'] / bare['p50']:.1f}x p50, {measured['p99'] / bare['p99']:.1f}x p99",
                        verdict="info" if measured["failed"] == 0 else "MISSED"))
    return rows
