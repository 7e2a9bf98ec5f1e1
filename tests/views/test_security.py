"""Security headers, health endpoints, and secrets kept out of logs and the database."""

import logging

import sqlalchemy as sa

from tests.helpers import authorize_in_browser, merchant_client


def test_security_headers_on_pages(client):
    response = client.get("/account/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    # forms post to the portal, and the authorization form's answer leads on to WeChat's pages only
    assert "form-action 'self' https://mp.weixin.qq.com https://open.weixin.qq.com;" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers


def test_production_adds_hsts_and_secure_cookies(make_app, make_user):
    app = make_app(PORTAL_ENV="production", SECRET_KEY="p" * 40, DATA_KEY="q" * 40)
    make_user(role="staff", email="boss@example.com")
    from tests.conftest import post_form

    client = app.test_client()
    response = post_form(client, "/account/login", {"email": "boss@example.com", "password": "correct-horse-battery"})
    assert "Strict-Transport-Security" in response.headers
    assert "Secure" in response.headers["Set-Cookie"]


def test_no_inline_script_or_style_in_pages(client, staff):
    for path in ("/", "/staff/tenants/", "/staff/tenants/new", "/staff/platform/", "/staff/platform/pushes"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "<style" not in html, path
        assert " onclick=" not in html and " onchange=" not in html, path


def test_health_endpoints(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["database"] == "ok"


def test_readyz_reports_a_database_that_is_down_without_naming_the_exception(make_app, caplog):
    app = make_app(SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent-dir/portal.sqlite3")
    caplog.set_level(logging.WARNING, logger="portal.ops")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["database"] == "unavailable"
    assert "Error" not in response.get_data(as_text=True)  # no OperationalError, no driver message
    assert "OperationalError" in caplog.text  # the detail is in the log, for the operator


def test_tokens_and_secrets_appear_neither_in_logs_nor_in_plain_in_the_database(platform, make_tenant, make_user,
                                                                                  login_as, caplog):
    caplog.set_level(logging.DEBUG)
    appid = platform.api.create_miniprogram(nick_name="Secretive")
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    authorize_in_browser(client, appid)
    from portal.extensions import db
    from portal.models import ComponentAccount, MiniProgram
    from portal.services.wechat import get_client

    with platform.app.app_context():
        get_client().tokens.force_refresh_authorizer(appid)
        get_client().miniprogram(appid).code.get_category()
        mp = MiniProgram.query.filter_by(authorizer_appid=appid).one()
        account = ComponentAccount.query.one()
        secrets = [mp.authorizer_access_token, mp.authorizer_refresh_token, account.component_access_token,
                   account.component_verify_ticket, platform.credentials["WECHAT_COMPONENT_APPSECRET"],
                   platform.credentials["WECHAT_COMPONENT_AES_KEY"]]
        raw = tuple(db.session.execute(sa.text(
            "SELECT authorizer_access_token, authorizer_refresh_token FROM wxminiprograms")).one())
        raw += tuple(db.session.execute(sa.text(
            "SELECT component_access_token, component_verify_ticket FROM weixin_account")).one())
        raw += tuple(r[0] or "" for r in db.session.execute(sa.text("SELECT payload FROM callback_events")))
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) > 10
    for secret in secrets:
        assert secret and secret not in logs
        assert all(secret not in (value or "") for value in raw)


def test_behind_a_trusted_proxy_the_login_limit_counts_the_forwarded_client(make_app):
    from tests.conftest import post_form

    app = make_app(TRUSTED_PROXY_HOPS=1, LOGIN_RATE_LIMIT="2 per minute")
    client = app.test_client()

    def attempt(n, ip):
        return post_form(client, "/account/login", {"email": f"guess{n}@example.com", "password": "wrong"},
                         headers={"X-Forwarded-For": ip}).status_code

    assert [attempt(n, "203.0.113.7") for n in range(3)] == [401, 401, 429]
    assert attempt(3, "198.51.100.9") == 401  # another client behind the same nginx is not locked out
