"""Answers lost on the way back from WeChat (the sandbox carries the call out, then answers 502): a call
that changes something is sent once, and the job finds out by reading what WeChat holds."""

from portal.extensions import db
from portal.models import CodeCommit
from tests.releases.test_actions import approved
from tests.releases.test_pipeline import audits, last_run, submit, upload


def lose_answer(env, endpoint):
    """WeChat acts on the next `endpoint` call of this app, but its answer never arrives (HTTP 502)."""
    env.api.faults(endpoint=endpoint, appid=env.appid, http_status=502, after_call=True, count=1)


def sandbox_audits(env):
    return env.api.call(f"/sandbox/miniprograms/{env.appid}", method="GET")["miniprogram"]["audits"]


def test_a_submit_whose_answer_is_lost_is_sent_once_and_its_audit_recorded(code_env):
    env = code_env
    upload(env)
    env.api.advance(31)  # the privacy scan ends
    lose_answer(env, "submit_audit")
    submit(env)
    run = last_run(env)
    assert run.state == "done", run.message
    assert env.api.count("submit_audit", env.appid) == 1  # never a second submit to find out
    [held] = sandbox_audits(env)
    [audit] = audits(env)
    assert audit.auditid == str(held["auditid"]) and audit.status == 2
    assert env.api.count("get_latest_auditstatus", env.appid, errcode=0) >= 1  # adopted by reading


def test_a_commit_whose_answer_is_lost_is_not_committed_again(code_env):
    env = code_env
    lose_answer(env, "commit")
    upload(env)
    run = last_run(env)
    assert run.state == "done", run.message
    assert env.api.count("commit", env.appid) == 1  # a second commit would restart the privacy scan
    assert env.api.count("getversioninfo", env.appid, errcode=0) >= 1
    with env.app.app_context():
        assert db.session.query(CodeCommit).filter_by(miniprogram_id=env.mp_id, user_version="1.0.0").count() == 1


def test_a_release_whose_answer_is_lost_is_not_sent_again(code_env):
    env = code_env
    approved(env)
    lose_answer(env, "release")
    env.post("release")
    env.drain()
    run = last_run(env)
    assert run.state == "done", run.message
    assert env.api.count("release", env.appid) == 1
    assert audits(env)[-1].is_release
