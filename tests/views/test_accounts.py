"""Login, logout, throttling, CSRF, invitations and suspended tenants, through the HTTP routes."""

import re

from tests.conftest import TEST_PASSWORD, csrf_token, post_form


def test_login_page_renders_in_chinese_by_default(client):
    page = client.get("/account/login")
    assert page.status_code == 200
    assert "登录" in page.get_data(as_text=True)


def test_staff_login_and_logout(client, make_user, login_as):
    make_user(role="staff", email="boss@example.com")
    response = login_as("boss@example.com")
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200
    token = csrf_token(client, "/")
    assert client.post("/account/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/staff/tenants/").status_code == 302  # back to the login page


def test_wrong_password_is_refused_with_a_message(client, make_user, login_as):
    make_user(role="staff", email="boss@example.com")
    response = login_as("boss@example.com", password="wrong-password!")
    assert response.status_code == 401
    assert "邮箱或密码错误" in response.get_data(as_text=True)
    assert client.get("/staff/tenants/").status_code == 302


def test_login_is_throttled_per_account_with_a_clear_message(make_app, make_user):
    app = make_app()
    make_user(role="staff", email="boss@example.com")
    clients = [app.test_client() for _ in range(11)]
    statuses = []
    for i, c in enumerate(clients):  # separate sessions, same account and IP
        statuses.append(post_form(c, "/account/login", {"email": "boss@example.com", "password": f"bad{i}"}).status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    blocked = post_form(clients[0], "/account/login", {"email": "boss@example.com", "password": TEST_PASSWORD})
    assert blocked.status_code == 429
    assert "登录尝试过多" in blocked.get_data(as_text=True)


def test_login_is_throttled_per_ip_across_accounts(make_app, make_user):
    app = make_app(LOGIN_RATE_LIMIT="5 per minute")
    c = app.test_client()
    codes = [post_form(c, "/account/login", {"email": f"nobody{i}@example.com", "password": "x"}).status_code
             for i in range(6)]
    assert codes == [401] * 5 + [429]


def test_post_without_csrf_token_is_rejected(client, make_user):
    make_user(role="staff", email="boss@example.com")
    response = client.post("/account/login", data={"email": "boss@example.com", "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert client.get("/staff/tenants/").status_code == 302  # not logged in


def test_open_redirect_after_login_is_ignored(client, make_user):
    make_user(role="staff", email="boss@example.com")
    response = post_form(client, "/account/login",
                         {"email": "boss@example.com", "password": TEST_PASSWORD, "next": "//evil.example/x"})
    assert response.location == "/"


def test_login_redirects_to_next(client, make_user):
    make_user(role="staff", email="boss@example.com")
    response = post_form(client, "/account/login",
                         {"email": "boss@example.com", "password": TEST_PASSWORD, "next": "/staff/tenants/"})
    assert response.location == "/staff/tenants/"


def test_merchant_of_suspended_tenant_cannot_log_in(client, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Closed Shop", status="suspended")
    make_user(tenant_id=tenant_id, email="m@example.com")
    assert login_as("m@example.com").status_code == 401


def test_disabled_user_cannot_log_in(make_user, login_as):
    make_user(role="staff", email="gone@example.com", is_enabled=False)
    assert login_as("gone@example.com").status_code == 401


def test_session_cookie_is_httponly_and_lax(client, make_user, login_as):
    make_user(role="staff", email="boss@example.com")
    response = login_as("boss@example.com")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_starts_a_fresh_session(client, make_user, login_as):
    make_user(role="staff", email="boss@example.com")
    with client.session_transaction() as sess:
        sess["planted"] = "by-attacker"
    login_as("boss@example.com")
    with client.session_transaction() as sess:
        assert "planted" not in sess


def test_invitation_sets_password_and_logs_in(app, client, staff, make_tenant):
    tenant_id = make_tenant("Invite Co")
    page = post_form(client, f"/staff/tenants/{tenant_id}/users/new",
                     {"email": "new@example.com", "mode": "invite"}, token_from="/")
    assert page.status_code == 200
    link = re.search(r'value="([^"]+)"[^>]*id="invitation-link"', page.get_data(as_text=True)).group(1)
    path = link.split("//", 1)[1].split("/", 1)[1]
    other = app.test_client()
    assert other.get("/" + path).status_code == 200
    weak = post_form(other, "/" + path, {"password": "short", "confirm": "short"}, token_from="/" + path)
    assert weak.status_code == 400
    done = post_form(other, "/" + path, {"password": "a-good-password", "confirm": "a-good-password"},
                     token_from="/" + path)
    assert done.status_code == 302
    assert other.get("/dashboard").status_code == 200
    assert app.test_client().get("/" + path).status_code == 404  # used up


def test_unknown_invitation_is_404(client):
    assert client.get("/account/invitation/not-a-real-token").status_code == 404
