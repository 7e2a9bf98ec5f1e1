"""Quota-aware submissions: the coordinator reads queryquota before submitting, never starts more submissions
than the platform's remaining monthly quota (85085), and backs off on 45009 / -1 before trying again."""

import time
from datetime import datetime

import pytest

from tests.fleet.conftest import run_to_end, start, successes


def _set_submit_quota(sandbox, component_appid, limit):
    sandbox.sandbox.state.components[component_appid].submit_quota = limit


IN_FLIGHT = {"committing", "submitting", "releasing"}


def test_never_submits_beyond_the_remaining_quota(fleet_env, make_tenant, sandbox):
    env, api = fleet_env, fleet_env.api
    env.app.config["FLEET_PRIVACY_RECHECK_SECONDS"] = 0.3
    appids = env.apps(make_tenant("Bakery"), 5)
    _set_submit_quota(sandbox, api.component_appid, 3)
    release_id = start(env, env.template(), max_concurrency=5)
    # WeChat's clock moves only to end the privacy scans, never while an audit is open: a real audit takes
    # hours, and an approval before the quota runs out would leave an app "approved" (releases wait too)
    run_to_end(env, release_id, timeout=25, advance=0,
               step=lambda states: set(states.values()) <= {"privacy"} and api.advance(31))
    # the pause may come while the last submission handed out is in flight: it ends as it would anyway
    states = env.settle_until(release_id, lambda s: not IN_FLIGHT & set(s.values()))
    release = env.release(release_id)
    assert release.state == "paused" and "85085" in release.stop_reason, (release.state, release.stop_reason)
    assert api.count("submit_audit") == 3 and api.count("submit_audit", errcode=85085) == 0
    waiting = [a for a, s in states.items() if s in ("committed", "privacy")]
    assert len(waiting) == 2 and all(states[a] in ("in_audit", "released") for a in set(appids) - set(waiting)), states
    calls = api.calls(limit=1000)["calls"]
    first_quota = min(c["seq"] for c in calls if c["endpoint"] == "queryquota" and c["errcode"] == 0)
    assert first_quota < min(c["seq"] for c in calls if c["endpoint"] == "submit_audit")
    # WeChat raises the quota; staff resume and the other two go through
    _set_submit_quota(sandbox, api.component_appid, 10)
    from portal.models import User
    from portal.services.fleet import controls as fleet_controls

    with env.app.app_context():
        from portal.extensions import db

        fleet_controls.resume(release_id, db.session.get(User, env.staff_id))
    states = run_to_end(env, release_id, timeout=25)
    assert set(states.values()) == {"released"}, states
    assert all(n == 1 for n in successes(api, "submit_audit", appids).values())


def test_a_fresh_quota_reading_counts_submissions_handed_out_but_not_sent(fleet_env, make_tenant, sandbox):
    from portal.jobs.fleet import fleet_tick_job

    env, api = fleet_env, fleet_env.api
    if env.app.extensions.get("redis") is None:
        pytest.skip("needs queued jobs: without Redis a step runs as soon as it is handed out")
    env.app.config["FLEET_QUOTA_TTL"] = -1  # every tick reads the quota afresh, even within a second
    env.apps(make_tenant("Florist"), 5)
    _set_submit_quota(sandbox, api.component_appid, 3)
    release_id = start(env, env.template(), max_concurrency=5)
    # all five uploaded; each submission handed out so far found WeChat still scanning and gave its unit back
    states = env.settle_until(release_id, lambda s: set(s.values()) == {"privacy"})
    assert set(states.values()) == {"privacy"}, states
    assert env.release(release_id).quota_rest == 3 and api.count("submit_audit") == 0
    api.advance(31)  # the scans end
    time.sleep(1.1)  # FLEET_PRIVACY_RECHECK_SECONDS on the portal's clock, which keeps whole seconds
    with env.app.app_context():
        fleet_tick_job(release_id)  # reads the quota: 3 left, so 3 submissions go out
        fleet_tick_job(release_id)  # reads it again before any was sent: WeChat still says 3, but 3 are on their way
    states = env.states(release_id)
    assert sorted(states.values()) == ["privacy"] * 2 + ["submitting"] * 3, states
    env.drain()
    assert api.count("submit_audit") == 3 and api.count("submit_audit", errcode=85085) == 0
    env.tick(release_id)  # WeChat now says 0: the release waits for staff, the other two for quota
    release = env.release(release_id)
    assert release.state == "paused" and "85085" in release.stop_reason, (release.state, release.stop_reason)
    assert sorted(env.states(release_id).values()) == ["in_audit"] * 3 + ["privacy"] * 2


def test_backs_off_on_45009_and_minus_1(fleet_env, make_tenant):
    env, api = fleet_env, fleet_env.api
    # eight -1 in a row double the back-off from 0.3 s up to 38 s; capped at 1 s they fit the test's time
    env.app.config.update(FLEET_PRIVACY_RECHECK_SECONDS=0.3, FLEET_RATE_LIMIT_PAUSE=1.0, FLEET_BACKOFF_SECONDS=0.3,
                          FLEET_BACKOFF_MAX_SECONDS=1.0)
    appids = env.apps(make_tenant("Butcher"), 4)
    release_id = start(env, env.template(), max_concurrency=4)
    api.faults(faults=[{"endpoint": "submit_audit", "appid": appids[0], "errcode": 45009, "count": 1},
                       {"endpoint": "submit_audit", "appid": appids[1], "errcode": -1, "count": 8}])
    states = run_to_end(env, release_id, timeout=30)
    assert set(states.values()) == {"released"}, states
    assert successes(api, "submit_audit", appids) == {a: 1 for a in appids}
    # both submit steps met their transient errors and went on (`retries` is 0 again once a step succeeds)
    assert api.count("submit_audit", appids[0], errcode=45009) == 1
    assert api.count("submit_audit", appids[1], errcode=-1) == 8
    assert all(t.retries == 0 for t in env.targets(release_id).values())
    calls = [c for c in api.calls("submit_audit", limit=1000)["calls"]]
    limited = [c for c in calls if c["errcode"] == 45009]
    assert len(limited) == 1
    # 45009 paused every worker: no submission of any app within the pause that followed it, except those
    # already on their way when the 45009 came back (steps run in parallel; a sent request cannot be held)
    after = [c for c in calls if c["seq"] > limited[0]["seq"] and _t(c) - _t(limited[0]) > 0.2]
    assert after and min(_t(c) for c in after) - _t(limited[0]) >= 0.9, (limited, after[:2])


def test_max_retries_count_each_step_apart(fleet_env, make_tenant):
    env, api = fleet_env, fleet_env.api
    env.app.config.update(FLEET_PRIVACY_RECHECK_SECONDS=0.3, FLEET_MAX_RETRIES=2)
    steady, worn = env.apps(make_tenant("Grocer"), 2)
    # `steady` meets two transient errors at each of its three steps (six in all, never more than two in
    # one step); `worn` meets three in a row at its release
    api.faults(faults=[{"endpoint": name, "appid": steady, "errcode": -1, "count": 2}
                       for name in ("commit", "submit_audit", "release")]
               + [{"endpoint": "release", "appid": worn, "errcode": -1, "count": 3}])
    release_id = start(env, env.template(), max_concurrency=2)
    run_to_end(env, release_id, timeout=30)
    targets = env.targets(release_id)
    assert (targets[steady].state, targets[steady].retries) == ("released", 0), targets[steady].reason
    assert all(api.count(name, steady, errcode=-1) == 2 for name in ("commit", "submit_audit", "release"))
    failed = targets[worn]
    assert (failed.state, failed.failed_step, failed.errcode) == ("failed", "release", -1), failed.reason
    assert api.count("release", worn, errcode=-1) == 3 and successes(api, "release", [worn]) == {worn: 0}
    assert env.release(release_id).state == "finished"


def _t(call):
    value = call["time"]
    return value if isinstance(value, (int, float)) else datetime.fromisoformat(value).timestamp()
