"""Benchmark (not a test): how many WeChat API calls per second the sandbox sustains on this machine.

Starts the sandbox in its own process (``python -m sandbox``) so client and server do not share a GIL,
sets up a component with authorized mini-programs through the control API, then runs several client
threads issuing a mix of token calls (api_component_token, api_authorizer_token) and mini-program calls
(get_category, getversioninfo, modify_domain get, memberauth, get_latest_auditstatus) for a fixed time.
Prints calls/s, calls/min and latency percentiles. ``--latency-ms`` injects latency on every endpoint to
show that slow calls overlap instead of queueing.

    .venv/bin/python bench/sandbox_bench.py --threads 8 --seconds 10
"""

from __future__ import annotations

import argparse
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
MP_CALLS = [("GET", "/wxa/get_category", None), ("POST", "/wxa/getversioninfo", {}),
            ("POST", "/wxa/modify_domain", {"action": "get"}),
            ("POST", "/wxa/memberauth", {"action": "get_experiencer"}),
            ("GET", "/wxa/get_latest_auditstatus", None)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/sandbox/clock", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("sandbox did not start")


def setup(base: str, miniprograms: int) -> dict:
    spec = {"component_appid": "wx" + secrets.token_hex(8), "component_appsecret": secrets.token_hex(16),
            "token": secrets.token_hex(8), "encoding_aes_key": secrets.token_hex(22)[:43],
            "authorized_domains": ["bench.example.com"]}
    ticket = requests.post(base + "/sandbox/components", json=spec, timeout=5).json()["ticket"]
    token_body = {"component_appid": spec["component_appid"], "component_appsecret": spec["component_appsecret"],
                  "component_verify_ticket": ticket}
    ctoken = requests.post(base + "/cgi-bin/component/api_component_token", json=token_body,
                           timeout=5).json()["component_access_token"]
    apps = []
    for _ in range(miniprograms):
        appid = requests.post(base + "/sandbox/miniprograms", json={}, timeout=5).json()["appid"]
        code = requests.post(base + "/sandbox/authorize", json={"component_appid": spec["component_appid"],
                                                                "appid": appid}, timeout=5).json()["auth_code"]
        info = requests.post(base + "/cgi-bin/component/api_query_auth", params={"component_access_token": ctoken},
                             json={"component_appid": spec["component_appid"], "authorization_code": code},
                             timeout=5).json()["authorization_info"]
        apps.append(info)
    return {"token_body": token_body, "ctoken": ctoken, "apps": apps,
            "component_appid": spec["component_appid"]}


def one_call(session, base, world, rng) -> int:
    roll = rng.random()
    if roll < 0.1:
        resp = session.post(base + "/cgi-bin/component/api_component_token", json=world["token_body"], timeout=10)
    elif roll < 0.2:
        app = rng.choice(world["apps"])
        resp = session.post(base + "/cgi-bin/component/api_authorizer_token",
                            params={"component_access_token": world["ctoken"]},
                            json={"component_appid": world["component_appid"],
                                  "authorizer_appid": app["authorizer_appid"],
                                  "authorizer_refresh_token": app["authorizer_refresh_token"]}, timeout=10)
    else:
        method, path, body = rng.choice(MP_CALLS)
        params = {"access_token": rng.choice(world["apps"])["authorizer_access_token"]}
        resp = session.request(method, base + path, params=params, json=body, timeout=10)
    return resp.status_code


def worker(base, world, stop_at, latencies, errors, seed):
    rng, session = random.Random(seed), requests.Session()
    while time.monotonic() < stop_at:
        started = time.monotonic()
        try:
            status = one_call(session, base, world, rng)
        except requests.RequestException:
            status = 0
        latencies.append(time.monotonic() - started)
        if status != 200:
            errors.append(status)


def run(base: str, world: dict, threads: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[int] = []
    stop_at = time.monotonic() + seconds
    pool = [threading.Thread(target=worker, args=(base, world, stop_at, latencies, errors, i))
            for i in range(threads)]
    started = time.monotonic()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {"calls": len(latencies), "errors": len(errors), "elapsed": elapsed,
            "per_second": len(latencies) / elapsed, "p50_ms": statistics.median(ordered) * 1000,
            "p95_ms": ordered[int(len(ordered) * 0.95)] * 1000, "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--miniprograms", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="inject this latency on every endpoint")
    parser.add_argument("--url", help="use an already running sandbox instead of starting one")
    args = parser.parse_args()
    proc = None
    base = args.url
    if not base:
        port = free_port()
        proc = start_sandbox(port)
        base = f"http://127.0.0.1:{port}"
    try:
        world = setup(base, args.miniprograms)
        if args.latency_ms:
            requests.post(base + "/sandbox/faults", json={"endpoint": "*", "latency_ms": args.latency_ms}, timeout=5)
        result = run(base, world, args.threads, args.seconds)
        counted = requests.get(base + "/sandbox/calls", params={"limit": 0}, timeout=5).json()["total"]
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"threads={args.threads} seconds={args.seconds} injected_latency_ms={args.latency_ms}")
    print(f"calls={result['calls']} errors={result['errors']} recorded_by_sandbox={counted}")
    print(f"throughput: {result['per_second']:.0f} calls/s = {result['per_second'] * 60:,.0f} calls/min")
    print(f"latency: p50={result['p50_ms']:.1f} ms  p95={result['p95_ms']:.1f} ms  p99={result['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
