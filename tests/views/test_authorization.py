"""Authorizing a mini-program end to end against the sandbox over HTTP: the page, WeChat's page, the
redirect back, and the push-only path."""

import json
from urllib.parse import parse_qs, urlsplit

import requests

from tests.conftest import drain_jobs
from tests.helpers import (
    authorize_in_browser,
    confirm_on_wechat_page,
    merchant_client,
    pc_authorization_url,
    start_authorization,
)


def _mp_row(platform, appid):
    from portal.models import MiniProgram

    with platform.app.app_context():
        mp = MiniProgram.query.filter_by(authorizer_appid=appid).one_or_none()
        return None if mp is None else {c.name: getattr(mp, c.name) for c in mp.__table__.columns}


def test_merchant_authorizes_through_wechat_page_and_row_has_every_field(platform, make_tenant, make_user, login_as):
    appid = platform.api.create_miniprogram(nick_name="拉面小馆", principal_name="杭州拉面有限公司")
    tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    page = client.get("/authorization/")
    assert page.status_code == 200 and 'id="authorize-pc"' in page.get_data(as_text=True)
    pc_url = pc_authorization_url(client)
    assert "/cgi-bin/componentloginpage?" in pc_url and "auth_type=2" in pc_url
    back = confirm_on_wechat_page(pc_url, appid)
    assert back.status_code == 302
    target = urlsplit(back.headers["Location"])
    assert "auth_code" in parse_qs(target.query)
    done = client.get(target.path + "?" + target.query)
    assert done.status_code == 302 and done.location.endswith("/dashboard")
    row = _mp_row(platform, appid)
    assert row["tenant_id"] == tenant_id and row["auth_state"] == "authorized"
    for column in ("nick_name", "head_img", "user_name", "principal_name", "func_info", "miniprograminfo",
                   "business_info", "authorizer_refresh_token", "authorizer_access_token", "authorizer_expires"):
        assert row[column], column
    assert row["nick_name"] == "拉面小馆" and row["principal_name"] == "杭州拉面有限公司"
    assert 18 in [f["funcscope_category"]["id"] for f in json.loads(row["func_info"])]
    assert "拉面小馆" in client.get("/dashboard").get_data(as_text=True)


def test_authorization_completes_from_the_push_alone(platform, make_tenant, make_user, login_as):
    appid = platform.api.create_miniprogram(nick_name="Push Only")
    tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    back = confirm_on_wechat_page(pc_authorization_url(client), appid)
    assert back.status_code == 302  # ... but the browser never follows the redirect
    platform.api.pushes(type="authorized")
    drain_jobs(platform.app)
    row = _mp_row(platform, appid)
    assert row is not None and row["tenant_id"] == tenant_id and row["auth_state"] == "authorized"
    assert row["authorizer_refresh_token"]


def test_unauthorized_push_drops_tokens_and_keeps_history(platform, make_tenant, make_user, login_as):
    appid = platform.api.create_miniprogram(nick_name="Leaving")
    _tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    authorize_in_browser(client, appid)
    platform.api.unauthorize(appid)
    row = _mp_row(platform, appid)
    assert row["auth_state"] == "unauthorized"
    assert row["authorizer_refresh_token"] is None and row["authorizer_access_token"] is None
    assert row["nick_name"] == "Leaving"


def test_state_of_another_user_is_refused(platform, make_tenant, make_user, login_as):
    platform.api.create_miniprogram(nick_name="X")
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    pc_url = pc_authorization_url(client)
    redirect_uri = parse_qs(urlsplit(pc_url).query)["redirect_uri"][0]
    other_tenant = make_tenant("Other")
    make_user(tenant_id=other_tenant, email="other@example.com")
    intruder = platform.client()
    login_as("other@example.com", test_client=intruder)
    assert intruder.get(urlsplit(redirect_uri).path + "?auth_code=x").status_code == 404
    assert platform.client().get(urlsplit(redirect_uri).path + "?auth_code=x").status_code == 302  # to login


def test_a_link_for_one_account_names_it_and_sends_no_auth_type(platform):
    """授权流程技术说明: auth_type and biz_appid exclude each other; a link for one account sends biz_appid only."""
    from portal.services.wechat import get_client

    appid = platform.api.create_miniprogram(nick_name="Only this one")
    other = platform.api.create_miniprogram(nick_name="Not this one")
    with platform.app.app_context():
        component = get_client().component
        code = component.create_preauthcode().pre_auth_code
        redirect_uri = platform.url + "/authorization/callback/state"
        urls = [component.pc_authorization_url(code, redirect_uri, biz_appid=appid),
                component.mobile_authorization_url(code, redirect_uri, biz_appid=appid)]
    for url in urls:
        query = parse_qs(urlsplit(url).query)
        assert query["biz_appid"] == [appid] and "auth_type" not in query
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and f'value="{appid}"' in page.text and other not in page.text


def test_a_pre_auth_code_is_made_per_click_not_per_view(platform, make_tenant, make_user, login_as):
    """Showing the page asks WeChat for nothing; each click (a POST with the CSRF token) creates one code and
    leads to WeChat's page for a computer, the link for a phone, or a page with the link's QR code."""
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    for _ in range(3):
        assert client.get("/authorization/").status_code == 200
    assert platform.api.count("api_create_preauthcode") == 0
    assert client.post("/authorization/start", data={"target": "pc"}).status_code == 400  # no CSRF token
    assert platform.api.count("api_create_preauthcode") == 0
    pc = start_authorization(client, "pc")
    assert pc.status_code == 303 and "/cgi-bin/componentloginpage?" in pc.location
    mobile = start_authorization(client, "mobile")
    assert mobile.status_code == 303 and "bindcomponent" in mobile.location
    qr = start_authorization(client, "qr")
    html = qr.get_data(as_text=True)
    assert qr.status_code == 200 and 'id="authorize-qr"' in html and "<svg" in html and "bindcomponent" in html
    assert platform.api.count("api_create_preauthcode") == 3
    assert start_authorization(client, "elsewhere").status_code == 400


def test_expired_pre_auth_sessions_are_purged_when_a_code_is_made(platform, make_tenant, make_user, login_as):
    """A pre-auth session stays an hour past its code's expiry (a late redirect or push still finds it),
    then the next click removes it."""
    from datetime import timedelta

    from portal.extensions import db
    from portal.models import PreAuthSession
    from portal.timeutil import utcnow

    tenant_id, client = merchant_client(platform, make_tenant, make_user, login_as)
    assert start_authorization(client).status_code == 303
    with platform.app.app_context():
        [first] = PreAuthSession.query.all()
        user_id, first_hash = first.user_id, first.code_hash
        for n, age in enumerate((timedelta(hours=2), timedelta(minutes=30))):
            db.session.add(PreAuthSession(code_hash=f"{n:064d}", tenant_id=tenant_id, user_id=user_id,
                                          expires_at=utcnow() - age))
        db.session.commit()
    assert start_authorization(client).status_code == 303
    with platform.app.app_context():
        left = {row.code_hash for row in PreAuthSession.query.all()}
    assert f"{0:064d}" not in left and f"{1:064d}" in left and first_hash in left and len(left) == 3
