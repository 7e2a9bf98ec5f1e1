"""The checks of the authorization flow, each with the message a merchant sees."""

from tests.conftest import drain_jobs
from tests.helpers import (
    authorize_in_browser,
    confirm_on_wechat_page,
    drop_cached_tokens,
    follow_back,
    merchant_client,
    pc_authorization_url,
    start_authorization,
)


def test_missing_development_permission_is_explained(platform, make_tenant, make_user, login_as):
    appid = platform.api.create_miniprogram(nick_name="Few Rights", func_info=[17, 19])
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    page = authorize_in_browser(client, appid).get_data(as_text=True)
    assert "开发管理" in page and "Few Rights" in page


def test_app_of_another_tenant_is_refused_and_staff_can_transfer(platform, make_tenant, make_user, login_as, staff,
                                                                  client):
    appid = platform.api.create_miniprogram(nick_name="Contested")
    first_tenant, first = merchant_client(platform, make_tenant, make_user, login_as)
    authorize_in_browser(first, appid)
    second_tenant, second = merchant_client(platform, make_tenant, make_user, login_as, name="Rival", email="rival@example.com")
    page = authorize_in_browser(second, appid).get_data(as_text=True)
    assert "已绑定其他租户" in page
    from portal.models import MiniProgram

    with platform.app.app_context():
        mp = MiniProgram.query.filter_by(authorizer_appid=appid).one()
        assert mp.tenant_id == first_tenant
        mp_id = mp.id
    from tests.conftest import post_form

    staff_client = platform.client()
    login_as("staff@example.com", test_client=staff_client)
    moved = post_form(staff_client, f"/staff/platform/miniprograms/{mp_id}/transfer", {"tenant_id": second_tenant},
                      token_from="/staff/platform/", follow_redirects=True)
    assert "已转移" in moved.get_data(as_text=True), moved.get_data(as_text=True)[-3000:]
    from portal.extensions import db

    with platform.app.app_context():
        assert db.session.get(MiniProgram, mp_id).tenant_id == second_tenant
    assert "Contested" in second.get("/dashboard").get_data(as_text=True)


def test_expired_authorization_code_gives_a_human_message(platform, make_tenant, make_user, login_as):
    appid = platform.api.create_miniprogram(nick_name="Slow Admin")
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    platform.api.faults(drop_pushes=True, push_type="authorized")  # only the redirect can complete it
    back = confirm_on_wechat_page(pc_authorization_url(client), appid)
    platform.api.advance(7200)  # the administrator's browser comes back two hours later
    result = follow_back(client, back, follow_redirects=True).get_data(as_text=True)
    assert "61010" in result or "过期" in result
    from portal.models import MiniProgram

    with platform.app.app_context():
        assert MiniProgram.query.filter_by(authorizer_appid=appid).count() == 0


def test_reauthorization_updates_the_row(platform, make_tenant, make_user, login_as):
    appid = platform.api.create_miniprogram(nick_name="Again", func_info=[17, 18])
    tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    authorize_in_browser(client, appid)
    platform.api.authorize(appid, func_info=[17, 18, 19])
    drain_jobs(platform.app)
    from portal.models import MiniProgram

    with platform.app.app_context():
        mp = MiniProgram.query.filter_by(authorizer_appid=appid).one()
        assert mp.tenant_id == tenant_id and mp.funcscope_ids == [17, 18, 19]


def test_without_a_ticket_the_portal_asks_wechat_to_push_one(platform, make_tenant, make_user, login_as):
    from portal.extensions import db

    with platform.app.app_context():
        db.session.execute(db.text("DELETE FROM weixin_account"))
        db.session.commit()
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    first = start_authorization(client)
    assert first.status_code == 502 and "稍后重试" in first.get_data(as_text=True)
    assert platform.api.count("api_start_push_ticket") == 1
    platform.api.pushes()  # the restarted push arrives
    assert start_authorization(client).status_code == 303


def test_proactive_refresher_renews_tokens_before_they_expire(platform):
    from portal.extensions import db
    from portal.services.tokens import refresh_expiring_tokens
    from portal.services.wechat import get_client

    platform.authorized_app()
    with platform.app.app_context():
        assert refresh_expiring_tokens(get_client().tokens)["refreshed"] == 0  # fresh tokens are left alone
        db.session.execute(db.text("UPDATE wxminiprograms SET authorizer_expires = authorizer_expires - 7000"))
        db.session.commit()
        drop_cached_tokens(platform.app)
        assert refresh_expiring_tokens(get_client().tokens)["refreshed"] == 1
    assert platform.api.count("api_authorizer_token", errcode=0) == 1
