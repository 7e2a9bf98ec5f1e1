"""Template library: drafts from the control API, addtotemplate, gettemplatelist, deletetemplate."""


def test_template_library(api, make_platform):
    platform = make_platform(template_limit=1)
    token = platform.component_token()
    assert api.call("/wxa/gettemplatedraftlist", method="GET", access_token=token)["draft_list"] == []
    draft = api.call("/sandbox/drafts", {"component_appid": platform.appid, "user_version": "2.0.0",
                                         "user_desc": "新版本", "pages": ["pages/a/a"]})["draft_id"]
    second = api.call("/sandbox/drafts", {"component_appid": platform.appid})["draft_id"]
    drafts = api.call("/wxa/gettemplatedraftlist", method="GET", component_access_token=token)["draft_list"]
    assert [d["draft_id"] for d in drafts] == [draft, second] and drafts[0]["user_desc"] == "新版本"
    assert api.call("/wxa/addtotemplate", {"draft_id": 999}, access_token=token)["errcode"] == 85064
    assert api.call("/wxa/addtotemplate", {"draft_id": draft, "template_type": 0}, access_token=token)["errcode"] == 0
    assert api.call("/wxa/addtotemplate", {"draft_id": second}, access_token=token)["errcode"] == 85065
    assert api.call("/wxa/addtotemplate", {"draft_id": second, "template_type": 1},
                    access_token=token)["errcode"] == 0
    listed = api.call("/wxa/gettemplatelist", method="GET", access_token=token)["template_list"]
    assert len(listed) == 2 and listed[0]["user_version"] == "2.0.0" and listed[0]["draft_id"] == draft
    standard = api.call("/wxa/gettemplatelist", method="GET", access_token=token, template_type=1)["template_list"]
    assert [t["template_type"] for t in standard] == [1]
    assert api.call("/wxa/gettemplatelist", {}, access_token=token)["errcode"] == 43001  # the doc names GET
    template_id = listed[0]["template_id"]
    assert api.call("/wxa/deletetemplate", {"template_id": template_id}, access_token=token)["errcode"] == 0
    assert api.call("/wxa/deletetemplate", {"template_id": template_id}, access_token=token)["errcode"] == 85064
    assert len(api.call("/wxa/gettemplatelist", method="GET", access_token=token)["template_list"]) == 1


def test_template_pages_drive_commit_checks(api, platform, mp):
    _, access = mp
    token = platform.component_token()
    draft = api.call("/sandbox/drafts", {"component_appid": platform.appid, "pages": ["pages/x/x"]})["draft_id"]
    api.call("/wxa/addtotemplate", {"draft_id": draft}, access_token=token)
    template_id = api.call("/wxa/gettemplatelist", method="GET", access_token=token)["template_list"][0]["template_id"]
    body = {"template_id": template_id, "user_version": "1", "user_desc": "", "ext_json": "{}"}
    assert api.call("/wxa/commit", body, access_token=access)["errcode"] == 0
    assert api.call("/wxa/get_page", method="GET", access_token=access)["page_list"] == ["pages/x/x"]


def test_template_endpoints_need_component_token(api, mp):
    _, access = mp
    assert api.call("/wxa/gettemplatelist", method="GET", access_token=access)["errcode"] == 40001
    assert api.call("/wxa/gettemplatelist", method="GET")["errcode"] == 41001
