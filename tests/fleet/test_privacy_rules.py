"""A fleet release follows WeChat's ext_json and privacy rules as a single upload does: a standard template
gets only extAppid and ext, `privacy_api_not_use` never stands in for the privacy guideline, and a 61040
names the location APIs."""

import json

from portal.extensions import db
from portal.models import CodeCommit
from portal.services import tenant_settings
from tests.fleet.conftest import start


def _tenant(env, make_tenant, **settings):
    tenant = make_tenant("Bakery")
    if settings:
        with env.app.app_context():
            tenant_settings.save_settings(tenant, None, **settings)
    return tenant


def test_standard_template_release_sends_only_extappid_and_ext(fleet_env, make_tenant):
    env = fleet_env
    appids = env.apps(_tenant(env, make_tenant, ext_params={"shop": "1"}, required_private_infos=["getLocation"]), 2)
    release_id = start(env, env.template(template_type=1), auto_submit=False)
    states = env.settle_until(release_id, lambda s: set(s.values()) == {"committed"})
    assert set(states.values()) == {"committed"}, states
    assert {appid: env.api.count("commit", appid, errcode=0) for appid in appids} == dict.fromkeys(appids, 1)
    with env.app.app_context():
        sent = {c.ext_json for c in db.session.query(CodeCommit)}
    assert [json.loads(e) for e in sorted(sent)] == sorted(
        ({"extAppid": appid, "ext": {"shop": "1"}} for appid in appids), key=lambda e: e["extAppid"])


def test_declared_unused_does_not_cover_an_incomplete_guideline(fleet_env, make_tenant):
    env = fleet_env
    appid, = env.apps(_tenant(env, make_tenant), 1)
    release_id = start(env, env.template(privacy_keys=["Album"]), privacy_api_not_use=True)
    env.settle_until(release_id, lambda s: set(s.values()) == {"privacy"})
    env.api.advance(31)  # the privacy scan finishes
    assert env.settle_until(release_id, lambda s: s[appid] == "failed")[appid] == "failed"
    target = env.targets(release_id)[appid]
    assert "Album" in target.reason and "驳回" in target.reason
    assert target.failed_step == "privacy"  # the page tells a privacy failure from a refused submission
    assert env.api.count("submit_audit", appid) == 0


def test_location_refusal_names_the_apis(fleet_env, make_tenant):
    env = fleet_env
    appid, = env.apps(_tenant(env, make_tenant), 1)
    release_id = start(env, env.template(location_apis=["chooseLocation"]))
    env.settle_until(release_id, lambda s: set(s.values()) == {"privacy"})
    env.api.advance(31)
    assert env.settle_until(release_id, lambda s: s[appid] == "failed")[appid] == "failed"
    target = env.targets(release_id)[appid]
    assert target.errcode == 61040 and "wx.chooseLocation" in target.reason, target.reason
    assert target.failed_step == "submit"
