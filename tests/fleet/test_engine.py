"""The fleet engine against the sandbox: a template released to several mini-programs, step by step."""

from portal.extensions import db
from portal.models import Audit, User
from portal.services import fleet, library


def start(env, template_id, targets=None, **options):
    with env.app.app_context():
        library.sync_templates()
        actor = db.session.get(User, env.staff_id)
        release = fleet.start_fleet_release(template_id, actor, targets or {"mode": "all"}, options)
        return release.id


def test_five_apps_happy_path(fleet_env, make_tenant):
    env = fleet_env
    tenant = make_tenant("Tea House")
    appids = env.apps(tenant, 5)
    template_id = env.template()
    release_id = start(env, template_id, max_concurrency=2)
    states = env.settle_until(release_id, lambda s: set(s.values()) == {"privacy"})
    assert set(states.values()) == {"privacy"}
    assert env.api.count("commit") == 5
    env.api.advance(31)  # the privacy scans finish
    states = env.settle_until(release_id, lambda s: set(s.values()) == {"in_audit"})
    assert set(states.values()) == {"in_audit"}
    env.audit_results()
    states = env.settle_until(release_id, lambda s: set(s.values()) == {"released"})
    assert set(states.values()) == {"released"}, states
    assert env.release(release_id).state == "finished"
    for appid in appids:
        assert env.api.count("commit", appid) == 1
        assert env.api.count("submit_audit", appid) == 1
        assert env.api.count("release", appid, errcode=0) == 1
    with env.app.app_context():
        assert db.session.query(Audit).filter_by(is_release=True, template_id=template_id).count() == 5
        assert library.usage()[template_id]["released"] == 5


def test_audit_results_wake_the_release(fleet_env, make_tenant):
    """Once the apps wait for their audits nobody ticks the release: the result pushes themselves get the
    coordinator to hand out the releases."""
    env = fleet_env
    env.apps(make_tenant("Juice Bar"), 2)
    release_id = start(env, env.template(), max_concurrency=2)
    env.settle_until(release_id, lambda s: set(s.values()) == {"privacy"})
    env.api.advance(31)  # the privacy scans finish
    assert set(env.settle_until(release_id, lambda s: set(s.values()) == {"in_audit"}).values()) == {"in_audit"}
    env.audit_results()
    for _ in range(3):  # only the jobs the pushes queued, and the steps those hand out
        env.drain()
    assert set(env.states(release_id).values()) == {"released"}
    assert env.release(release_id).state == "finished"
