"""Accounts WeChat lists as authorized (api_get_authorizer_list) that the portal lacks, because their push
and their administrator's return were both lost: the daily sync, scheduled with the other periodic jobs,
finds them; staff assign each to a tenant through the same binding as an authorization."""

import sqlalchemy as sa

from tests.conftest import drain_jobs, post_form


def _authorized_unseen(platform, **fields):
    """An account authorized on WeChat whose `authorized` push was dropped (and nobody came back)."""
    appid = platform.api.create_miniprogram(**fields)
    platform.api.faults(drop_pushes=True, push_type="authorized", appid=appid, count=1)
    platform.api.authorize(appid)
    return appid


def _scheduled_sync(platform):
    """Run the periodic job as the workers' schedule (and the in-process runner) would."""
    from portal.queueing import enqueue
    from portal.queueing.schedule import PERIODIC

    name, job, interval, queue, _offset = next(p for p in PERIODIC if p.name == "sync-authorizers")
    assert interval == 86400
    with platform.app.app_context():
        enqueue(job, queue=queue, job_id=f"periodic:{name}:test")
    drain_jobs(platform.app)


def _raw(platform, sql, **params):
    from portal.extensions import db

    with platform.app.app_context():
        return db.session.execute(sa.text(sql), params).first()


def _staff(platform, make_user, login_as):
    make_user(role="staff", email="ops@example.com")
    client = platform.client()
    assert login_as("ops@example.com", test_client=client).status_code == 302
    return client


def test_the_daily_sync_finds_unseen_accounts_and_staff_assign_them(platform, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Noodle Shop")
    known = platform.authorized_app(tenant_id, nick_name="已在平台")
    lost = _authorized_unseen(platform, nick_name="失联小程序", principal_name="杭州面馆有限公司")
    staff = _staff(platform, make_user, login_as)
    assert "失联小程序" not in staff.get("/staff/platform/unclaimed").get_data(as_text=True)

    _scheduled_sync(platform)
    page = staff.get("/staff/platform/unclaimed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and lost in html and "失联小程序" in html and "杭州面馆有限公司" in html
    assert known not in html
    row_id, token = _raw(platform, "SELECT id, refresh_token FROM unclaimed_authorizers WHERE authorizer_appid = :a",
                         a=lost)
    assert token.startswith("enc2:")  # stored encrypted, like the mini-programs' tokens
    assign = f"/staff/platform/unclaimed/{row_id}/assign"
    assert staff.post(assign, data={"tenant_id": tenant_id}).status_code == 400  # no CSRF token
    assert _raw(platform, "SELECT id FROM wxminiprograms WHERE authorizer_appid = :a", a=lost) is None

    refreshes = platform.api.count("api_authorizer_token", errcode=0)
    done = post_form(staff, assign, {"tenant_id": tenant_id}, token_from=assign)
    assert done.status_code == 302 and done.location.endswith("/staff/platform/unclaimed")
    tenant, state, refresh = _raw(platform, "SELECT tenant_id, auth_state, authorizer_refresh_token FROM wxminiprograms "
                                            "WHERE authorizer_appid = :a", a=lost)
    assert (tenant, state) == (tenant_id, "authorized") and refresh.startswith("enc2:")
    assert platform.api.count("api_authorizer_token", errcode=0) == refreshes + 1
    assert lost not in staff.get("/staff/platform/unclaimed").get_data(as_text=True)
    assert _raw(platform, "SELECT COUNT(*) FROM activity_log WHERE action = 'authorization.granted'")[0] == 2
    with platform.app.app_context():  # the stored tokens work
        from portal.services.wechat import get_client

        assert get_client().miniprogram(lost).code.get_category() is not None


def test_the_sync_keeps_a_record_of_each_call_it_makes_while_it_writes(platform, make_tenant):
    """The sync describes an unseen account (api_get_authorizer_info) with its own rows written and not yet
    committed; the call's record still reaches the call log, and nothing waits on the database meanwhile (on
    SQLite, a second connection's write would wait for this thread's own commit)."""
    platform.authorized_app(make_tenant("Noodle Shop"), nick_name="已在平台")
    lost = _authorized_unseen(platform, nick_name="失联小程序")
    _scheduled_sync(platform)
    described = _raw(platform, "SELECT COUNT(*) FROM wechat_calls WHERE api = 'api_get_authorizer_info' "
                               "AND appid = :a AND errcode = 0", a=lost)[0]
    assert described == 1
    assert _raw(platform, "SELECT nick_name FROM unclaimed_authorizers WHERE authorizer_appid = :a",
                a=lost)[0] == "失联小程序"


def test_only_staff_see_them_and_an_official_account_is_assigned_as_one(platform, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Noodle Shop")
    make_user(tenant_id=tenant_id, email="owner@example.com")
    merchant = platform.client()
    assert login_as("owner@example.com", test_client=merchant).status_code == 302
    account = _authorized_unseen(platform, nick_name="某公众号", account_type="official_account")
    _scheduled_sync(platform)
    assert merchant.get("/staff/platform/unclaimed").status_code == 403
    staff = _staff(platform, make_user, login_as)
    assert "公众号" in staff.get("/staff/platform/unclaimed").get_data(as_text=True)
    row_id = _raw(platform, "SELECT id FROM unclaimed_authorizers WHERE authorizer_appid = :a", a=account)[0]
    assign = f"/staff/platform/unclaimed/{row_id}/assign"
    assert merchant.get(assign).status_code == 403
    assigned = post_form(staff, assign, {"tenant_id": tenant_id}, token_from=assign)
    assert assigned.status_code == 302
    assert _raw(platform, "SELECT id FROM wxminiprograms WHERE authorizer_appid = :a", a=account) is None
    assert _raw(platform, "SELECT tenant_id, auth_state FROM wxuser WHERE appid = :a", a=account) == \
        (tenant_id, "authorized")
    assert _raw(platform, "SELECT id FROM unclaimed_authorizers WHERE authorizer_appid = :a", a=account) is None
    assert "某公众号" in merchant.get("/dashboard").get_data(as_text=True)
    assert staff.get("/staff/platform/unclaimed/999999/assign").status_code == 404


def test_the_sync_runs_at_night_in_beijing():
    """Once a day, in a slot that begins at 03:00 Beijing time (19:00 UTC), not at 08:00 (00:00 UTC)."""
    from datetime import UTC, datetime

    from portal.queueing.schedule import PERIODIC

    job = next(p for p in PERIODIC if p.name == "sync-authorizers")

    def at(hour, minute, day=6):
        return datetime(2026, 12, day, hour, minute, tzinfo=UTC).timestamp()

    assert job.slot(at(18, 59)) + 1 == job.slot(at(19, 0)) == job.slot(at(23, 59)) == job.slot(at(18, 59, day=7))
    assert job.slot(at(0, 1)) == job.slot(at(23, 59, day=5))
