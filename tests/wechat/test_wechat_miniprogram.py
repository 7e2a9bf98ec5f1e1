"""Mini-program (authorizer-token) API families over real HTTP: paths, methods and exact bodies."""

from __future__ import annotations

import json

import pytest

from portal.wechat.errors import ReviewError
from portal.wechat.miniprogram import AuditState

MP = "wxa1b2c3d4e5f60708"


@pytest.fixture
def mp(client):
    return client.miniprogram(MP)


def only(server):
    (seen,) = server.seen()
    assert seen.args["access_token"] == f"authorizer-{MP}-secret-token-1"
    return seen


def test_modify_domain_bodies(server, mp):
    mp.domains.modify_domain("set", requestdomain=["https://a.example.com"], uploaddomain=[])
    assert only(server).json() == {"action": "set", "requestdomain": ["https://a.example.com"], "uploaddomain": []}
    server.requests.clear()
    mp.domains.modify_domain("get", requestdomain=["ignored"])
    assert only(server).json() == {"action": "get"}
    with pytest.raises(ValueError):
        mp.domains.modify_domain("replace")


def test_direct_and_effective_domains(server, mp):
    mp.domains.modify_domain_directly("add", tcpdomain=["tcp.example.com"], udpdomain=["udp.example.com"])
    mp.domains.get_effective_domain()
    mp.domains.set_webview_domain("add", ["https://h5.example.com"])
    mp.domains.set_webview_domain_directly("get")
    paths = [(s.method, s.path) for s in server.seen()]
    assert paths == [("POST", "/wxa/modify_domain_directly"), ("POST", "/wxa/get_effective_domain"),
                     ("POST", "/wxa/setwebviewdomain"), ("POST", "/wxa/setwebviewdomain_directly")]
    assert server.seen()[2].json() == {"action": "add", "webviewdomain": ["https://h5.example.com"]}
    assert server.seen()[3].json() == {"action": "get"}


def test_testers(server, mp):
    server.on("/wxa/bind_tester", {"errcode": 0, "userstr": "u-1"})
    server.on("/wxa/memberauth", {"errcode": 0, "members": [{"userstr": "u-1"}, {"userstr": "u-2"}]})
    assert mp.testers.bind_tester("tester_wx") == "u-1"
    mp.testers.unbind_tester(userstr="u-1")
    mp.testers.unbind_tester(wechatid="tester_wx")
    assert mp.testers.list_testers() == ["u-1", "u-2"]
    bodies = [s.json() for s in server.seen()]
    assert bodies == [{"wechatid": "tester_wx"}, {"userstr": "u-1"}, {"wechatid": "tester_wx"},
                      {"action": "get_experiencer"}]
    with pytest.raises(ValueError):
        mp.testers.unbind_tester(wechatid="a", userstr="b")


def test_commit_types(server, mp):
    mp.code.commit(7, '{"extAppid": "wxa1b2c3d4e5f60708"}', "1.2.3")
    body = only(server).json()
    assert body["template_id"] == 7 and body["ext_json"] == '{"extAppid": "wxa1b2c3d4e5f60708"}'
    for bad_template in ("abc", True):
        with pytest.raises((ValueError, TypeError)):
            mp.code.commit(bad_template, {}, "1.0")
    for bad_ext in ("not json", "[1]", 5):
        with pytest.raises((ValueError, TypeError)):
            mp.code.commit(1, bad_ext, "1.0")
    with pytest.raises(ValueError):
        mp.code.commit(1, {}, "v" * 65)


def test_code_queries(server, mp):
    server.on("/wxa/get_category", {"category_list": [{"first_class": "工具", "first_id": 1}]})
    server.on("/wxa/security/get_code_privacy_info", {"errcode": 61039, "errmsg": "scan not finished"},
              {"without_auth_list": ["getLocation"], "without_conf_list": []})
    server.on("/wxa/uploadmedia", {"mediaid": "m-1"})
    assert mp.code.get_category()[0]["first_class"] == "工具"
    with pytest.raises(ReviewError) as info:
        mp.code.get_code_privacy_info()
    assert info.value.errcode == 61039
    privacy = mp.code.get_code_privacy_info()
    assert privacy.without_auth_list == ("getLocation",) and not privacy.is_clean
    mp.code.get_version_info()
    assert mp.code.upload_media("shot.png", b"\x89PNG...", "image/png") == "m-1"
    upload = server.seen("/wxa/uploadmedia")[0]
    assert upload.headers["Content-Type"].startswith("multipart/form-data") and b"shot.png" in upload.body
    assert server.seen("/wxa/getversioninfo")[0].json() == {}


def test_submit_audit_body(server, mp):
    server.on("/wxa/submit_audit", {"errcode": 0, "auditid": 1234567})
    auditid = mp.audit.submit_audit(
        item_list=[{"address": "pages/index/index", "tag": "工具 效率", "first_class": "工具", "first_id": 1}],
        version_desc="测试账号: demo / 密码: demo", feedback_stuff=["m1", "m2"],
        ugc_declare={"scene": [0], "method": [], "has_audit_team": 0}, privacy_api_not_use=True,
    )
    assert auditid == 1234567
    body = only(server).json()
    assert body == {
        "item_list": [{"address": "pages/index/index", "tag": "工具 效率", "first_class": "工具", "first_id": 1}],
        "version_desc": "测试账号: demo / 密码: demo", "feedback_stuff": "m1|m2",
        "ugc_declare": {"scene": [0], "method": [], "has_audit_team": 0}, "privacy_api_not_use": True,
    }
    with pytest.raises(ValueError):
        mp.audit.submit_audit(item_list=[{}] * 6)


def test_audit_status_normalises_screenshot_spelling(server, mp):
    server.on("/wxa/get_latest_auditstatus", {"errcode": 0, "auditid": 9, "status": 1, "reason": "内容不全",
                                              "ScreenShot": "a|b", "user_version": "1.0", "submit_audit_time": 5})
    server.on("/wxa/get_auditstatus", {"errcode": 0, "status": 1, "reason": "x", "screenshot": "c"})
    latest = mp.audit.get_latest_audit_status()
    assert (latest.auditid, latest.state, latest.screenshots) == (9, AuditState.REJECTED, ("a", "b"))
    one = mp.audit.get_audit_status(9)
    assert (one.auditid, one.screenshots) == (9, ("c",))
    assert server.seen("/wxa/get_latest_auditstatus")[0].method == "GET"
    assert server.seen("/wxa/get_auditstatus")[0].json() == {"auditid": 9}


def test_audit_misc(server, mp):
    server.on("/wxa/queryquota", {"errcode": 0, "rest": 18, "limit": 20, "speedup_rest": 1, "speedup_limit": 1})
    quota = mp.audit.query_quota()
    assert (quota.rest, quota.limit, quota.speedup_rest) == (18, 20, 1)
    mp.audit.undo_code_audit()
    mp.audit.speedup_audit(9)
    assert [(s.method, s.path) for s in server.seen()][1:] == [("GET", "/wxa/undocodeaudit"),
                                                               ("POST", "/wxa/speedupaudit")]


def test_release_family(server, mp):
    server.on("/wxa/revertcoderelease", {"errcode": 0}, {"errcode": 0, "version_list": [{"app_version": 3}]})
    server.on("/wxa/getgrayreleaseplan", {"errcode": 0, "gray_release_plan": {"status": 1, "gray_percentage": 5}})
    server.on("/wxa/getvisitstatus", {"errcode": 0, "status": 1})
    mp.release.release()
    mp.release.revert_code_release()
    assert mp.release.get_history_versions() == [{"app_version": 3}]
    mp.release.gray_release(5, support_experiencer_first=True)
    assert mp.release.get_gray_release_plan()["gray_percentage"] == 5
    mp.release.revert_gray_release()
    mp.release.change_visit_status("close")
    assert mp.release.is_open_to_visitors() is True
    seen = server.seen()
    assert seen[0].path == "/wxa/release" and seen[0].body == b"{}"
    assert seen[2].args["action"] == "get_history_version"
    assert seen[3].json() == {"gray_percentage": 5, "support_experiencer_first": True}
    assert seen[6].json() == {"action": "close"}
    assert seen[7].path == "/wxa/getvisitstatus" and seen[7].body == b"{}"  # WeChat answers 44002 without it
    for bad in (0, 101):
        with pytest.raises(ValueError):
            mp.release.gray_release(bad)
    with pytest.raises(ValueError):
        mp.release.change_visit_status("pause")


def test_privacy(server, mp):
    owner = {"contact_email": "dpo@example.com", "notice_method": "弹窗"}
    mp.privacy.set_privacy_setting(owner, [{"privacy_key": "Location", "privacy_text": "门店导航"}])
    body = only(server).json()
    assert body == {"privacy_ver": 2, "owner_setting": owner,
                    "setting_list": [{"privacy_key": "Location", "privacy_text": "门店导航"}]}
    with pytest.raises(ValueError):
        mp.privacy.set_privacy_setting(owner, [], privacy_ver=1)
    with pytest.raises(ValueError):
        mp.privacy.set_privacy_setting({"notice_method": "x"})
    server.on("/cgi-bin/component/getprivacysetting", {
        "errcode": 0, "privacy_list": ["Location", "Album"],
        "setting_list": [{"privacy_key": "Location", "privacy_text": "t"}]})
    assert mp.privacy.undeclared_privacy_keys() == ["Album"]
    assert json.loads(server.seen("/cgi-bin/component/getprivacysetting")[0].body) == {"privacy_ver": 2}


def test_qrcode_validation(mp):
    with pytest.raises(ValueError):
        mp.qrcode.get_unlimited("x" * 33)
    with pytest.raises(ValueError):
        mp.qrcode.get_unlimited("ok", env_version="beta")
