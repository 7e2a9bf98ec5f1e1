"""A fleet release that reaches a mini-program WeChat would refuse with 86002: its target fails with the
Setup tab's message before WeChat is asked, and the others go on."""

from tests.fleet.test_engine import start


def test_a_new_miniprogram_fails_its_submit_step_in_words(fleet_env, make_tenant):
    env = fleet_env
    tenant = make_tenant("Tea House")
    ready, = env.apps(tenant, 1)
    bare, = env.apps(tenant, 1, blank=True)
    release_id = start(env, env.template())
    env.settle_until(release_id, lambda s: set(s.values()) == {"privacy"})
    env.api.advance(31)  # the privacy scans finish
    states = env.settle_until(release_id, lambda s: s.get(ready) == "in_audit" and s.get(bare) == "failed")
    assert (states[ready], states[bare]) == ("in_audit", "failed"), states
    target = env.targets(release_id)[bare]
    assert target.failed_step == "submit" and "基础设置" in target.reason, (target.failed_step, target.reason)
    assert env.api.count("submit_audit", bare) == 0 and env.api.count("submit_audit", ready) == 1
