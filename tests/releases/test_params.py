"""Tenant parameters: what staff let merchants edit (allowed, refused with a 403 and nothing saved, staff on
behalf, another tenant's app 404), and a mini-program's own domains, privacy guideline and ext values
reaching WeChat (the sandbox's state of the app) on a single upload + audit and in a fleet release."""

import json

from portal.extensions import db
from portal.models import Activity, CodeCommit, MiniProgram, TenantSettings
from tests.conftest import post_form
from tests.releases.test_pipeline import _html, _settings, submit, upload


def _staff(env, make_user, login_as):
    make_user(role="staff", email="ops@example.com")
    staff = env.app.test_client()
    login_as("ops@example.com", test_client=staff)
    return staff


def _permissions(env, staff, **allowed):
    data = {part: "y" for part, on in allowed.items() if on}
    response = post_form(staff, f"/staff/code/tenants/{env.tenant_id}/permissions", data, token_from="/staff/code/")
    assert response.status_code == 302, _html(response)


def _stored(env):
    with env.app.app_context():
        row = db.session.query(TenantSettings).filter_by(tenant_id=env.tenant_id).one_or_none()
        return row and (row.ext_params, row.domains, row.privacy)


def _sandbox_app(env, appid=None):
    return env.api.call(f"/sandbox/miniprograms/{appid or env.appid}", method="GET")["miniprogram"]


def test_merchant_edits_only_what_staff_allow(code_env, make_user, login_as):
    env = code_env
    _settings(env)  # everything allowed by default
    staff = _staff(env, make_user, login_as)
    _permissions(env, staff, ext=False, domains=False, privacy=True)
    page = _html(env.client.get("/miniprograms/settings"))
    assert 'data-managed="ext"' in page and 'data-managed="domains"' in page and 'data-managed="privacy"' not in page
    assert "shopId=42" in page and 'name="ext_params"' not in page and 'name="contact_email"' in page
    before = _stored(env)
    refused = post_form(env.client, "/miniprograms/settings", {"ext_params": "shopId=1", "notice_method": "x"},
                        token_from="/dashboard")
    assert refused.status_code == 403 and ("ext.json" in _html(refused))
    assert _stored(env) == before
    allowed = post_form(env.client, "/miniprograms/settings", {"contact_email": "me@example.com", "notice_method": "弹窗"},
                        token_from="/dashboard")
    assert allowed.status_code == 302
    assert json.loads(_stored(env)[2])["owner_setting"]["contact_email"] == "me@example.com"
    assert json.loads(_stored(env)[1])["requestdomain"] == ["api.localhost"]  # the other parts stay
    # the app's own domains and the domains page are refused too; WeChat is not called
    assert env.post("params", {"requestdomain": "shop.localhost"}).status_code == 403
    assert env.post("domains/server", {"action": "set", "requestdomain": "x.localhost"}).status_code == 403
    assert env.api.count("modify_domain", env.appid) == 0
    assert 'data-managed="domains"' in _html(env.get("domains"))
    assert env.post("params", {"privacy_texts": "UserInfo=app text"}).status_code == 302


def test_staff_edit_on_behalf_and_is_logged_as_such(code_env, make_user, login_as):
    env = code_env
    staff = _staff(env, make_user, login_as)
    _permissions(env, staff, ext=False, domains=False, privacy=False)
    page = _html(staff.get(f"/staff/code/tenants/{env.tenant_id}/settings"))
    assert 'id="permissions-form"' in page and 'name="ext_params"' in page and "data-managed" not in page
    response = post_form(staff, f"/staff/code/tenants/{env.tenant_id}/settings",
                         {"ext_params": "shopId=9", "requestdomain": "api.localhost"}, token_from="/staff/code/")
    assert response.status_code == 302
    response = post_form(staff, env.url("params"), {"ext_params": "shopId=10"}, token_from="/staff/code/")
    assert response.status_code == 302
    with env.app.app_context():
        rows = {a.action: a for a in db.session.query(Activity).filter(Activity.action.like("settings.%"))}
        assert {"settings.permissions", "settings.update", "settings.mp_params"} <= set(rows)
        assert all(r.on_behalf and r.actor.email == "ops@example.com" for r in rows.values())
    merchant_page = _html(env.client.get("/miniprograms/settings"))
    assert "shopId=9" in merchant_page and 'id="permissions-form"' not in merchant_page
    assert post_form(env.client, f"/staff/code/tenants/{env.tenant_id}/permissions", {"ext": "y"},
                     token_from="/dashboard").status_code == 403
    assert json.loads(_stored(env)[0]) == {"shopId": "9"}


def test_another_tenants_app_parameters_are_404(code_env, make_tenant, make_user, login_as, platform):
    env = code_env
    other = make_tenant("Other Shop")
    make_user(tenant_id=other, email="other@example.com")
    intruder = env.app.test_client()
    login_as("other@example.com", test_client=intruder)
    assert intruder.get(env.url("params")).status_code == 404
    response = post_form(intruder, env.url("params"), {"ext_params": "x=1"}, token_from="/dashboard")
    assert response.status_code == 404
    with env.app.app_context():
        assert db.session.query(Activity).filter_by(action="settings.mp_params").count() == 0


def test_own_domains_and_privacy_reach_wechat_on_a_single_audit(code_env):
    env = code_env
    _settings(env, privacy_texts="UserInfo=tenant text\nLocation=附近门店")
    response = env.post("params", {"ext_params": "theme=blue", "requestdomain": "shop7.localhost",
                                   "privacy_texts": "UserInfo=展示本店会员头像"})
    assert response.status_code == 302
    page = _html(env.get("params"))
    assert 'data-param="requestdomain"' in page and "shop7.localhost" in page
    assert page.count('data-source="app"') == 3 and 'data-source="tenant"' in page  # shopId, webview, contact
    env.template_id = env.template(privacy_keys=["UserInfo", "Location"])
    upload(env, "3.0.0")
    env.api.advance(31)
    submit(env)
    state = _sandbox_app(env)
    flat = json.dumps(state)
    assert "https://shop7.localhost" in flat and "https://api.localhost" not in flat and "https://www.localhost" in flat
    texts = {s["privacy_key"]: s["privacy_text"] for s in state["privacy"]["dev"]["setting_list"]}
    assert texts == {"UserInfo": "展示本店会员头像", "Location": "附近门店"}
    with env.app.app_context():
        commit = db.session.query(CodeCommit).filter_by(miniprogram_id=env.mp_id).one()
        assert json.loads(commit.ext_json)["ext"] == {"shopId": "42", "theme": "blue"}


def test_own_domains_reach_wechat_in_a_fleet_release(code_env, make_user, login_as):
    from tests.fleet.conftest import FleetEnv, run_to_end, start

    env = code_env
    _settings(env)
    other_appid = env.platform.authorized_app(env.tenant_id, nick_name="分店")
    with env.app.app_context():
        other_id = db.session.query(MiniProgram).filter_by(authorizer_appid=other_appid).one().id
    assert post_form(env.client, f"/miniprograms/{other_id}/params", {"webviewdomain": "branch.localhost"},
                     token_from="/dashboard").status_code == 302
    env.app.config.update(FLEET_BACKOFF_SECONDS=0.05, FLEET_PRIVACY_RECHECK_SECONDS=0.1, FLEET_QUOTA_TTL=0)
    fleet = FleetEnv(env.platform, env.client, make_user(role="staff", email="fleet@example.com"))
    release_id = start(fleet, env.template(), {"mode": "tenants", "tenant_ids": [env.tenant_id]},
                       auto_release=False, max_failure_rate=100)
    states = run_to_end(fleet, release_id)
    assert set(states.values()) == {"approved"}, states
    mine, branch = json.dumps(_sandbox_app(env)), json.dumps(_sandbox_app(env, other_appid))
    assert "https://www.localhost" in mine and "branch.localhost" not in mine
    assert "https://branch.localhost" in branch and "https://www.localhost" not in branch
    assert "https://api.localhost" in branch  # the kinds it does not override come from the tenant


def test_parameters_page_checks_ext_against_the_templates_schemas(code_env):
    from portal.services import library

    env = code_env
    _settings(env)  # shopId=42, theme=red
    with env.app.app_context():
        library.sync_templates()
        library.save_notes(env.template_id, None, "", "", "shopId: integer\nvip: boolean")
    page = _html(env.get("params"))
    assert f'data-template="{env.template_id}"' in page and "“vip”" in page
    assert env.post("params", {"ext_params": "vip=maybe"}).status_code == 302
    assert "“vip”" in _html(env.get("params"))
    assert env.post("params", {"ext_params": "vip=true"}).status_code == 302
    assert "键齐全，类型正确" in _html(env.get("params"))
