"""A worker killed while submit_audit is in flight, then recovery and a fresh worker: WeChat receives
exactly one submission and the portal ends with exactly one audit row (needs Redis and a real worker)."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from portal.extensions import db
from portal.models import Audit, JobRun
from tests.releases.test_pipeline import upload

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="a killed RQ worker needs Redis")


def _worker(app):
    settings = {k: v for k, v in app.config.items()
                if k.startswith(("WECHAT_", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "DATA_KEY", "SECRET_KEY", "JOB_"))}
    script = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {ROOT!r})
        from rq import SimpleWorker
        from portal import create_app
        from portal.queueing import QUEUE_ORDER, SERIALIZER, get_queue
        app = create_app(json.loads({json.dumps(json.dumps(settings))}))
        with app.app_context():
            import portal.jobs
            redis = app.extensions["redis"]
            SimpleWorker([get_queue(n, redis) for n in QUEUE_ORDER], connection=redis,
                         serializer=SERIALIZER).work(burst=True)
    """)
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _run(env):
    with env.app.app_context():
        return db.session.query(JobRun).filter_by(kind="submit_audit").one_or_none()


@needs_redis
def test_worker_killed_mid_submit_then_restarted_submits_once(code_env):
    from portal.services import jobs

    env = code_env
    upload(env)
    env.api.advance(31)
    env.api.faults(endpoint="submit_audit", appid=env.appid, latency_ms=3000, count=1)
    assert env.post("audit", {"items-0-address": "pages/index/index"}).status_code == 302
    worker = _worker(env.app)
    try:
        assert _wait(lambda: env.api.in_flight("submit_audit", env.appid) == 1), "the submission never reached WeChat"
    finally:
        worker.kill()
        worker.wait(10)
    assert _run(env).state == "running"
    # WeChat finishes the submission although nobody reads the answer
    assert _wait(lambda: env.api.count("submit_audit", env.appid, errcode=0) == 1)
    with env.app.app_context():
        assert jobs.recover_stranded({"submit_audit": "portal.jobs.audits.submit_audit_job"}, older_than=0) == 1
    env.drain()
    run = _run(env)
    assert run.state == "done", run.message
    assert env.api.count("submit_audit", env.appid) == 1
    with env.app.app_context():
        [audit] = db.session.query(Audit).all()
    assert str(audit.auditid) in run.message and audit.status == 2
