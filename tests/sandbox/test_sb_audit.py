"""Audits decide themselves (rules, delays, pushes) and drive the dev → audit → approved → released states."""

from datetime import datetime, timedelta, timezone

from tests.sandbox.helpers import PRIVACY, add_template, commit, committed_and_scanned, submit

GET = "GET"


def latest(api, access):
    return api.call("/wxa/get_latest_auditstatus", method=GET, access_token=access)


def test_submit_audit_preconditions(api, platform, mp):
    _, access = mp
    assert submit(api, access)["errcode"] == 85086
    tid = add_template(api, platform, privacy_keys=["UserInfo"])
    commit(api, access, tid)
    assert submit(api, access)["errcode"] == 61039
    api.advance(31)
    first = submit(api, access)
    assert first["errcode"] == 0 and first["auditid"] > 0
    assert submit(api, access)["errcode"] == 85009


def test_location_api_missing_from_required_private_infos_is_61040(api, platform):
    """Commit doc: code using a location API that ext_json requiredPrivateInfos does not declare -> 61040,
    even when the mini-program has the permission."""
    _, info = platform.authorized_miniprogram(location_permissions=["wx.getLocation"])
    access = info["authorizer_access_token"]
    tid = add_template(api, platform, location_apis=["getLocation"])
    commit(api, access, tid)
    api.advance(31)
    refused = submit(api, access)
    assert refused["errcode"] == 61040 and "wx.getLocation" in refused["errmsg"]
    commit(api, access, tid, ext={"requiredPrivateInfos": ["getLocation"]})
    api.advance(31)
    assert submit(api, access)["errcode"] == 0


def test_location_api_without_permission(api, platform, mp):
    """Commit doc: a location API the app has no permission for -> 61040; privacy_api_not_use declares the
    undeclared ones unused. One declared in ext.json without permission stays 61040 (getCodePrivacyInfo's
    61040 text: "ext.json配置的隐私接口xxx无权限,请申请权限后再提交审核")."""
    _, access = mp
    tid = add_template(api, platform, location_apis=["getLocation"])
    commit(api, access, tid, ext={"requiredPrivateInfos": ["getLocation"]})
    api.advance(31)
    for flag in (False, True):
        refused = submit(api, access, privacy_api_not_use=flag)
        assert refused["errcode"] == 61040 and "无权限" in refused["errmsg"]
    commit(api, access, tid)
    api.advance(31)
    assert submit(api, access)["errcode"] == 61040
    assert submit(api, access, privacy_api_not_use=True)["errcode"] == 0


def test_incomplete_guideline_is_rejected_by_the_reviewers(api, platform, mp, receiver):
    """An undeclared guideline key is no 61040 (nor does privacy_api_not_use change it): the audit is
    rejected with a reason naming the key (配置小程序用户隐私保护指引: 用户隐私保护指引和代码实际里收集的
    用户信息不匹配 ... 则无法通过代码版本审核)."""
    _, access = mp
    committed_and_scanned(api, platform, access, privacy_keys=["UserInfo", "Album"])
    assert api.call("/cgi-bin/component/setprivacysetting", PRIVACY, access_token=access)["errcode"] == 0
    first = submit(api, access, privacy_api_not_use=True)
    assert first["errcode"] == 0
    api.advance(61)
    push = receiver.wait_for("weapp_audit_fail")[0]
    assert "Album" in push["Reason"] and "隐私保护指引" in push["Reason"] and "UserInfo" not in push["Reason"]
    assert latest(api, access)["status"] == 1
    setting = {**PRIVACY, "setting_list": PRIVACY["setting_list"] + [{"privacy_key": "Album", "privacy_text": "头像"}]}
    assert api.call("/cgi-bin/component/setprivacysetting", setting, access_token=access)["errcode"] == 0
    assert submit(api, access)["errcode"] == 0
    api.advance(61)
    assert latest(api, access)["status"] == 0


def test_default_rule_approves_after_delay_and_pushes(api, platform, mp, receiver):
    appid, access = mp
    committed_and_scanned(api, platform, access)
    auditid = submit(api, access)["auditid"]
    status = api.call("/wxa/get_auditstatus", {"auditid": auditid}, access_token=access)
    assert status["status"] == 2
    assert api.call("/wxa/get_auditstatus", {"auditid": 1}, access_token=access)["errcode"] == 85012
    api.advance(61)
    push = receiver.wait_for("weapp_audit_success")[0]
    assert push["MsgType"] == "event" and push["ToUserName"].startswith("gh_") and int(push["SuccTime"]) > 0
    raw = [r for r in receiver.requests if r["xml"] and r["xml"].get("Event") == "weapp_audit_success"][0]
    assert raw["path"] == f"/wechat/msg/{appid}"
    assert "openid" in raw["query"] and raw["body"].startswith("<xml><ToUserName>")
    assert latest(api, access)["status"] == 0


def test_reject_rule_reason_and_screenshot_cases(api, platform, mp, receiver):
    appid, access = mp
    api.call("/sandbox/audits/decide", {"appid": appid, "rule": {"outcome": "reject", "delay": 10}})
    committed_and_scanned(api, platform, access)
    auditid = submit(api, access)["auditid"]
    api.advance(11)
    push = receiver.wait_for("weapp_audit_fail")[0]
    assert "<br>" in push["Reason"] and "小程序" in push["Reason"]
    assert push["ScreenShot"] and int(push["FailTime"]) > 0
    by_id = api.call("/wxa/get_auditstatus", {"auditid": auditid}, access_token=access)
    assert by_id["status"] == 1 and by_id["screenshot"] == push["ScreenShot"] and "ScreenShot" not in by_id
    newest = latest(api, access)
    assert newest["ScreenShot"] == push["ScreenShot"] and "screenshot" not in newest
    assert newest["auditid"] == auditid and newest["user_version"] == "1.0.0"
    assert api.call("/wxa/release", {}, access_token=access)["errcode"] == 85019


def test_delay_then_fail(api, platform, mp, receiver):
    appid, access = mp
    api.call("/sandbox/audits/decide", {"appid": appid, "rule": {"outcome": "delay", "delay": 5,
                                                                  "then": "reject", "then_delay": 100}})
    committed_and_scanned(api, platform, access)
    submit(api, access)
    api.advance(6)
    delay = receiver.wait_for("weapp_audit_delay")[0]
    assert delay["Reason"] and int(delay["DelayTime"]) > 0
    assert latest(api, access)["status"] == 4
    assert submit(api, access)["errcode"] == 85009
    api.advance(101)
    receiver.wait_for("weapp_audit_fail")
    assert latest(api, access)["status"] == 1


def test_decide_now_through_control_api(api, platform, mp, receiver):
    appid, access = mp
    committed_and_scanned(api, platform, access)
    auditid = submit(api, access)["auditid"]
    reason = "页面存在问题<br>请修改"
    decided = api.call("/sandbox/audits/decide", {"auditid": auditid, "outcome": "reject", "reason": reason,
                                                  "screenshot": "m1|m2", "wait": True})
    assert decided["audit"]["status"] == 1
    push = receiver.events("weapp_audit_fail")[0]
    assert push["Reason"] == reason and push["ScreenShot"] == "m1|m2"
    resp = api.post("/sandbox/audits/decide", {"appid": appid, "outcome": "approve"})
    assert resp.status_code == 400  # nothing in review any more
    api.advance(1000)
    assert len(receiver.events("weapp_audit_success")) == 0


def test_undo_limits(api, platform, mp):
    _, access = mp
    committed_and_scanned(api, platform, access)
    assert api.call("/wxa/undocodeaudit", method=GET, access_token=access)["errcode"] == 0  # nothing in review
    for _ in range(5):
        assert submit(api, access)["errcode"] == 0
        assert api.call("/wxa/undocodeaudit", method=GET, access_token=access)["errcode"] == 0
        assert latest(api, access)["status"] == 3
    submit(api, access)
    assert api.call("/wxa/undocodeaudit", method=GET, access_token=access)["errcode"] == 87013


BEIJING = timezone(timedelta(hours=8))


def advance_to(api, moment):
    """Move the sandbox clock forward to `moment` (an aware datetime)."""
    api.advance(moment.timestamp() - api.call("/sandbox/clock", method=GET)["now"])


def fresh_access(api, platform, appid, info):
    """An authorizer token after a long jump of the clock (tickets and tokens have expired meanwhile)."""
    platform.ticket = api.call("/sandbox/push-ticket", {"component_appid": platform.appid})["ticket"]
    data = api.call("/cgi-bin/component/api_authorizer_token", {
        "component_appid": platform.appid, "authorizer_appid": appid,
        "authorizer_refresh_token": info["authorizer_refresh_token"]}, component_access_token=platform.component_token())
    info["authorizer_refresh_token"] = data["authorizer_refresh_token"]
    return data["authorizer_access_token"]


def submit_and_undo(api, access):
    assert submit(api, access)["errcode"] == 0
    return api.call("/wxa/undocodeaudit", method=GET, access_token=access)["errcode"]


def test_undo_limit_is_per_beijing_calendar_day(api, platform):
    """"单个账号每天审核撤回次数最多不超过 5 次（每天的额度从0点开始生效）": not the last 24 hours."""
    appid, info = platform.authorized_miniprogram()
    now = datetime.fromtimestamp(api.call("/sandbox/clock", method=GET)["now"], BEIJING)
    advance_to(api, (now + timedelta(days=1)).replace(hour=23, minute=0, second=0, microsecond=0))
    access = fresh_access(api, platform, appid, info)
    committed_and_scanned(api, platform, access)
    assert [submit_and_undo(api, access) for _ in range(5)] == [0] * 5
    assert submit_and_undo(api, access) == 87013
    api.advance(2 * 3600)  # 01:00 the next day in Beijing: the five are within 24 h, but yesterday's
    access = fresh_access(api, platform, appid, info)
    assert submit_and_undo(api, access) == 0


def test_undo_limit_is_per_beijing_calendar_month(api, platform):
    """"一个月不超过 10 次": ten spent late in a calendar month are all back on the 1st, not 30 days later."""
    appid, info = platform.authorized_miniprogram()
    now = datetime.fromtimestamp(api.call("/sandbox/clock", method=GET)["now"], BEIJING)
    first = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=30, second=0, microsecond=0)
    if first - timedelta(days=3) + timedelta(hours=10) <= now:  # that moment has passed: the month after
        first = (first + timedelta(days=32)).replace(day=1)
    advance_to(api, first - timedelta(days=3) + timedelta(hours=10))  # 10:30 three days before the 1st
    access = fresh_access(api, platform, appid, info)
    committed_and_scanned(api, platform, access)
    assert [submit_and_undo(api, access) for _ in range(5)] == [0] * 5
    api.advance(86400)
    access = fresh_access(api, platform, appid, info)
    assert [submit_and_undo(api, access) for _ in range(5)] == [0] * 5
    api.advance(86400)  # a new day, but the month's ten are spent
    access = fresh_access(api, platform, appid, info)
    assert submit_and_undo(api, access) == 87013
    advance_to(api, first)  # 00:30 on the 1st: the ten are two days old, but last month's
    access = fresh_access(api, platform, appid, info)
    assert submit_and_undo(api, access) == 0


def test_submit_quota_and_speedup(make_platform, api):
    platform = make_platform(submit_quota=1, speedup_quota=1)
    _, info = platform.authorized_miniprogram()
    access = info["authorizer_access_token"]
    quota = api.call("/wxa/queryquota", method=GET, access_token=access)
    assert (quota["rest"], quota["limit"], quota["speedup_rest"], quota["speedup_limit"]) == (1, 1, 1, 1)
    committed_and_scanned(api, platform, access)
    auditid = submit(api, access)["auditid"]
    assert api.call("/wxa/speedupaudit", {"auditid": 123}, access_token=access)["errcode"] == 89402
    assert api.call("/wxa/speedupaudit", {"auditid": auditid}, access_token=access)["errcode"] == 0
    assert api.call("/wxa/speedupaudit", {"auditid": auditid}, access_token=access)["errcode"] == 89404
    api.advance(31)  # speed-up halved the remaining 60 s
    assert latest(api, access)["status"] == 0
    assert api.call("/wxa/queryquota", method=GET, access_token=access)["rest"] == 0
    assert submit(api, access)["errcode"] == 85085


def approved_release(api, platform, access, version="1.0.0"):
    tid = add_template(api, platform)
    assert commit(api, access, tid, version=version)["errcode"] == 0
    api.advance(31)
    submit(api, access)
    api.advance(61)
    assert latest(api, access)["status"] == 0
    return tid


def test_release_state_machine(api, platform, mp):
    _, access = mp
    assert api.call("/wxa/release", {}, access_token=access)["errcode"] == 85019
    approved_release(api, platform, access)
    resp = api.session.post(api.base + "/wxa/release", params={"access_token": access})
    assert resp.json()["errcode"] == 44002  # the doc: no data "会报错【errcode: 44002 "errmsg": "empty post data"】"
    assert api.call("/wxa/release", {}, access_token=access)["errcode"] == 0
    assert api.call("/wxa/release", {}, access_token=access)["errcode"] == 85052
    info = api.call("/wxa/getversioninfo", {}, access_token=access)
    assert info["release_info"]["release_version"] == "1.0.0" and info["exp_info"]["exp_version"] == "1.0.0"
    # approved but a newer commit followed: 85020
    tid = approved_release(api, platform, access, "1.1.0")
    commit(api, access, tid, version="1.2.0")
    assert api.call("/wxa/release", {}, access_token=access)["errcode"] == 85020


def test_revert_and_history(api, platform, mp):
    _, access = mp
    assert api.call("/wxa/revertcoderelease", method=GET, access_token=access)["errcode"] == 87012
    for version in ("1.0.0", "2.0.0"):
        approved_release(api, platform, access, version)
        assert api.call("/wxa/release", {}, access_token=access)["errcode"] == 0
    history = api.call("/wxa/revertcoderelease", method=GET, access_token=access, action="get_history_version")
    assert [v["user_version"] for v in history["version_list"]] == ["2.0.0", "1.0.0"]
    assert api.call("/wxa/revertcoderelease", method=GET, access_token=access)["errcode"] == 0
    info = api.call("/wxa/getversioninfo", {}, access_token=access)
    assert info["release_info"]["release_version"] == "1.0.0"
    assert api.call("/wxa/revertcoderelease", method=GET, access_token=access)["errcode"] == 87012


def test_gray_release(api, platform, mp):
    _, access = mp
    plan = api.call("/wxa/getgrayreleaseplan", method=GET, access_token=access)["gray_release_plan"]
    assert plan["status"] == 0
    approved_release(api, platform, access)
    assert api.call("/wxa/grayrelease", {"gray_percentage": 0}, access_token=access)["errcode"] == 85081
    assert api.call("/wxa/grayrelease", {"gray_percentage": 10}, access_token=access)["errcode"] == 0
    plan = api.call("/wxa/getgrayreleaseplan", method=GET, access_token=access)["gray_release_plan"]
    assert plan["status"] == 1 and plan["gray_percentage"] == 10
    assert api.call("/wxa/revertgrayrelease", method=GET, access_token=access)["errcode"] == 0
    plan = api.call("/wxa/getgrayreleaseplan", method=GET, access_token=access)["gray_release_plan"]
    assert plan["status"] == 4
    assert api.call("/wxa/revertgrayrelease", method=GET, access_token=access)["errcode"] == 85020


def test_visit_status_follows_the_doc_enum(api, mp):
    """getvisitstatus: "0表示已暂停服务 ... 1表示未暂停服务"; a new account serves visitors."""
    _, access = mp
    assert api.call("/wxa/getvisitstatus", {}, access_token=access)["status"] == 1
    assert api.call("/wxa/change_visitstatus", {"action": "bogus"}, access_token=access)["errcode"] == 40097
    assert api.call("/wxa/change_visitstatus", {}, access_token=access)["errcode"] == 47001  # action 必填
    assert api.call("/wxa/change_visitstatus", {"action": "close"}, access_token=access)["errcode"] == 0
    assert api.call("/wxa/getvisitstatus", {}, access_token=access)["status"] == 0
    api.call("/wxa/change_visitstatus", {"action": "open"}, access_token=access)
    assert api.call("/wxa/getvisitstatus", {}, access_token=access)["status"] == 1


def test_getvisitstatus_without_a_body_is_44002(api, mp):
    """The doc: "要传空的json，不传会报错44002"."""
    _, access = mp
    bare = api.session.post(api.base + "/wxa/getvisitstatus", params={"access_token": access}, timeout=10)
    assert bare.json()["errcode"] == 44002
    assert api.call("/wxa/getvisitstatus", {}, access_token=access)["errcode"] == 0


def test_submit_quota_is_per_beijing_calendar_month(make_platform, api):
    """queryquota: "当月分配quota": the month's quota comes back at 00:00 on the 1st in Beijing, which is 16:00
    UTC on the last day of the month before."""
    platform = make_platform(submit_quota=1)
    appid, info = platform.authorized_miniprogram()
    now = datetime.fromtimestamp(api.call("/sandbox/clock", method=GET)["now"], BEIJING)
    first = (now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if first - timedelta(hours=2) <= now:  # past 22:00 on the month's last day already: the month after
        first = (first + timedelta(days=32)).replace(day=1)
    advance_to(api, first - timedelta(hours=2))  # 22:00 Beijing on the last day of the month
    access = fresh_access(api, platform, appid, info)
    committed_and_scanned(api, platform, access)
    assert submit(api, access)["errcode"] == 0
    assert api.call("/sandbox/audits/decide", {"appid": appid, "outcome": "reject"})["audit"]["status"] == 1
    assert submit(api, access)["errcode"] == 85085
    advance_to(api, first + timedelta(minutes=30))  # 16:30 UTC: still the old month in UTC, a new one in Beijing
    access = fresh_access(api, platform, appid, info)
    assert api.call("/wxa/queryquota", method=GET, access_token=access)["rest"] == 1
    assert submit(api, access)["errcode"] == 0
