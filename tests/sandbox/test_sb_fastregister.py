"""Fast registration in the sandbox: the documented refusals, a task that waits for its person, and the
`/sandbox/fastregister/decide` control and personal confirm page that end it with a push."""

import re

import pytest

from tests.sandbox.test_sb_component import QUERY_AUTH, _decrypt

ENTERPRISE = "/cgi-bin/component/fastregisterweapp"
PERSONAL = "/wxa/component/fastregisterpersonalweapp"
BODY = {"name": "快注册科技有限公司", "code": "91110000MA01ABCD2X", "code_type": 1,
        "legal_persona_wechat": "legal_person", "legal_persona_name": "张三", "component_phone": "010-1234"}


def _search_body(body):
    return {k: body[k] for k in ("name", "legal_persona_wechat", "legal_persona_name")}


@pytest.mark.parametrize(("change", "errcode"), [
    ({"code": ""}, 89253), ({"legal_persona_name": None}, 89253), ({"code_type": None}, 89253),
    ({"code_type": 9}, 89248), ({"code_type": "1"}, 89248), ({"code": "123"}, 89255),
    ({"code_type": 2, "code": "91110000MA01ABCD2X"}, 89255), ({"name": 12}, 47001),
    ({"legal_persona_wechat": "unknown_x"}, 86004), ({"legal_persona_wechat": "mismatch_x"}, 61070),
])
def test_enterprise_create_refusals(api, platform, change, errcode):
    token = platform.component_token()
    assert api.call(ENTERPRISE, {**BODY, **change}, component_access_token=token, action="create")["errcode"] == errcode


def test_enterprise_waits_for_the_legal_person_then_pushes(api, platform, receiver):
    token = platform.component_token()
    assert api.call(ENTERPRISE, _search_body(BODY), component_access_token=token, action="search")["errcode"] == 89250
    assert api.call(ENTERPRISE, BODY, component_access_token=token, action="create")["errcode"] == 0
    assert api.call(ENTERPRISE, BODY, component_access_token=token, action="create")["errcode"] == 89249
    assert api.call(ENTERPRISE, _search_body(BODY), component_access_token=token, action="search")["errcode"] == 89251
    assert api.call(ENTERPRISE, BODY, component_access_token=token, action="other")["errcode"] == 40097
    api.advance(3600)  # nothing happens by itself: the legal person decides
    assert receiver.events("notify_third_fasteregister") == []
    decided = api.call("/sandbox/fastregister/decide", {"name": BODY["name"], "outcome": "approve", "wait": True})
    push = receiver.wait_for("notify_third_fasteregister")[0]
    assert push["status"] == "0" and push["auth_code"] and push["appid"] == decided["appid"]
    raw = [r for r in receiver.requests if r["xml"] and r["xml"].get("InfoType") == "notify_third_fasteregister"][0]
    assert "<info><name><![CDATA[快注册科技有限公司]]></name>" in _decrypt(platform, raw["body"])
    assert api.call(ENTERPRISE, _search_body(BODY), component_access_token=token, action="search")["errcode"] == 0
    info = api.call(QUERY_AUTH, {**platform.own, "authorization_code": push["auth_code"]},
                    component_access_token=token)
    assert info["authorization_info"]["authorizer_appid"] == push["appid"]
    assert receiver.events("authorized") == []  # the result comes as notify_third_fasteregister only
    again = api.post("/sandbox/fastregister/decide", {"name": BODY["name"], "outcome": "approve"})
    assert again.status_code == 400


def test_enterprise_reject_pushes_a_documented_status(api, platform, receiver):
    token = platform.component_token()
    assert api.call(ENTERPRISE, BODY, component_access_token=token, action="create")["errcode"] == 0
    bad = api.post("/sandbox/fastregister/decide", {"name": BODY["name"], "outcome": "reject", "reason": 42})
    assert bad.status_code == 400
    api.call("/sandbox/fastregister/decide", {"name": BODY["name"], "outcome": "reject", "reason": 1003,
                                              "wait": True})
    push = receiver.wait_for("notify_third_fasteregister")[0]
    assert push["status"] == "1003" and not push.get("appid") and not push.get("auth_code")
    # the task is over: the same information may be sent again
    assert api.call(ENTERPRISE, BODY, component_access_token=token, action="create")["errcode"] == 0


def test_personal_task_through_its_authorize_url(api, platform, receiver):
    token = platform.component_token()
    body = {"idname": "李四", "wxuser": "lisi_wx", "component_phone": "010-1234"}
    assert api.call(PERSONAL, {"idname": "李四"}, component_access_token=token, action="create")["errcode"] == 47001
    assert api.call(PERSONAL, {**body, "wxuser": "unknown_1"}, component_access_token=token,
                    action="create")["errcode"] == 86004
    assert api.call(PERSONAL, body, component_access_token=token, action="nope")["errcode"] == -1
    created = api.call(PERSONAL, body, component_access_token=token, action="create")
    assert created["errcode"] == 0 and created["status"] == 0
    assert re.search(r"/wxawap/fastregisterpersonal\?action=show&taskid=", created["authorize_url"])
    query = {"taskid": created["taskid"]}
    assert api.call(PERSONAL, query, component_access_token=token, action="query")["status"] == 0
    assert api.call(PERSONAL, {"taskid": "nope"}, component_access_token=token, action="query")["errcode"] == 89250
    page = api.session.get(created["authorize_url"], timeout=10)
    assert page.status_code == 200 and 'id="confirm"' in page.text and "李四" in page.text
    api.session.post(api.base + "/wxawap/fastregisterpersonal", data={"taskid": created["taskid"],
                                                                     "action": "confirm"}, timeout=10)
    push = receiver.wait_for("notify_third_fasteregister")[0]
    assert push["status"] == "0" and push["auth_code"] and push["appid"].startswith("wx")
    answer = api.call(PERSONAL, query, component_access_token=token, action="query")
    assert answer["status"] == 12 and answer["appid"] == push["appid"]


def test_personal_refused_on_the_page_ends_without_a_push(api, platform, receiver):
    token = platform.component_token()
    created = api.call(PERSONAL, {"idname": "王五", "wxuser": "wangwu"}, component_access_token=token,
                       action="create")
    api.session.post(api.base + "/wxawap/fastregisterpersonal", data={"taskid": created["taskid"],
                                                                     "action": "refuse"}, timeout=10)
    answer = api.call(PERSONAL, {"taskid": created["taskid"]}, component_access_token=token, action="query")
    assert answer["status"] == 2
    assert receiver.events("notify_third_fasteregister") == []


def test_overview_lists_a_waiting_task_and_its_buttons_decide_it(api, platform, receiver):
    token = platform.component_token()
    assert api.call(ENTERPRISE, BODY, component_access_token=token, action="create")["errcode"] == 0
    page = api.get("/sandbox/").text
    assert "快注册科技有限公司" in page and "/sandbox/ui/fastregister" in page
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    answer = api.session.post(api.base + "/sandbox/ui/fastregister", data={"key": key, "outcome": "reject"},
                              allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    push = receiver.wait_for("notify_third_fasteregister")[0]
    assert push["status"] == "1001"
