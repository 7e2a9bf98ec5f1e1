"""The rest of code management through the pages: withdraw, speed up, quota, roll back with history, gray
release, visit status, privacy; staff acting on behalf; the staff list and the WeChat call log."""

from datetime import UTC, datetime, timedelta, timezone

from portal.extensions import db
from portal.models import Activity
from tests.conftest import post_form
from tests.releases.test_pipeline import _html, _settings, audits, last_run, submit, upload


def approved(env, version="1.0.0"):
    upload(env, version)
    env.api.advance(31)
    submit(env)
    env.api.advance(61)
    env.api.pushes(appid=env.appid)
    assert audits(env)[-1].status == 0


def released(env, version):
    approved(env, version)
    env.post("release")
    env.drain()
    assert last_run(env).state == "done", last_run(env).message


def test_undo_speedup_and_quota(code_env):
    env = code_env
    upload(env)
    env.api.advance(31)
    submit(env)
    page = _html(env.get("audit"))
    assert "本月剩余提审次数" in page and "今天 5 次" in page
    speed = env.post("audit/speedup", follow_redirects=True)
    assert "加急" in _html(speed) and env.api.count("speedupaudit", env.appid, errcode=0) == 1
    undo = env.post("audit/undo", follow_redirects=True)
    assert audits(env)[0].status == 3 and "今天 4 次" in _html(undo)
    again = env.post("audit/undo", follow_redirects=True)
    assert "没有进行中的审核" in _html(again)
    assert env.api.count("undocodeaudit", env.appid) == 1


def test_undo_limits_count_the_beijing_calendar_day_and_month(code_env):
    """undocodeaudit: "每天的额度从0点开始生效，一个月不超过 10 次": a withdrawal a second before Beijing midnight
    is yesterday's, one a second before the 1st is last month's, however recent."""
    env = code_env
    beijing = timezone(timedelta(hours=8))

    def utc(moment):
        return moment.astimezone(UTC).replace(tzinfo=None)

    while True:
        now = datetime.now(beijing)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        month = today.replace(day=1)
        with env.app.app_context():
            db.session.query(Activity).filter_by(action="audit.undo").delete()
            db.session.add_all(Activity(miniprogram_id=env.mp_id, tenant_id=env.tenant_id, action="audit.undo",
                                        created_at=utc(moment - timedelta(seconds=1))) for moment in (month, today))
            db.session.commit()
        page = _html(env.get("audit"))
        if datetime.now(beijing).date() == now.date():  # else Beijing midnight passed meanwhile: again
            break
    month_left = 9 if today > month else 10  # yesterday is this month's unless today is the 1st
    assert f"今天 5 次，本月 {month_left} 次" in page


def test_revert_to_previous_release_with_history(code_env):
    env = code_env
    released(env, "1.0.0")
    released(env, "1.1.0")
    page = _html(env.get("release"))
    assert "1.0.0" in page and "1.1.0" in page
    done = env.post("release/revert", {"app_version": ""}, follow_redirects=True)
    assert "已回退" in _html(done)
    live = env.api.call(f"/sandbox/miniprograms/{env.appid}", method="GET")["miniprogram"]["release"]
    assert live["user_version"] == "1.0.0" and live["is_reverted"]
    bad = env.post("release/revert", {"app_version": "abc"})
    assert bad.status_code == 400


def test_gray_release_plan_and_revert(code_env):
    env = code_env
    approved(env)
    assert env.post("release/gray", {"percentage": "150"}).status_code == 400
    page = env.post("release/gray", {"percentage": "20", "experiencer_first": "y"}, follow_redirects=True)
    assert "20%" in _html(page)
    page = env.post("release/gray/revert", follow_redirects=True)
    assert "分阶段发布已取消" in _html(page)
    assert env.api.count("grayrelease", env.appid, errcode=0) == 1
    assert env.api.count("revertgrayrelease", env.appid, errcode=0) == 1


def test_visit_status_close_and_open(code_env):
    env = code_env
    released(env, "1.0.0")
    page = env.post("release/visit", {"action": "close"}, follow_redirects=True)
    assert "暂停访问" in _html(page)
    page = env.post("release/visit", {"action": "open"}, follow_redirects=True)
    assert "正常开放访问" in _html(page)
    assert env.api.count("change_visitstatus", env.appid, errcode=0) == 2


def test_privacy_guideline_applied_and_missing_keys_explained(code_env):
    env = code_env
    env.template_id = env.template(privacy_keys=["UserInfo", "Location"])
    _settings(env, privacy_texts="UserInfo=展示头像")
    upload(env)
    page = _html(env.get("privacy"))
    assert "微信仍在检测" in page
    env.api.advance(31)
    page = _html(env.get("privacy"))
    assert "Location" in page and 'id="privacy-missing"' in page
    env.post("privacy/apply")
    assert env.api.count("setprivacysetting", env.appid, errcode=0) == 1
    submit(env)
    run = last_run(env)
    assert run.state == "failed" and "Location" in run.message and audits(env) == []
    _settings(env, privacy_texts="UserInfo=展示头像\nLocation=展示附近门店")
    submit(env)
    assert last_run(env).state == "done" and len(audits(env)) == 1


def test_staff_acts_on_behalf_and_sees_every_app(code_env, make_user, login_as):
    env = code_env
    make_user(role="staff", email="ops@example.com")
    staff = env.app.test_client()
    login_as("ops@example.com", test_client=staff)
    listing = _html(staff.get("/staff/code/?sort=name&dir=asc"))
    assert env.appid in listing and "Noodle Shop" in listing
    filtered = _html(staff.get("/staff/code/?audit=0"))
    assert env.appid not in filtered
    released(env, "1.0.0")
    assert env.appid in _html(staff.get(f"/staff/code/?released=1.0.0&template={env.template_id}&audit=0"))
    assert env.appid not in _html(staff.get("/staff/code/?released=9.9.9"))
    response = post_form(staff, env.url("testers/bind"), {"wechatid": "staff_helper"}, token_from="/staff/code/")
    assert response.status_code == 302
    with env.app.app_context():
        row = db.session.query(Activity).filter_by(action="testers.bind").one()
        assert row.on_behalf and row.actor.email == "ops@example.com"
    settings = _html(staff.get(f"/staff/code/tenants/{env.tenant_id}/settings"))
    assert "ext.json" in settings
    calls = _html(staff.get(f"/staff/code/calls?appid={env.appid}&api=bind_tester"))
    assert "bind_tester" in calls and "access_token" not in calls
    errors = _html(staff.get("/staff/code/calls?errors=1"))
    assert "bind_tester" not in errors
    # merchants may not see staff pages
    assert env.client.get("/staff/code/calls").status_code == 403


def test_single_upload_uses_the_apps_own_parameters_over_the_tenants(platform, make_tenant):
    """Staff may give one mini-program its own ext values (its Parameters tab); a single upload sends
    the same merged values a fleet release would."""
    from portal.models import MiniProgram
    from portal.services import tenant_settings
    from portal.services.code import app_params
    from portal.services.code.commit import build_ext_json

    tenant_id = make_tenant("Params Co")
    appid = platform.authorized_app(tenant_id)
    with platform.app.app_context():
        mp = MiniProgram.query.filter_by(authorizer_appid=appid).one()
        tenant_settings.save_settings(tenant_id, None, ext_params={"shop": "tenant-shop", "color": "red"})
        app_params.save_overrides(mp, None, {"ext_params": "color=blue"})
        assert build_ext_json(mp)["ext"] == {"shop": "tenant-shop", "color": "blue"}
