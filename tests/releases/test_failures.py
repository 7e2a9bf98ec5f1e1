"""Failure paths through sandbox faults: the user reads WeChat's error as words, nothing is half-written,
transient failures are retried and permanent ones are not; lost pushes are rescued by the poll."""

import pytest

from portal.extensions import db
from portal.models import Audit, CodeCommit, JobRun
from tests.releases.test_pipeline import _html, audits, last_run, submit, upload


def fault(env, endpoint, **spec):
    env.api.faults(endpoint=endpoint, appid=env.appid, **spec)


def ready_to_submit(env):
    upload(env)
    env.api.advance(31)


@pytest.mark.parametrize("errcode,words", [(85009, "已有版本正在审核中"), (85085, "本月提交审核的次数已用完")])
def test_submit_refused_by_wechat_is_recorded_once_with_words(code_env, errcode, words):
    env = code_env
    ready_to_submit(env)
    fault(env, "submit_audit", errcode=errcode, count=5)
    submit(env)
    run = last_run(env)
    assert run.state == "failed" and run.errcode == errcode and words in run.message
    assert f"（错误码 {errcode}）" in run.message
    assert run.attempts == 1  # permanent: not retried
    assert audits(env) == []
    page = _html(env.get("audit"))
    assert words in page
    status = env.client.get(env.url(f"jobs/{run.id}")).get_json()
    assert status["state"] == "failed" and words in status["message"]


def test_submit_waits_for_the_privacy_scan_then_gives_up_with_words(code_env):
    env = code_env
    env.app.config["PRIVACY_SCAN_MAX_WAIT_SECONDS"] = 0  # gives up at once instead of waiting 15 minutes
    upload(env)  # the scan takes 30 sandbox seconds; the clock does not move
    submit(env)
    run = last_run(env)
    assert run.state == "failed" and run.errcode == 61039 and "代码隐私检测尚未完成" in run.message
    assert run.attempts == 1
    assert env.api.count("submit_audit", env.appid) == 0 and audits(env) == []
    env.api.advance(31)
    submit(env)
    assert last_run(env).state == "done" and len(audits(env)) == 1


def test_commit_with_invalid_ext_config_fails_without_a_commit_row(code_env):
    env = code_env
    fault(env, "commit", errcode=85013, count=1)
    upload(env)
    run = last_run(env)
    assert run.state == "failed" and "ext_json 中的自定义配置无效" in run.message
    with env.app.app_context():
        assert db.session.query(CodeCommit).count() == 0


def test_network_timeout_and_system_busy_are_retried(code_env):
    env = code_env
    fault(env, "commit", timeout_seconds=0.2, count=1)
    upload(env)
    assert last_run(env).state == "done", last_run(env).message
    env.api.advance(31)
    fault(env, "submit_audit", errcode=-1, count=1)
    submit(env)
    run = last_run(env)
    assert run.state == "done" and run.attempts == 2, run.message
    assert len(audits(env)) == 1 and env.api.count("submit_audit", env.appid, errcode=0) == 1


def test_system_busy_that_lasts_fails_with_words(code_env):
    env = code_env
    ready_to_submit(env)
    fault(env, "submit_audit", errcode=-1, count=20)
    submit(env)
    run = last_run(env)
    assert run.state == "failed" and "微信系统繁忙" in run.message and run.attempts == 3
    assert audits(env) == []


@pytest.mark.parametrize("errcode,words", [(85019, "没有审核通过的版本"), (85020, "当前状态不允许此操作")])
def test_release_refused_by_wechat(code_env, errcode, words):
    env = code_env
    ready_to_submit(env)
    submit(env)
    env.api.advance(61)
    env.api.pushes(appid=env.appid)
    fault(env, "release", errcode=errcode, count=1)
    env.post("release")
    env.drain()
    run = last_run(env)
    assert run.state == "failed" and words in run.message
    assert not audits(env)[0].is_release


def test_release_refused_by_us_says_why(code_env):
    env = code_env
    page = env.post("release", follow_redirects=True)
    assert "upload code and submit it first" in _html(page) or "上传代码" in _html(page)
    with env.app.app_context():
        assert db.session.query(JobRun).filter_by(kind="release").count() == 0


def test_dropped_push_is_rescued_by_the_poll(code_env):
    from portal.jobs.audits import poll_open_audits

    env = code_env
    ready_to_submit(env)
    submit(env)
    env.api.faults(drop_pushes=True, push_type="weapp_audit_success")
    env.api.advance(61)
    env.api.pushes(appid=env.appid)
    assert audits(env)[0].status == 2  # the push was lost
    with env.app.app_context():
        assert poll_open_audits() == {"checked": 1, "changed": 1}
    assert audits(env)[0].status == 0
    # and the staff/merchant "refresh now" button does the same
    assert env.post("audit/refresh").status_code == 302


def test_double_click_enqueues_one_job(code_env):
    env = code_env
    ready_to_submit(env)
    fault(env, "get_code_privacy_info", latency_ms=1000, count=1)
    data = {"items-0-address": "pages/index/index", "version_desc": "x"}
    env.post("audit", data)
    again = env.post("audit", data, follow_redirects=True)
    assert "该任务已在运行中" in _html(again)
    env.drain()
    with env.app.app_context():
        assert db.session.query(JobRun).filter_by(kind="submit_audit").count() == 1
        assert db.session.query(Audit).count() == 1
    assert env.api.count("submit_audit", env.appid) == 1


def test_unauthorized_app_is_refused_with_words(code_env):
    env = code_env
    env.api.unauthorize(env.appid)
    page = env.post("code", {"template_id": env.template_id, "user_version": "1.0.1"}, follow_redirects=True)
    assert "no longer authorized" in _html(page) or "授权" in _html(page)


def test_a_run_whose_job_was_lost_is_enqueued_again(code_env):
    import json
    from datetime import timedelta

    from portal.jobs.releases import recover_stranded_jobs
    from portal.timeutil import utcnow

    env = code_env
    with env.app.app_context():
        params = {"template_id": env.template_id, "user_version": "3.0.0", "user_desc": ""}
        db.session.add(JobRun(kind="commit", key=f"commit:{env.mp_id}", active_key=f"commit:{env.mp_id}",
                              miniprogram_id=env.mp_id, tenant_id=env.tenant_id, state="queued",
                              params=json.dumps(params), rq_job_id="lost", created_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        assert recover_stranded_jobs() == {"recovered": 1}
    env.drain()
    assert last_run(env).state == "done" and env.api.count("commit", env.appid, errcode=0) == 1


def test_call_log_is_pruned(code_env):
    from datetime import timedelta

    import sqlalchemy as sa

    from portal.jobs.releases import prune_call_log
    from portal.timeutil import utcnow

    env = code_env
    env.get("testers")
    with env.app.app_context():
        total = db.session.execute(sa.text("SELECT COUNT(*) FROM wechat_calls")).scalar()
        assert total > 0
        db.session.execute(sa.text("UPDATE wechat_calls SET created_at = :t"), {"t": utcnow() - timedelta(days=40)})
        db.session.commit()
        assert prune_call_log() == {"deleted": total}
