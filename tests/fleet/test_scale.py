"""A fleet of 30 sandbox mini-programs across 3 tenants with mixed outcomes (rejected, delayed, one
unauthorized midway, one with an audit already open at WeChat, permanent errors at commit and at release):
every app ends in its right final state and WeChat saw at most one commit and one submission per app."""

from portal.extensions import db
from portal.models import MiniProgram
from portal.services import wechat
from portal.services.code.commit import build_ext_json
from tests.fleet.conftest import decide, run_to_end, start, successes, texts


def _open_audit_at_wechat(env, appid):
    """An audit submitted outside the portal (e.g. from WeChat's own tools): the portal has no row for it."""
    old = env.template(version="1.0.0")
    with env.app.app_context():
        mp = db.session.query(MiniProgram).filter_by(authorizer_appid=appid).one()
        wechat.api(mp).code.commit(old, build_ext_json(mp), "1.0.0", "old")
    env.api.advance(31)  # the privacy scan of that upload
    with env.app.app_context():
        mp = db.session.query(MiniProgram).filter_by(authorizer_appid=appid).one()
        wechat.api(mp).audit.submit_audit()


def test_thirty_apps_three_tenants_mixed_outcomes(fleet_env, make_tenant, real_workers):
    env, api = fleet_env, fleet_env.api
    env.app.config["FLEET_PRIVACY_RECHECK_SECONDS"] = 0.5  # a finished scan is seen soon, without busy polling
    appids = [a for name in ("Tea", "Noodles", "Flowers") for a in env.apps(make_tenant(f"{name} chain"), 10)]
    rejected, delayed = appids[0:2] + appids[10:12] + appids[20:21], appids[2:3] + appids[12:13] + appids[22:23]
    delayed_rejected, lost, busy = appids[23], appids[15], appids[25]
    commit_fails, release_fails = appids[5], appids[26]
    for appid in rejected:
        decide(api, appid, "reject", reason="功能不完整<br>page missing")
    for appid in delayed:
        decide(api, appid, "delay", delay_reason="需要更多时间", then="approve", then_delay=60)
    decide(api, delayed_rejected, "delay", delay_reason="需要更多时间", then="reject", then_delay=60,
           reason="内容不符合规范")
    api.faults(endpoint="commit", appid=commit_fails, errcode=85013, errmsg="invalid ext json")
    api.faults(endpoint="release", appid=release_fails, errcode=85020, errmsg="status not allowed")
    decide(api, busy, "approve", delay=100_000)  # its open audit stays open for the whole run
    _open_audit_at_wechat(env, busy)
    template_id = env.template(version="2.0.0")
    real_workers()
    release_id = start(env, template_id, max_concurrency=10)

    def unauthorize_midway(states):  # the merchant revokes the platform once its code is uploaded
        if states[lost] in ("privacy", "in_audit") and not getattr(unauthorize_midway, "done", False):
            unauthorize_midway.done = True
            api.unauthorize(lost)

    states = run_to_end(env, release_id, timeout=60, step=unauthorize_midway)
    assert getattr(unauthorize_midway, "done", False), "the lost app never reached the audit stage"
    assert env.release(release_id).state == "finished", states
    targets = env.targets(release_id)
    special = {*rejected, *delayed, delayed_rejected, lost, busy, commit_fails, release_fails}
    for appid in set(appids) - special:
        assert targets[appid].state == "released", (appid, targets[appid].state, targets[appid].reason)
    for appid in delayed:
        assert targets[appid].state == "released", (appid, targets[appid].reason)
    for appid in [*rejected, delayed_rejected]:
        target = targets[appid]
        assert (target.state, target.failed_step) == ("rejected", "audit"), (appid, target.state)
        assert ("内容不符合规范" if appid == delayed_rejected else "功能不完整") in target.reason
    assert (targets[lost].state, targets[lost].reason) in {("skipped", t) for t in texts(
        env.app, "Not authorized to the platform.")}
    assert targets[busy].state == "skipped" and targets[busy].reason in texts(env.app, "An audit is already open.")
    for appid, step, errcode in ((commit_fails, "commit", 85013), (release_fails, "release", 85020)):
        target = targets[appid]
        assert (target.state, target.failed_step, target.errcode) == ("failed", step, errcode), appid
        assert target.reason and str(errcode) in target.reason or target.reason.strip(), target.reason
    # WeChat saw each app's commit and submission at most once (the busy app: only its own old submission)
    commits = successes(api, "commit", appids)
    assert commits[busy] == 2 and commits[commit_fails] == 0
    assert all(n == 1 for a, n in commits.items() if a not in (busy, commit_fails)), commits
    submits = successes(api, "submit_audit", appids)
    assert all(n <= 1 for n in submits.values()), submits
    assert submits[commit_fails] == 0 and submits[busy] == 1
    assert api.count("submit_audit", busy, errcode=85009) == 1
    assert sum(successes(api, "release", appids).values()) == len(appids) - len(special) + len(delayed)
