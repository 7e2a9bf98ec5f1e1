"""A submit asked for right after an upload waits for WeChat's post-commit privacy scan by asking
get_code_privacy_info (61039 while it runs), and goes out within a few seconds of the scan's end."""

from tests.conftest import SANDBOX_TEST_OPTIONS, wait_for
from tests.releases.test_pipeline import audits, last_run, submit, upload

SCAN = SANDBOX_TEST_OPTIONS["privacy_scan_seconds"]


def last_call(env, endpoint):
    return env.api.calls(endpoint, env.appid)["calls"][-1]


def test_a_submit_right_after_an_upload_goes_out_as_soon_as_the_scan_ends(code_env):
    env = code_env
    env.app.config["PRIVACY_SCAN_CHECK_SECONDS"] = 1  # the longest pause between two looks at the scan
    upload(env)
    scan_end = last_call(env, "commit")["sandbox_time"] + SCAN
    submit(env)  # WeChat still scans: the run waits, no worker held, nothing submitted
    run = last_run(env)
    assert run.state == "retrying" and run.errcode == 61039, run.message
    assert "隐私" in run.message and env.api.count("submit_audit", env.appid) == 0
    env.api.advance(SCAN - 2)  # two sandbox (= real) seconds of the scan are left
    wait_for(env.app, lambda: env.api.count("submit_audit", env.appid) == 1, what="the submit")
    sent = last_call(env, "submit_audit")
    assert sent["errcode"] == 0 and scan_end <= sent["sandbox_time"] <= scan_end + 10
    wait_for(env.app, lambda: last_run(env).state == "done", what="the end of the run")
    assert len(audits(env)) == 1
    checks = env.api.calls("get_code_privacy_info", env.appid)["calls"]
    assert checks[-1]["errcode"] == 0 and all(c["errcode"] == 61039 for c in checks[:-1])
