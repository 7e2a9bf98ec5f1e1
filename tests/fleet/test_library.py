"""The template library pages against the sandbox: drafts, add as normal/standard, notes and schema,
usage counts, delete, and a mini-program's own parameters validated against a template's schema."""

import re

from portal.extensions import db
from portal.models import LibraryTemplate, MiniProgram
from portal.services import library


def _html(response):
    return response.get_data(as_text=True)


def test_drafts_add_notes_delete(fleet_env):
    env = fleet_env
    draft = env.api.call("/sandbox/drafts", {"component_appid": env.api.component_appid, "user_version": "3.1.0",
                                             "user_desc": "新菜单", "pages": ["pages/index/index"]})["draft_id"]
    page = env.client.get("/staff/library/")
    assert page.status_code == 200 and "3.1.0" in _html(page) and "新菜单" in _html(page)
    drafts = _html(page).split('id="drafts"', 1)[1]
    assert re.search(r'<td><time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" title="北京时间', drafts)  # not epoch seconds
    response = env.post("/staff/library/add", {"draft_id": draft, "template_type": 1}, follow_redirects=True)
    assert response.status_code == 200 and env.api.count("addtotemplate", errcode=0) == 1
    with env.app.app_context():
        row = db.session.query(LibraryTemplate).one()
        template_id = row.template_id
    assert row.template_type == 1 and row.user_version == "3.1.0"
    bad = env.post(f"/staff/library/{template_id}", {"ext_schema": "shopId: int"})
    assert bad.status_code == 400 and "string, integer" in _html(bad)
    ok = env.post(f"/staff/library/{template_id}", {"changelog": "新增菜单页", "ext_schema": "shopId: integer\ntheme: string?"})
    assert ok.status_code == 302
    with env.app.app_context():
        schema = library.get_template(template_id).schema()
    assert schema == {"shopId": {"type": "integer", "required": True}, "theme": {"type": "string", "required": False}}
    assert env.post("/staff/library/add", {"draft_id": "x"}).status_code == 400
    env.post(f"/staff/library/{template_id}/delete", {"confirm": "1"})
    assert env.api.count("deletetemplate", errcode=0) == 1
    with env.app.app_context():
        assert db.session.query(LibraryTemplate).one().is_deleted
    assert f'href="/staff/library/{template_id}"' not in _html(env.client.get("/staff/library/"))


def test_schema_validation_and_overrides(fleet_env, make_tenant):
    env = fleet_env
    tenant = make_tenant("Bakery")
    appid = env.apps(tenant, 1)[0]
    with env.app.app_context():
        mp_id = db.session.query(MiniProgram).filter_by(authorizer_appid=appid).one().id
    response = env.post(f"/miniprograms/{mp_id}/params", {"ext_params": "shopId=7\ntheme=blue"})
    assert response.status_code == 302
    assert env.post(f"/miniprograms/{mp_id}/params", {"ext_params": "no equals"}).status_code == 400
    moved = env.client.get(f"/staff/library/miniprograms/{mp_id}/params")  # the former staff-only page
    assert moved.status_code == 308 and moved.headers["Location"].endswith(f"/miniprograms/{mp_id}/params")
    with env.app.app_context():  # an app no tenant holds: staff still see and edit its parameters
        db.session.get(MiniProgram, mp_id).tenant_id = None
        db.session.commit()
    assert "shopId" in _html(env.client.get(f"/miniprograms/{mp_id}/params"))
    assert env.post(f"/miniprograms/{mp_id}/params", {"ext_params": "shopId=7\ntheme=green"}).status_code == 302
    schema = library.parse_schema("shopId: integer\nvip: boolean?\nname: string")
    with env.app.app_context():
        mp = db.session.get(MiniProgram, mp_id)
        values, errors = library.validate_ext(schema, library.ext_params_for(mp))
    assert values["shopId"] == 7 and len(errors) == 1 and "name" in errors[0]
    _values, errors = library.validate_ext(schema, {"shopId": "seven", "name": "x", "vip": "maybe"})
    assert len(errors) == 2
