"""A fleet release waits for WeChat's post-commit privacy scan of each app by asking again a few seconds
later, on ticks it queues itself (no periodic tick needed), and submits within a few seconds of the end."""

from tests.conftest import SANDBOX_TEST_OPTIONS, wait_for
from tests.fleet.test_engine import start

SCAN = SANDBOX_TEST_OPTIONS["privacy_scan_seconds"]


def test_a_fleet_submits_as_soon_as_the_scan_ends(fleet_env, make_tenant):
    env = fleet_env
    env.app.config["FLEET_PRIVACY_RECHECK_SECONDS"] = 1  # the longest pause between two looks at the scan
    [appid] = env.apps(make_tenant("Bakery"), 1)
    release_id = start(env, env.template())
    wait_for(env.app, lambda: env.states(release_id)[appid] == "privacy", what="the upload")
    scan_end = env.api.calls("commit", appid)["calls"][-1]["sandbox_time"] + SCAN
    env.api.advance(SCAN - 2)  # two sandbox (= real) seconds of the scan are left; nobody ticks the release
    wait_for(env.app, lambda: env.api.count("submit_audit", appid) == 1, what="the submit")
    sent = env.api.calls("submit_audit", appid)["calls"][-1]
    assert sent["errcode"] == 0 and scan_end <= sent["sandbox_time"] <= scan_end + 10
    wait_for(env.app, lambda: env.states(release_id)[appid] == "in_audit", what="the audit")
    checks = env.api.calls("get_code_privacy_info", appid)["calls"]
    assert checks[-1]["errcode"] == 0 and all(c["errcode"] == 61039 for c in checks[:-1])
