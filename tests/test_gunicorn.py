"""The production web server: gunicorn started with `gunicorn.conf.py` answers /healthz and /readyz, writes
one JSON line per record with the request id, and stops cleanly on SIGTERM."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url, process, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited early"
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def wait_until_workers_ready(log_path, workers, process, timeout=60.0):
    """Until every worker has said it is ready: a SIGTERM sent before a worker installs its own handlers
    is lost by gunicorn itself, and stopping would then take the whole graceful timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited early"
        if log_path.read_text().count("Worker ready") >= workers:
            return
        time.sleep(0.05)
    raise AssertionError(f"not all {workers} workers became ready")


def test_gunicorn_with_the_project_config_serves_health_and_logs_json_lines(app, tmp_path):
    port = free_port()
    env = dict(os.environ, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2", GUNICORN_THREADS="2",
               GUNICORN_PRELOAD="1", LOG_FORMAT="json", DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               SECRET_KEY="gunicorn-test-secret-" + "s" * 32, DATA_KEY="gunicorn-test-data-key-" + "d" * 32,
               WECHAT_COMPONENT_APPSECRET="never-logged-appsecret")
    env.pop("REDIS_URL", None)
    if app.config["REDIS_URL"]:
        env["REDIS_URL"] = app.config["REDIS_URL"]
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                  cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_up(base + "/healthz", server).json() == {"status": "ok"}
        wait_until_workers_ready(log_path, 2, server)
        ready = requests.get(base + "/readyz", headers={"X-Request-Id": "drill-ready-1"}, timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"] == "ok"
        if app.config["REDIS_URL"]:
            assert ready.json()["checks"]["redis"] == "ok"
        assert ready.headers["X-Request-Id"] == "drill-ready-1"
        rejected = requests.post(base + "/wechat/auth-events?timestamp=1&nonce=2&msg_signature=bad",
                                 data=b"<xml></xml>", headers={"X-Request-Id": "drill-push-2"}, timeout=5)
        assert rejected.status_code in (400, 403), rejected.text
        invitation = requests.get(base + "/account/invitation/never-logged-invitation-token", timeout=5)
        assert invitation.status_code == 404 and "never-logged-invitation-token" not in invitation.text
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert code == 0, lines
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert any(line.get("request_id") == "drill-ready-1" and "/readyz 200" in line["msg"] for line in access)
    assert any(line.get("request_id") == "drill-push-2" and line["logger"] == "portal.callbacks"
               and "rejected" in line["msg"] for line in lines), lines
    assert any("Booting worker" in line["msg"] for line in lines if line["logger"] == "gunicorn.error")
    assert "never-logged-appsecret" not in log_path.read_text()
    assert any("/account/invitation/*** 404" in line["msg"] for line in access), access
    assert "never-logged-invitation-token" not in log_path.read_text()
