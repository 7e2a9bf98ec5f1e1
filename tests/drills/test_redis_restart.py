"""Drill: Redis restarts (without persistence: every queued job and cached token is lost) while two real
workers run a fleet release. The workers reconnect, the fleet tick finds the steps whose jobs vanished, and
every app still ends in its right final state with one successful commit and one submission each."""

import pytest

from tests.drills.conftest import needs_redis_server, wait_for_workers
from tests.fleet.conftest import FINAL, decide, run_to_end, start, successes

pytestmark = needs_redis_server
IN_FLIGHT = {"committing", "submitting", "releasing"}


@pytest.fixture
def make_app(own_redis, make_app):
    """Apps (the portal, and through its config the workers) use the drill's own Redis."""
    def factory(**overrides):
        overrides.setdefault("REDIS_URL", own_redis.url)
        return make_app(**overrides)

    return factory


def test_redis_restart_during_a_fleet_release(fleet_env, make_tenant, real_workers, own_redis):
    env, api = fleet_env, fleet_env.api
    appids = env.apps(make_tenant("Tea chain"), 6)
    rejected = appids[:1]
    decide(api, rejected[0], "reject", reason="功能不完整")
    api.faults(faults=[{"endpoint": name, "latency_ms": 300} for name in ("commit", "submit_audit", "release")])
    template_id = env.template(version="3.0.0")
    real_workers(2)
    wait_for_workers(env.app, 2)
    release_id = start(env, template_id, max_concurrency=3)
    restarted = []

    def restart_redis_midway(states):
        if not restarted and sum(s in IN_FLIGHT for s in states.values()) >= 2:
            restarted.append(dict(states))
            own_redis.restart(down_for=1.0)

    states = run_to_end(env, release_id, timeout=120, step=restart_redis_midway)
    assert restarted, "no step was in flight when Redis went away"
    assert all(worker.poll() is None for worker in env.workers), "a worker exited when Redis went away"
    assert env.release(release_id).state == "finished", states
    assert all(s in FINAL for s in states.values()), states
    assert states == {a: ("rejected" if a in rejected else "released") for a in appids}
    assert successes(api, "commit", appids) == {a: 1 for a in appids}
    assert successes(api, "submit_audit", appids) == {a: 1 for a in appids}
