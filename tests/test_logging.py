"""Structured log lines: a request's lines carry its request id, a job's lines (RQ or embedded) its job id
and function, RQ's own lines share the format, and no token or secret appears in any of them."""

import io
import json
import logging
import os

import pytest

from portal.extensions import db
from portal.logging_setup import HANDLED_LOGGERS, make_handler
from portal.models import ComponentAccount, JobRun, MiniProgram
from tests.releases.test_pipeline import _settings

needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="an RQ worker needs Redis")


@pytest.fixture
def log_lines():
    """Structured lines the portal's and RQ's loggers write during the test: `lines(style)` -> parsed dicts."""
    streams = {}

    def attach(style):
        stream = streams[style] = io.StringIO()
        handler = make_handler(style, stream)
        for name in HANDLED_LOGGERS:
            logging.getLogger(name).addHandler(handler)
        return handler

    handlers = {style: attach(style) for style in ("kv", "json")}

    def lines(style="json"):
        text = streams[style].getvalue()
        return [json.loads(line) for line in text.splitlines()] if style == "json" else text.splitlines()

    yield lines
    for handler in handlers.values():
        for name in HANDLED_LOGGERS:
            logging.getLogger(name).removeHandler(handler)


def _secrets(env):
    with env.app.app_context():
        mp = db.session.get(MiniProgram, env.mp_id)
        account = db.session.query(ComponentAccount).one()
        values = [mp.authorizer_access_token, mp.authorizer_refresh_token, account.component_access_token,
                  account.component_verify_ticket]
    creds = env.platform.credentials
    return [v for v in values + [creds["WECHAT_COMPONENT_APPSECRET"], creds["WECHAT_COMPONENT_AES_KEY"]] if v]


def _commit_run(env):
    with env.app.app_context():
        return db.session.query(JobRun).filter_by(kind="commit").one()


@needs_redis
def test_request_and_rq_job_lines_carry_their_ids_and_no_secret(code_env, log_lines):
    env = code_env
    _settings(env)
    assert env.post("domains/defaults", headers={"X-Request-Id": "req-domains-1"}).status_code == 302
    assert env.post("code", {"template_id": env.template_id, "user_version": "1.0.0", "user_desc": "first"},
                    headers={"X-Request-Id": "req-upload-2"}).status_code == 302
    env.drain()  # a real RQ SimpleWorker on real Redis
    run = _commit_run(env)
    assert run.state == "done", run.message
    lines = log_lines("json")
    in_request = [line for line in lines if line.get("request_id") == "req-domains-1"]
    assert any("modify_domain" in line["msg"] for line in in_request), lines
    in_job = [line for line in lines if line.get("job_id") == run.rq_job_id]
    assert {line["logger"] for line in in_job} >= {"portal.wechat.calls", "portal.jobs.runs"}, in_job
    assert all(line["job"] == "portal.jobs.releases.commit_job" for line in in_job)
    assert any("commit" in line["msg"] and line["logger"] == "portal.wechat.calls" for line in in_job)
    assert any(line["logger"] == "rq.worker" and run.rq_job_id in line["msg"] for line in lines)
    kv = log_lines("kv")
    assert any(f"job_id={run.rq_job_id}" in line and "logger=portal.wechat.calls" in line for line in kv)
    everything = "\n".join(kv)
    for secret in _secrets(env):
        assert secret not in everything


def _noisy_job(n):
    logging.getLogger("portal.tests").info("working on %s", n)
    return {"n": n}


def test_embedded_job_lines_carry_the_job_id_and_function(make_app, log_lines):
    from portal.queueing import enqueue

    app = make_app(REDIS_URL=None)
    with app.test_request_context(headers={"X-Request-Id": "req-enqueue-3"}):
        app.preprocess_request()
        job_id = enqueue(f"{__name__}._noisy_job", 7, job_id="embedded:7")
        logging.getLogger("portal.tests").info("enqueued")
    assert job_id == "embedded-7" and app.extensions["coordination"].wait_until_idle()
    [in_job] = [line for line in log_lines("json") if line["msg"] == "working on 7"]
    assert in_job["job_id"] == "embedded-7" and in_job["job"] == f"{__name__}._noisy_job"
    assert "request_id" not in in_job  # the job runs outside the request that enqueued it
    [enqueued] = [line for line in log_lines("json") if line["msg"] == "enqueued"]
    assert enqueued["request_id"] == "req-enqueue-3" and "job_id" not in enqueued
