"""The sandbox refuses what WeChat refuses: the wrong HTTP method, missing required fields, another
platform's component_appid, a second use of an authorization code, an account without name/avatar/intro
(86002) and calls past a per-minute limit (45011)."""

import pytest

from tests.sandbox.helpers import add_template, commit, committed_and_scanned, submit

QUERY_AUTH = "/cgi-bin/component/api_query_auth"
INFO = "/cgi-bin/component/api_get_authorizer_info"


def test_wrong_http_method_answers_43001_or_43002(api, mp):
    appid, access = mp
    assert api.call("/wxa/getversioninfo", method="GET", access_token=access)["errcode"] == 43002
    assert api.call("/wxa/get_category", {}, access_token=access)["errcode"] == 43001
    assert api.call("/wxa/get_page", {}, access_token=access)["errcode"] == 43001
    assert api.call("/wxa/security/get_code_privacy_info", {}, access_token=access)["errcode"] == 43001
    assert api.call("/wxa/getvisitstatus", method="GET", access_token=access)["errcode"] == 43002
    assert api.calls(endpoint="getversioninfo", errcode=43002)["counts"] == {"getversioninfo": 1}


def test_template_library_reads_are_get_only(api, platform):
    token = platform.component_token()
    assert api.call("/wxa/gettemplatedraftlist", {}, access_token=token)["errcode"] == 43001
    assert api.call("/wxa/gettemplatelist", {}, access_token=token)["errcode"] == 43001
    assert api.call("/wxa/gettemplatelist", method="GET", access_token=token)["errcode"] == 0


@pytest.mark.parametrize("field", ["template_id", "ext_json", "user_version", "user_desc"])
def test_commit_requires_every_field_the_doc_marks_required(api, platform, mp, field):
    _, access = mp
    body = {"template_id": add_template(api, platform), "ext_json": "{}", "user_version": "1.0.0",
            "user_desc": "first"}
    del body[field]
    answer = api.call("/wxa/commit", body, access_token=access)
    assert answer["errcode"] == 47001 and field in answer["errmsg"]
    assert api.call("/wxa/get_page", method="GET", access_token=access)["errcode"] == 86001  # nothing committed


def test_modify_domain_requires_action(api, mp):
    _, access = mp
    for path in ("/wxa/modify_domain", "/wxa/modify_domain_directly"):
        answer = api.call(path, {"requestdomain": ["https://a.example.com"]}, access_token=access)
        assert answer["errcode"] == 47001 and "action" in answer["errmsg"]


def test_component_appid_must_match_the_component_token(api, platform, make_platform):
    other = make_platform()
    token = platform.component_token()
    appid = platform.new_miniprogram()
    platform.authorize(appid)
    missing = api.call(INFO, {"authorizer_appid": appid}, component_access_token=token)
    assert missing["errcode"] == 41002
    foreign = api.call(INFO, {"component_appid": other.appid, "authorizer_appid": appid},
                       component_access_token=token)
    assert foreign["errcode"] == 40013
    preauth = api.call("/cgi-bin/component/api_create_preauthcode", {}, component_access_token=token)
    assert preauth["errcode"] == 41002


def test_an_authorization_code_is_single_use(api, platform):
    appid = platform.new_miniprogram()
    code = platform.authorize(appid)["auth_code"]
    body = {"component_appid": platform.appid, "authorization_code": code}
    token = platform.component_token()
    assert api.call(QUERY_AUTH, body, component_access_token=token)["authorization_info"]["authorizer_appid"] == appid
    assert api.call(QUERY_AUTH, body, component_access_token=token)["errcode"] == 61009


def test_submit_audit_needs_name_avatar_and_intro(api, platform):
    appid, info = platform.authorized_miniprogram(nick_name="", head_img=None, signature="")
    access = info["authorizer_access_token"]
    committed_and_scanned(api, platform, access)
    assert submit(api, access)["errcode"] == 86002
    listed = api.call(f"/sandbox/miniprograms/{appid}", method="GET")["miniprogram"]
    assert listed["audits"] == []
    token = platform.component_token()
    shown = api.call(INFO, {"component_appid": platform.appid, "authorizer_appid": appid},
                     component_access_token=token)["authorizer_info"]
    assert shown["nick_name"] == "" and shown["head_img"] == ""


def test_a_complete_profile_submits(api, platform, mp):
    _, access = mp
    committed_and_scanned(api, platform, access)
    assert submit(api, access)["errcode"] == 0


def test_per_minute_limit_answers_45011_until_the_minute_has_passed(api, platform, mp):
    appid, access = mp
    api.call("/sandbox/quotas", {"endpoint": "get_category", "per_minute": 2, "appid": appid})
    codes = [api.call("/wxa/get_category", method="GET", access_token=access)["errcode"] for _ in range(3)]
    assert codes == [0, 0, 45011]
    assert "minute-quota" in api.call("/wxa/get_category", method="GET", access_token=access)["errmsg"]
    api.advance(61)
    assert api.call("/wxa/get_category", method="GET", access_token=access)["errcode"] == 0
    assert commit(api, access, add_template(api, platform))["errcode"] == 0  # other endpoints unaffected
