"""Login: an unknown email costs what a wrong password costs, failures are counted per account and IP
and per IP (so no stranger can lock out an account), and repeated failures slow down rather than lock."""

import hashlib
import os
import re
import time

import pytest

from tests.conftest import TEST_PASSWORD, post_form

STRANGER, OWNER = "203.0.113.5", "198.51.100.7"


def _attempt(client, email, password, ip="127.0.0.1"):
    return post_form(client, "/account/login", {"email": email, "password": password},
                     environ_base={"REMOTE_ADDR": ip})


def _scrypt_calls(monkeypatch):
    calls = []
    real = hashlib.scrypt

    def counting(*args, **kwargs):
        calls.append(kwargs.get("n"))
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def test_an_unknown_email_costs_the_same_password_check_as_a_wrong_password(app, client, make_user, monkeypatch):
    from portal.models import User

    make_user(role="staff", email="boss@example.com")
    _attempt(client, "warm-up@example.com", "whatever")  # the stand-in hash is made once per process
    calls = _scrypt_calls(monkeypatch)
    assert _attempt(client, "nobody@example.com", "guess-one").status_code == 401
    unknown = list(calls)
    calls.clear()
    assert _attempt(client, "boss@example.com", "guess-one").status_code == 401
    assert unknown == calls and len(calls) == 1  # one scrypt check of the same cost either way
    with app.app_context():
        cost = User.query.filter_by(email="boss@example.com").one().password_hash.split("$")[0]
    assert cost.startswith("scrypt:") and str(calls[0]) in cost


def test_a_pending_invitation_costs_a_password_check_too(app, client, make_user, monkeypatch):
    make_user(role="staff", email="boss@example.com")
    make_user(role="staff", email="invited@example.com", password=None)
    _attempt(client, "warm-up@example.com", "whatever")
    calls = _scrypt_calls(monkeypatch)
    assert _attempt(client, "invited@example.com", "guess").status_code == 401
    assert len(calls) == 1


def test_a_stranger_cannot_lock_the_owner_out(client, make_user):
    make_user(role="staff", email="boss@example.com")
    codes = [_attempt(client, "boss@example.com", f"guess-{n}", ip=STRANGER).status_code for n in range(15)]
    assert codes[0] == 401 and codes[-1] == 429  # the stranger is slowed down …
    assert _attempt(client, "boss@example.com", TEST_PASSWORD, ip=OWNER).status_code == 302  # … the owner is not


def test_repeated_failures_wait_longer_and_longer(make_app, make_user):
    app = make_app(LOGIN_FREE_FAILURES=2)
    client = app.test_client()
    make_user(role="staff", email="boss@example.com")
    assert [_attempt(client, "boss@example.com", "wrong").status_code for _ in range(2)] == [401, 401]
    waiting = _attempt(client, "boss@example.com", TEST_PASSWORD)  # even the right password waits its turn
    first = re.search(r"登录尝试过多，请在 (\d+) 秒后再试", waiting.get_data(as_text=True))
    assert waiting.status_code == 429 and first and 0 < int(first.group(1)) <= 2, first
    time.sleep(2.1)
    assert _attempt(client, "boss@example.com", "wrong").status_code == 401
    longer = _attempt(client, "boss@example.com", "wrong")
    # the wait after the third failure is 4 s, counted from that failure: the time this request took to come
    # (a password hash on a busy machine) is already gone from it, so the page may say a little less
    wait = re.search(r"请在 (\d+) 秒后再试", longer.get_data(as_text=True))
    assert longer.status_code == 429 and wait and int(first.group(1)) < int(wait.group(1)) <= 4, wait
    # the account is not locked: its owner, elsewhere, logs in at once
    assert _attempt(client, "boss@example.com", TEST_PASSWORD, ip=OWNER).status_code == 302


def test_the_wait_ends_and_a_success_forgets_the_failures(make_app, make_user):
    app = make_app(LOGIN_FREE_FAILURES=2)
    make_user(role="staff", email="boss@example.com")
    client = app.test_client()
    [_attempt(client, "boss@example.com", "wrong") for _ in range(2)]
    time.sleep(2.1)
    assert _attempt(client, "boss@example.com", TEST_PASSWORD).status_code == 302
    other = app.test_client()
    assert _attempt(other, "boss@example.com", "wrong").status_code == 401  # counting starts again at one
    assert _attempt(other, "boss@example.com", TEST_PASSWORD).status_code == 302


def test_failures_from_one_ip_across_accounts_slow_that_ip_down(make_app, make_user):
    app = make_app(LOGIN_IP_FREE_FAILURES=3)
    make_user(role="staff", email="boss@example.com")
    client = app.test_client()
    codes = [_attempt(client, f"guess{n}@example.com", "x", ip=STRANGER).status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
    assert _attempt(client, "boss@example.com", TEST_PASSWORD, ip=STRANGER).status_code == 429
    assert _attempt(client, "boss@example.com", TEST_PASSWORD, ip=OWNER).status_code == 302


def test_the_wait_message_is_in_english_too(make_app, make_user):
    app = make_app(LOGIN_FREE_FAILURES=1)
    client = app.test_client()
    post_form(client, "/account/language", {"language": "en", "next": "/account/login"})
    _attempt(client, "nobody@example.com", "wrong")
    page = _attempt(client, "nobody@example.com", "wrong")
    assert page.status_code == 429
    assert "Too many login attempts. Please try again in 2 seconds." in page.get_data(as_text=True)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis")
def test_failures_are_counted_in_redis_when_there_is_one(make_app, make_user):
    from tests.conftest import _test_redis_url

    app = make_app(LOGIN_FREE_FAILURES=2, RATELIMIT_STORAGE_URI=_test_redis_url(os.environ["REDIS_URL"]))
    make_user(role="staff", email="boss@example.com")
    client = app.test_client()
    assert [_attempt(client, "boss@example.com", "wrong").status_code for _ in range(2)] == [401, 401]
    waiting = _attempt(client, "boss@example.com", TEST_PASSWORD)
    assert waiting.status_code == 429 and "请在 2 秒后再试" in waiting.get_data(as_text=True)
    assert any(key.startswith(b"LIMITS:login-wait:") for key in app.extensions["redis"].keys("LIMITS:*"))
    assert _attempt(client, "boss@example.com", TEST_PASSWORD, ip=OWNER).status_code == 302
