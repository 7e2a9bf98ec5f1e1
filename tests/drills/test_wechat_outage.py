"""Drill: WeChat is down (the sandbox answers 503 for a few seconds) while merchants submit three audits.
Real workers retry the jobs; meanwhile each run's status says in words that it waits to retry, and in the
end every submission reached WeChat exactly once, with one audit row per mini-program."""

import os
import time

import pytest
from flask_babel import force_locale

from portal.extensions import db
from portal.models import Audit, JobRun, MiniProgram
from portal.services.jobs import LOST_ANSWER
from tests.conftest import post_form
from tests.drills.conftest import wait_for_workers
from tests.fleet.conftest import kill_worker, start_workers

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="retries with intervals need RQ workers")

OUTAGE_SECONDS = 3


class _Workers:
    """What `start_workers` needs: the app and a list of the processes it started."""

    def __init__(self, app):
        self.app, self.workers = app, []


def _mp_ids(env, appids):
    with env.app.app_context():
        return {a: db.session.query(MiniProgram).filter_by(authorizer_appid=a).one().id for a in appids}


def _post(env, mp_id, suffix, data):
    response = post_form(env.client, f"/miniprograms/{mp_id}/{suffix}", data, token_from="/dashboard")
    assert response.status_code == 302, response.get_data(as_text=True)


def _runs(env):
    with env.app.app_context():
        rows = db.session.query(JobRun).filter_by(kind="submit_audit").all()
        return {row.miniprogram_id: row.id for row in rows}


def _watch(env, runs, timeout=60.0):
    """Poll every run's status as the page does until all are final; returns every status seen."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [env.client.get(f"/miniprograms/{mp}/jobs/{run}").get_json() for mp, run in runs.items()]
        seen += statuses
        if not any(s["active"] for s in statuses):
            return seen
        time.sleep(0.1)
    raise AssertionError(f"submissions still running after {timeout}s: {seen[-len(runs):]}")


def test_submits_during_a_wechat_outage_retry_and_finish_once(code_env):
    env = code_env
    env.app.config.update(JOB_RETRY_INTERVALS=[1] * 6)
    appids = [env.appid] + [env.platform.authorized_app(env.tenant_id, nick_name=f"分店{n}") for n in (2, 3)]
    mp_ids = _mp_ids(env, appids)
    for mp_id in mp_ids.values():
        _post(env, mp_id, "code", {"template_id": env.template_id, "user_version": "1.0.0", "user_desc": "v1"})
    env.drain()
    env.api.advance(31)  # WeChat's privacy scan of the uploads is over
    pool = _Workers(env.app)
    start_workers(pool, 2)
    try:
        wait_for_workers(env.app, 2)
        env.api.faults(endpoint="submit_audit", outage_seconds=OUTAGE_SECONDS)
        for mp_id in mp_ids.values():
            _post(env, mp_id, "audit", {"items-0-address": "pages/index/index", "version_desc": "demo / demo"})
        seen = _watch(env, _runs(env))
    finally:
        for process in pool.workers:
            kill_worker(process)
    waiting = [s for s in seen if s["state"] == "retrying"]
    assert waiting, "no status showed the outage"
    # a 503 may come after WeChat acted: the run says it reads WeChat's state before trying again
    with env.app.test_request_context(), force_locale("zh"):
        lost_answer = str(LOST_ANSWER)
    assert {s["message"] for s in waiting} == {lost_answer}
    assert all(s["state"] == "done" for s in seen[-len(mp_ids):]), seen[-len(mp_ids):]
    assert env.api.count("submit_audit") > len(appids), "the outage turned no submission away"
    assert env.api.count("submit_audit", errcode=0) == len(appids)
    assert all(env.api.count("submit_audit", a, errcode=0) == 1 for a in appids)
    with env.app.app_context():
        assert sorted(a.miniprogram_id for a in db.session.query(Audit)) == sorted(mp_ids.values())
