"""Graceful shutdown of `python worker.py`: SIGTERM lets the running job finish (RQ's warm shutdown) and stops
the periodic enqueuer, exit code 0; a second signal a moment later stops the worker at once.
A real worker process runs an upload against the sandbox with injected latency (needs Redis)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from portal.extensions import db
from portal.models import JobRun
from tests.fleet.conftest import ROOT, worker_env

needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="an RQ worker needs Redis")


def _start_worker(env, log_path):
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, os.path.join(ROOT, "worker.py"), "wechat"], cwd=ROOT,
                                env=dict(worker_env(env.app), LOG_FORMAT="kv"), start_new_session=True,
                                stdout=log, stderr=log)


def _commit_run(env):
    with env.app.app_context():
        row = db.session.query(JobRun).filter_by(kind="commit").one_or_none()
        if row is not None:
            db.session.expunge(row)
        return row


def _upload_in_flight(env, worker, latency_ms):
    """Start an upload whose /wxa/commit takes `latency_ms`, and wait until the worker is inside it."""
    env.api.faults(endpoint="commit", appid=env.appid, latency_ms=latency_ms, count=1)
    assert env.post("code", {"template_id": env.template_id, "user_version": "1.0.0",
                             "user_desc": "first"}).status_code == 302
    deadline = time.monotonic() + 30
    while env.api.in_flight("commit", env.appid) == 0 and time.monotonic() < deadline:
        assert worker.poll() is None, "the worker exited"
        time.sleep(0.05)
    assert env.api.in_flight("commit", env.appid) == 1, "the upload never reached WeChat"


@pytest.fixture
def worker(code_env, tmp_path):
    """A real `python worker.py wechat` (killed after the test if still running); its log is `.log_path`."""
    log_path = tmp_path / "worker.log"
    process = _start_worker(code_env, log_path)
    process.log_path = log_path
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@needs_redis
def test_sigterm_lets_the_running_upload_finish_then_the_worker_exits_cleanly(code_env, worker):
    env = code_env
    _upload_in_flight(env, worker, latency_ms=3000)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    run = _commit_run(env)
    assert run.state == "done", run.message
    assert env.api.count("commit", env.appid) == 1
    lines = worker.log_path.read_text().splitlines()
    assert any("logger=rq.worker" in line and "arm shut down" in line for line in lines), lines
    assert any(f"job_id={run.rq_job_id}" in line and "logger=portal.wechat.calls" in line for line in lines)
    assert any("periodic enqueuer stopped" in line for line in lines), lines


@needs_redis
def test_a_second_sigterm_stops_the_worker_at_once(code_env, worker):
    env = code_env
    _upload_in_flight(env, worker, latency_ms=8000)
    worker.send_signal(signal.SIGTERM)
    time.sleep(1.2)  # RQ ignores a repeated signal within a second (process managers send two)
    assert worker.poll() is None, "the first SIGTERM must wait for the job"
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(10)
    stopped_after = time.monotonic() - started
    assert code == 0 and stopped_after < 4, (code, stopped_after)
    assert _commit_run(env).state == "running"  # left for recover_stranded_jobs, which tests/releases covers
    assert any("cold shut down" in line for line in worker.log_path.read_text().splitlines())
