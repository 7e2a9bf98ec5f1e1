"""Retry failed: a finished release whose apps failed offers "retry failed" (and nothing else); once the cause
is gone, the retried apps finish like the others, each committed once more and released once; a cancelled
release refuses to retry, in words."""

import re

from tests.fleet.conftest import run_to_end, start, successes


def _controls(html):
    return {m.group(1) for m in re.finditer(r'data-fleet-control="(\w+)"(?! hidden)', html)}


def test_failed_apps_of_a_finished_release_are_retried_to_the_end(fleet_env, make_tenant):
    env, api = fleet_env, fleet_env.api
    good, bad = env.apps(make_tenant("Retry Shop"), 2)
    api.faults(endpoint="commit", appid=bad, errcode=85013, errmsg="invalid ext json")
    release_id = start(env, env.template(version="3.0.0"), max_failure_rate=100)
    states = run_to_end(env, release_id)
    assert states == {good: "released", bad: "failed"}, states
    page = env.client.get(f"/staff/fleet/{release_id}").get_data(as_text=True)
    assert _controls(page) == {"retry"}
    assert env.client.get(f"/staff/fleet/{release_id}/status").get_json()["controls"] == ["retry"]

    api.clear_faults()  # the merchant fixed its parameters
    assert env.post(f"/staff/fleet/{release_id}/retry").status_code == 302
    states = run_to_end(env, release_id)
    assert states == {good: "released", bad: "released"}, states
    assert successes(api, "commit", [good, bad]) == {good: 1, bad: 1}
    assert successes(api, "release", [good, bad]) == {good: 1, bad: 1}
    done = env.client.get(f"/staff/fleet/{release_id}").get_data(as_text=True)
    assert _controls(done) == set()


def test_a_cancelled_release_does_not_retry(fleet_env, make_tenant):
    env, api = fleet_env, fleet_env.api
    (bad,) = env.apps(make_tenant("Cancel Shop"), 1)
    api.faults(endpoint="commit", appid=bad, errcode=85013, errmsg="invalid ext json")
    release_id = start(env, env.template(version="3.1.0"), max_failure_rate=100)
    assert env.post(f"/staff/fleet/{release_id}/cancel").status_code == 302
    run_to_end(env, release_id)
    response = env.post(f"/staff/fleet/{release_id}/retry", follow_redirects=True)
    assert "不能重试" in response.get_data(as_text=True) or "cannot retry" in response.get_data(as_text=True)
    assert env.release(release_id).state == "cancelled"


def test_a_release_cancelled_while_its_submission_meets_85085_ends_cancelled(fleet_env, make_tenant, real_workers):
    """A submission that meets 85085 pauses its release, unless staff cancelled the release while that
    submission was at WeChat: the step started before the cancel, and the cancel stands."""
    env, api = fleet_env, fleet_env.api
    env.app.config["FLEET_PRIVACY_RECHECK_SECONDS"] = 0.3
    (appid,) = env.apps(make_tenant("Quota Shop"), 1)
    api.faults(endpoint="submit_audit", appid=appid, errcode=85085, latency_ms=3000, count=1)
    real_workers(1)
    release_id = start(env, env.template(version="3.2.0"))
    cancelled = []

    def cancel_while_submitting(states):
        if not cancelled and api.in_flight("submit_audit", appid):
            cancelled.append(env.post(f"/staff/fleet/{release_id}/cancel").status_code)

    run_to_end(env, release_id, step=cancel_while_submitting)
    assert cancelled == [302] and api.count("submit_audit", appid, errcode=85085) == 1
    release = env.release(release_id)
    assert release.state == "cancelled", (release.state, release.stop_reason)
    assert env.targets(release_id)[appid].state == "cancelled"
