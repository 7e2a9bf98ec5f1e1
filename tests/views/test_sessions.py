"""Sessions end when they should, on every device: logout, a password change, disabling and re-inviting a
user; idle and absolute lifetimes; a remember-me cookie logs no one in. Through the HTTP routes."""

import re

from tests.conftest import TEST_PASSWORD, csrf_token, post_form

STAFF_PAGE = "/staff/tenants/"


def _logged_in(client, path=STAFF_PAGE):
    return client.get(path).status_code == 200


def _copy_session(source, target):
    """`target` sends `source`'s session cookie, as a stolen or copied cookie would be sent."""
    cookie = source.get_cookie("session")
    target.set_cookie("session", cookie.value)
    return target


def _logout(client):
    return client.post("/account/logout", data={"csrf_token": csrf_token(client, "/")})


def test_a_copied_cookie_stops_working_at_logout(app, make_user, login_as):
    make_user(role="staff", email="boss@example.com")
    device = app.test_client()
    login_as("boss@example.com", test_client=device)
    copy = _copy_session(device, app.test_client())
    assert _logged_in(copy)
    assert _logout(device).status_code == 302
    assert not _logged_in(device)
    assert not _logged_in(copy)  # the cookie saved before logout is dead too


def test_logout_ends_the_sessions_on_every_device(app, make_user, login_as):
    make_user(role="staff", email="boss@example.com")
    laptop, phone = app.test_client(), app.test_client()
    login_as("boss@example.com", test_client=laptop)
    login_as("boss@example.com", test_client=phone)
    _logout(laptop)
    assert not _logged_in(phone)
    login_as("boss@example.com", test_client=phone)  # logging in again works
    assert _logged_in(phone)


def test_a_password_change_ends_the_other_sessions(app, make_user, login_as):
    make_user(role="staff", email="boss@example.com")
    laptop, phone = app.test_client(), app.test_client()
    login_as("boss@example.com", test_client=laptop)
    login_as("boss@example.com", test_client=phone)
    wrong = post_form(laptop, "/account/password", {"current_password": "not-it-at-all",
                                                   "password": "a-new-password-1", "confirm": "a-new-password-1"},
                      token_from="/account/password")
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    assert _logged_in(phone)
    done = post_form(laptop, "/account/password", {"current_password": TEST_PASSWORD,
                                                  "password": "a-new-password-1", "confirm": "a-new-password-1"},
                     token_from="/account/password")
    assert done.status_code == 302
    assert _logged_in(laptop)  # the device that changed it stays in
    assert not _logged_in(phone)
    assert login_as("boss@example.com", test_client=phone).status_code == 401
    assert login_as("boss@example.com", "a-new-password-1", test_client=phone).status_code == 302


def test_disabling_a_user_ends_their_sessions_for_good(app, client, staff, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Shop")
    user_id = make_user(tenant_id=tenant_id, email="m@example.com")
    merchant = app.test_client()
    login_as("m@example.com", test_client=merchant)
    assert _logged_in(merchant, "/dashboard")
    post_form(client, f"/staff/tenants/{tenant_id}/users/{user_id}/enabled", {"enabled": "0"}, token_from="/")
    assert not _logged_in(merchant, "/dashboard")
    post_form(client, f"/staff/tenants/{tenant_id}/users/{user_id}/enabled", {"enabled": "1"}, token_from="/")
    assert not _logged_in(merchant, "/dashboard")  # enabling again does not revive the old session
    assert login_as("m@example.com", test_client=merchant).status_code == 302


def test_reinviting_a_user_ends_their_sessions(app, client, staff, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Shop")
    user_id = make_user(tenant_id=tenant_id, email="m@example.com")
    merchant = app.test_client()
    login_as("m@example.com", test_client=merchant)
    page = post_form(client, f"/staff/tenants/{tenant_id}/users/{user_id}/reinvite", {}, token_from="/")
    assert page.status_code == 200
    assert not _logged_in(merchant, "/dashboard")
    link = re.search(r'value="([^"]+)"[^>]*id="invitation-link"', page.get_data(as_text=True)).group(1)
    path = "/" + link.split("//", 1)[1].split("/", 1)[1]
    invited = app.test_client()
    done = post_form(invited, path, {"password": "a-good-password", "confirm": "a-good-password"}, token_from=path)
    assert done.status_code == 302
    assert _logged_in(invited, "/dashboard")
    assert not _logged_in(merchant, "/dashboard")  # a password set again does not revive the old session


def _age_session(client, **seconds_ago):
    with client.session_transaction() as sess:
        for mark, ago in seconds_ago.items():
            sess[f"_session_{mark}"] -= ago


def test_a_session_ends_after_idle_time(make_app, make_user, login_as):
    app = make_app(SESSION_IDLE_MINUTES=30)
    make_user(role="staff", email="boss@example.com")
    active, idle = app.test_client(), app.test_client()
    login_as("boss@example.com", test_client=active)
    login_as("boss@example.com", test_client=idle)
    _age_session(active, began=29 * 60, seen=29 * 60)
    assert _logged_in(active)
    _age_session(idle, began=31 * 60, seen=31 * 60)
    assert not _logged_in(idle)


def test_the_default_idle_time_is_two_hours(client, make_user, login_as):
    make_user(role="staff", email="boss@example.com")
    login_as("boss@example.com")
    _age_session(client, began=121 * 60, seen=121 * 60)
    assert not _logged_in(client)


def test_a_session_in_use_still_ends_at_its_absolute_lifetime(make_app, make_user, login_as):
    app = make_app(SESSION_MAX_HOURS=8)
    make_user(role="staff", email="boss@example.com")
    client = app.test_client()
    login_as("boss@example.com", test_client=client)
    _age_session(client, began=7 * 3600)
    assert _logged_in(client)
    _age_session(client, began=3600 + 60)  # used a moment ago, but begun over 8 hours ago
    assert not _logged_in(client)


def test_a_remember_me_cookie_logs_no_one_in(app, make_user):
    from flask_login.utils import encode_cookie

    user_id = make_user(role="staff", email="boss@example.com")
    with app.test_request_context():
        value = encode_cookie(str(user_id))
    client = app.test_client()
    client.set_cookie("remember_token", value)
    assert not _logged_in(client)
