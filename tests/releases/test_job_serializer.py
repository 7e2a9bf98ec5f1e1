"""Jobs in Redis are JSON, never pickles: write access to Redis must not be code execution in a worker.
A job enqueued through the portal is stored as JSON; a pickled job planted in a queue is failed by a real
`python worker.py` without being unpickled (needs Redis)."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zlib

import pytest

from portal.extensions import db
from portal.models import JobRun
from tests.fleet.conftest import ROOT, worker_env

needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="RQ jobs need Redis")


class _Planted:
    """Unpickling this creates the file `path`: the proof that a worker ran bytes it found in Redis."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _raw_job(redis, job_id):
    return redis.hgetall(f"rq:job:{job_id}")


@needs_redis
def test_a_job_the_portal_enqueues_is_stored_as_json(code_env):
    env = code_env
    response = env.post("code", {"template_id": env.template_id, "user_version": "1.0.0", "user_desc": "first"})
    assert response.status_code == 302
    with env.app.app_context():
        run = db.session.query(JobRun).filter_by(kind="commit").one()
        redis = env.app.extensions["redis"]
        raw = _raw_job(redis, run.rq_job_id)
    assert raw, "the job is not in Redis"
    func, _instance, args, kwargs = json.loads(zlib.decompress(raw[b"data"]))
    assert (func, args, kwargs) == ("portal.jobs.releases.commit_job", [run.id], {})
    env.drain()
    with env.app.app_context():
        assert db.session.get(JobRun, run.id).state == "done"


@needs_redis
def test_a_worker_never_unpickles_a_job_planted_in_redis(code_env, tmp_path):
    from rq import Queue

    env, marker = code_env, tmp_path / "unpickled"
    redis = env.app.extensions["redis"]
    # what an attacker with write access to Redis would plant: RQ's default (pickle) job format
    planted = Queue("maintenance", connection=redis).enqueue_call(
        "portal.jobs.releases.prune_call_log", args=(_Planted(str(marker)),), job_id="planted-pickle")
    assert pickle.loads(zlib.decompress(_raw_job(redis, planted.id)[b"data"])) and marker.exists()
    marker.unlink()  # the test's own unpickling proved the payload works; now the worker gets it
    log_path = tmp_path / "worker.log"
    with open(log_path, "ab") as log:
        worker = subprocess.Popen([sys.executable, os.path.join(ROOT, "worker.py"), "maintenance"], cwd=ROOT,
                                  env=dict(worker_env(env.app), LOG_FORMAT="kv"), start_new_session=True,
                                  stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while not redis.zscore("rq:failed:maintenance", planted.id) and time.monotonic() < deadline:
            assert worker.poll() is None, log_path.read_text()
            time.sleep(0.1)
        assert redis.zscore("rq:failed:maintenance", planted.id), "the worker did not fail the planted job"
        assert worker.poll() is None, log_path.read_text()  # and it goes on working
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    assert not marker.exists(), "the worker unpickled a job it found in Redis"
