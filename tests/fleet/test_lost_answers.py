"""Fleet steps whose answer WeChat loses after acting (the sandbox carries the call out, then answers 502):
each call is sent once, and the step's retry adopts what WeChat holds."""

from tests.fleet.test_engine import start


def lose_answer(env, endpoint, appid):
    env.api.faults(endpoint=endpoint, appid=appid, http_status=502, after_call=True, count=1)


def test_lost_answers_of_commit_submit_and_release_are_not_sent_again(fleet_env, make_tenant):
    env = fleet_env
    [appid] = env.apps(make_tenant("Noodle Bar"), 1)
    lose_answer(env, "commit", appid)
    release_id = start(env, env.template())
    env.settle_until(release_id, lambda s: s[appid] == "privacy")
    lose_answer(env, "submit_audit", appid)
    env.api.advance(31)  # the privacy scan ends
    states = env.settle_until(release_id, lambda s: s[appid] == "in_audit")
    assert states[appid] == "in_audit"
    lose_answer(env, "release", appid)
    env.audit_results()
    states = env.settle_until(release_id, lambda s: s[appid] == "released")
    assert states[appid] == "released", env.targets(release_id)[appid].reason
    for endpoint in ("commit", "submit_audit", "release"):
        assert env.api.count(endpoint, appid) == 1, endpoint
