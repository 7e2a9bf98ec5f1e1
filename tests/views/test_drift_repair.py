"""Drift between WeChat and the portal, repaired by the sync with WeChat's authorizer list that staff start
from the report page (and that runs nightly): an account authorized on WeChat the portal never heard of, an
app revoked on WeChat whose `unauthorized` push was lost, and an app whose permission sets changed while
its `updateauthorized` push was lost. Each is made in the sandbox, found by the sync, and shown."""

import re

import sqlalchemy as sa

from tests.conftest import drain_jobs, post_form
from tests.helpers import staff_client


def _raw(platform, sql, **params):
    from portal.extensions import db

    with platform.app.app_context():
        return db.session.execute(sa.text(sql), params).all()


def _execute(platform, sql, **params):
    from portal.extensions import db

    with platform.app.app_context():
        db.session.execute(sa.text(sql), params)
        db.session.commit()


def _section(html, section_id):
    """The HTML of one <section id=...> of the report."""
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(0)


def _lose_next_push(platform, push_type, appid):
    platform.api.faults(drop_pushes=True, push_type=push_type, appid=appid, count=1)


def test_the_sync_staff_start_finds_all_three_kinds_of_drift(platform, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Noodle Shop")
    steady = platform.authorized_app(tenant_id, nick_name="一切如常")
    revoked = platform.authorized_app(tenant_id, nick_name="已在微信解除")
    changed = platform.authorized_app(tenant_id, nick_name="权限已变")
    granted = platform.api.call(f"/sandbox/miniprograms/{changed}", method="GET")["miniprogram"]["func_info"]
    assert 19 in granted and 52 not in granted

    _lose_next_push(platform, "unauthorized", revoked)
    platform.api.unauthorize(revoked)
    _lose_next_push(platform, "updateauthorized", changed)
    platform.api.authorize(changed, func_info=[i for i in granted if i != 19] + [52])
    unknown = platform.api.create_miniprogram(nick_name="未入平台的小程序")
    _lose_next_push(platform, "authorized", unknown)
    platform.api.authorize(unknown)
    drain_jobs(platform.app)
    states = dict(_raw(platform, "SELECT authorizer_appid, auth_state FROM wxminiprograms"))
    assert states == {steady: "authorized", revoked: "authorized", changed: "authorized"}  # the portal saw nothing

    staff = staff_client(platform, make_user, login_as)
    assert "sync-none" in staff.get("/staff/platform/sync").get_data(as_text=True)
    assert staff.post("/staff/platform/sync").status_code == 400  # no CSRF token
    started = post_form(staff, "/staff/platform/sync", {}, token_from="/staff/platform/sync")
    assert started.status_code == 302 and started.location.endswith("/staff/platform/sync")
    (sync_id,) = _raw(platform, "SELECT id FROM authorizer_syncs")[0]
    if platform.app.extensions.get("redis") is not None:  # nothing runs before the workers do (embedded: at once)
        waiting = staff.get(f"/staff/platform/sync/{sync_id}").get_json()
        assert waiting["active"] is True and waiting["state"] == "queued"
        report = staff.get("/staff/platform/sync").get_data(as_text=True)
        assert f'data-job-url="/staff/platform/sync/{sync_id}"' in report and "等待后台任务进程" in report

    drain_jobs(platform.app)
    done = staff.get(f"/staff/platform/sync/{sync_id}").get_json()
    assert (done["state"], done["active"]) == ("done", False)
    html = staff.get("/staff/platform/sync").get_data(as_text=True)
    assert 'id="sync-listed">3<' in html  # steady, changed, unknown
    found_unknown, found_lost, found_changed = (_section(html, f"found-{kind}")
                                                for kind in ("unknown", "lost", "permissions"))
    assert unknown in found_unknown and "未入平台的小程序" in found_unknown
    assert revoked in found_lost and "已在微信解除" in found_lost
    assert changed in found_changed and "小程序直播管理（52）" in found_changed and "小程序客服管理（19）" in found_changed
    for section in (found_unknown, found_lost, found_changed):
        assert steady not in section
    assert revoked not in found_changed and changed not in found_lost  # each app in its own kind only

    states = dict(_raw(platform, "SELECT authorizer_appid, auth_state FROM wxminiprograms"))
    assert states == {steady: "authorized", revoked: "unauthorized", changed: "authorized"}
    assert _raw(platform, "SELECT authorizer_appid FROM unclaimed_authorizers") == [(unknown,)]
    assert unknown in staff.get("/staff/platform/unclaimed").get_data(as_text=True)  # offered for assignment

    mp_id = _raw(platform, "SELECT id FROM wxminiprograms WHERE authorizer_appid = :a", a=changed)[0][0]
    page = staff.get(f"/miniprograms/{mp_id}/").get_data(as_text=True)
    change = re.search(r'id="permission-change">(.*?)</div>', page, re.S).group(1)
    assert "小程序直播管理（52）" in change and "小程序客服管理（19）" in change
    assert change.index("新增 小程序直播管理（52）") < change.index("移除 小程序客服管理（19）")  # added, then removed (not a time of day)
    sets = re.search(r'id="permission-sets">(.*?)<', page, re.S).group(1)
    assert "小程序直播管理（52）" in sets and "（19）" not in sets  # stored anew
    steady_id = _raw(platform, "SELECT id FROM wxminiprograms WHERE authorizer_appid = :a", a=steady)[0][0]
    assert "permission-change" not in staff.get(f"/miniprograms/{steady_id}/").get_data(as_text=True)


def test_one_sync_at_a_time_and_only_for_staff(platform, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Noodle Shop")
    make_user(tenant_id=tenant_id, email="owner@example.com")
    merchant = platform.client()
    assert login_as("owner@example.com", test_client=merchant).status_code == 302
    assert merchant.get("/staff/platform/sync").status_code == 403
    assert merchant.get("/staff/platform/tokens").status_code == 403

    platform.authorized_app(tenant_id)
    staff = staff_client(platform, make_user, login_as)
    lists = platform.api.count("api_get_authorizer_list")
    # A double click. With workers the first sync waits in the queue until drained, so the second click
    # meets it; embedded, the first may already have ended, and the second is then a sync of its own.
    queued = platform.app.extensions.get("redis") is not None
    for _ in range(2 if queued else 1):
        assert post_form(staff, "/staff/platform/sync", {}, token_from="/staff/platform/sync").status_code == 302
    if queued:
        assert "已经在运行" in staff.get("/staff/platform/sync").get_data(as_text=True)
    assert len(_raw(platform, "SELECT id FROM authorizer_syncs")) == 1
    drain_jobs(platform.app)
    assert platform.api.count("api_get_authorizer_list") == lists + 1
    assert _raw(platform, "SELECT state, listed, lost_count FROM authorizer_syncs") == [("done", 1, 0)]

    from portal.queueing import enqueue  # the nightly job, as the schedule enqueues it

    with platform.app.app_context():
        enqueue("portal.jobs.tokens.sync_authorizers", queue="maintenance", job_id="periodic:sync-authorizers:test")
    drain_jobs(platform.app)
    rows = _raw(platform, "SELECT origin, state FROM authorizer_syncs ORDER BY id")
    assert rows == [("staff", "done"), ("scheduled", "done")]
    assert "夜间定时" in staff.get("/staff/platform/sync").get_data(as_text=True)


def test_a_failed_sync_says_why_in_words(platform, make_user, login_as):
    staff = staff_client(platform, make_user, login_as)
    platform.api.faults(endpoint="api_get_authorizer_list", errcode=-1, count=50)
    post_form(staff, "/staff/platform/sync", {}, token_from="/staff/platform/sync")
    drain_jobs(platform.app)
    (sync_id,) = _raw(platform, "SELECT id FROM authorizer_syncs")[0]
    status = staff.get(f"/staff/platform/sync/{sync_id}").get_json()
    assert status["state"] == "failed" and "微信系统繁忙" in status["message"]
    assert "微信系统繁忙" in staff.get("/staff/platform/sync").get_data(as_text=True)


def _running_sync(platform, minutes_ago):
    """A sync whose worker last reported `minutes_ago` minutes ago."""
    from datetime import timedelta

    from portal.extensions import db
    from portal.models import AuthorizerSync
    from portal.timeutil import utcnow

    with platform.app.app_context():
        when = utcnow() - timedelta(minutes=minutes_ago)
        run = AuthorizerSync(origin="staff", state="running", active_key="authorizer-sync", step="listing",
                             created_at=when, started_at=when, heartbeat_at=when)
        db.session.add(run)
        db.session.commit()
        return run.id


def test_a_running_sync_holds_others_back_until_its_worker_is_lost(platform, make_user, login_as):
    from portal.queueing import enqueue

    staff = staff_client(platform, make_user, login_as)
    alive = _running_sync(platform, minutes_ago=1)
    post_form(staff, "/staff/platform/sync", {}, token_from="/staff/platform/sync")
    with platform.app.app_context():  # the nightly run meets it too
        enqueue("portal.jobs.tokens.sync_authorizers", queue="maintenance", job_id="periodic:sync-authorizers:t")
    drain_jobs(platform.app)
    assert _raw(platform, "SELECT id, state FROM authorizer_syncs") == [(alive, "running")]
    assert "已经在运行" in staff.get("/staff/platform/sync").get_data(as_text=True)

    _execute(platform, "UPDATE authorizer_syncs SET state = 'done', active_key = NULL")
    lost = _running_sync(platform, minutes_ago=45)
    post_form(staff, "/staff/platform/sync", {}, token_from="/staff/platform/sync")
    drain_jobs(platform.app)
    rows = _raw(platform, "SELECT id, state, active_key FROM authorizer_syncs ORDER BY id")
    assert rows[0][1:] == ("done", None)  # the one let finish above
    assert rows[1] == (lost, "failed", None) and [row[1:] for row in rows[2:]] == [("done", None)]
    assert "后台任务进程丢失" in staff.get(f"/staff/platform/sync/{lost}").get_json()["message"]


def test_permission_checks_left_over_by_one_sync_come_first_in_the_next(platform, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Noodle Shop")
    first, second = platform.authorized_app(tenant_id), platform.authorized_app(tenant_id)
    for appid in (first, second):
        _lose_next_push(platform, "updateauthorized", appid)
        platform.api.authorize(appid, func_info=[17, 18])
    staff = staff_client(platform, make_user, login_as)
    platform.app.config["AUTHORIZER_SYNC_CHECK_SECONDS"] = 0  # no time for a single check
    post_form(staff, "/staff/platform/sync", {}, token_from="/staff/platform/sync")
    drain_jobs(platform.app)
    assert _raw(platform, "SELECT state, changed_count, unchecked_count FROM authorizer_syncs") == [("done", 0, 2)]
    assert "本次未核对" in staff.get("/staff/platform/sync").get_data(as_text=True)
    assert _raw(platform, "SELECT permissions_checked_at FROM wxminiprograms") == [(None,), (None,)]

    _execute(platform, "UPDATE wxminiprograms SET permissions_checked_at = :t WHERE authorizer_appid = :a",
             t="2026-01-01 00:00:00", a=first)  # checked long ago, but checked: the never-checked one goes first
    platform.app.config["AUTHORIZER_SYNC_CHECK_SECONDS"] = 600
    post_form(staff, "/staff/platform/sync", {}, token_from="/staff/platform/sync")
    drain_jobs(platform.app)
    found = _raw(platform, "SELECT authorizer_appid FROM authorizer_sync_findings WHERE kind = 'permissions' "
                           "AND sync_id = (SELECT MAX(id) FROM authorizer_syncs) ORDER BY id")
    assert found == [(second,), (first,)]  # checked in this order: the one never checked first (by row, as
    # MariaDB keeps the check times in whole seconds)
    html = staff.get("/staff/platform/sync").get_data(as_text=True)
    assert first in _section(html, "found-permissions") and second in _section(html, "found-permissions")
