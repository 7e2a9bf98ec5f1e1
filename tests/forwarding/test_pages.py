"""The staff pages of push forwarding: rules with a secret shown once and sealed at rest, targets checked,
a test push, turning a rule off, and the delivery log with re-sending of what was given up. Pages speak
Chinese (the default locale)."""

import sqlalchemy as sa

from tests.conftest import post_form, wait_for
from tests.forwarding.conftest import body, verify


def _raw_rules(env):
    from portal.extensions import db

    with env.app.app_context():
        return [dict(r._mapping) for r in db.session.execute(sa.text("SELECT id, name, url, secret, enabled "
                                                                     "FROM forward_rules ORDER BY id"))]


def _action(env, path, **data):
    return post_form(env.staff, path, data, token_from="/staff/forwarding/")


def test_a_rule_shows_its_secret_once_and_keeps_it_sealed(env):
    response, secret = env.create_rule("Orders", "orders", kinds="weapp_audit_*, text")
    assert response.status_code == 200 and secret and response.headers["Cache-Control"] == "no-store"
    [row] = _raw_rules(env)
    assert row["secret"].startswith("enc2:") and secret not in row["secret"]
    listing = env.staff.get("/staff/forwarding/").get_data(as_text=True)
    assert "Orders" in listing and "weapp_audit_* text" in listing and secret not in listing
    assert secret[:4] + "…" in listing
    again = _action(env, f"/staff/forwarding/{row['id']}/secret")
    new_secret = again.get_data(as_text=True).split('<code id="rule-secret">')[1].split("<")[0]
    assert new_secret != secret and again.headers["Cache-Control"] == "no-store"


def test_targets_and_patterns_are_checked(env):
    cases = [("http://shop.example.com/hook", "https://"), ("ftp://127.0.0.1/x", "https://"),
             ("https://shop.example.com/hook", None)]
    for url, refusal in cases:
        response, secret = env.create_rule("Hook", "unused", url=url)
        page = response.get_data(as_text=True)
        assert (refusal in page and response.status_code == 400 and not secret) if refusal else bool(secret)
    response, _secret = env.create_rule("Bad", "unused", kinds="weapp_*_success")
    assert response.status_code == 400 and "weapp_*_success" in response.get_data(as_text=True)
    response, _secret = env.create_rule("Bad app", "unused", appid="wx_not_here")
    assert response.status_code == 400
    env.app.config["FORWARDING_ALLOW_LOOPBACK_HTTP"] = False
    response, _secret = env.create_rule("Local", "local")
    assert response.status_code == 400 and "只在开发环境中允许" in response.get_data(as_text=True)
    assert [r["url"] for r in _raw_rules(env)] == ["https://shop.example.com/hook"]


def test_the_test_push_button_sends_a_signed_push_and_says_how_it_went(env):
    _page, secret = env.create_rule("CS tool", "cs")
    test_path = f"/staff/forwarding/{_raw_rules(env)[0]['id']}/test"
    answer = _action(env, test_path)
    assert answer.status_code == 302
    [record] = env.received("cs")
    assert body(record)["Event"] == "portal_test_push" and verify(secret, record)
    assert record["headers"]["X-Portal-Push-Id"].startswith("test-")
    assert "测试推送已送达：HTTP 200" in env.staff.get("/staff/forwarding/").get_data(as_text=True)
    env.configure("cs", fail_first=1)
    _action(env, test_path)
    assert "测试推送失败：HTTP 500" in env.staff.get("/staff/forwarding/").get_data(as_text=True)
    assert env.deliveries() == []  # test pushes are not in the log


def test_a_rule_turned_off_queues_nothing_and_on_again_forwards(env):
    appid = env.platform.authorized_app()
    env.create_rule("Shop", "shop", kinds="text")
    enabled_path = f"/staff/forwarding/{_raw_rules(env)[0]['id']}/enabled"
    _action(env, enabled_path, enabled="0")
    assert not _raw_rules(env)[0]["enabled"]
    env.message(appid, "while off")
    assert env.deliveries() == []
    _action(env, enabled_path, enabled="1")
    env.message(appid, "while on")
    wait_for(env.app, lambda: env.received("shop", "accepted"), timeout=30, what="the push forwarded")
    assert [body(r)["Content"] for r in env.received("shop")] == ["while on"]


def test_a_delivery_given_up_is_in_the_log_and_can_be_sent_again(env):
    env.app.config["FORWARDING_GIVE_UP_HOURS"] = 0  # the first failure is the last
    appid = env.platform.authorized_app()
    env.configure("flaky", fail_first=1)
    env.create_rule("Flaky", "flaky", kinds="text")
    env.message(appid, "important")
    wait_for(env.app, lambda: [d for d in env.deliveries() if d["status"] == "dead"], timeout=30,
             what="the delivery given up")
    [dead] = env.deliveries()
    assert (dead["attempts"], dead["last_error"]) == (1, "HTTP 500")
    log = env.staff.get("/staff/forwarding/deliveries?status=dead").get_data(as_text=True)
    assert f'id="delivery-{dead["id"]}" data-status="dead"' in log and "HTTP 500" in log
    env.app.config["FORWARDING_GIVE_UP_HOURS"] = 24
    assert _action(env, f"/staff/forwarding/deliveries/{dead['id']}/resend").status_code == 302
    wait_for(env.app, lambda: env.deliveries()[0]["status"] == "delivered", timeout=30, what="the re-sent push")
    assert [body(r)["Content"] for r in env.received("flaky", "accepted")] == ["important"]
    again = _action(env, f"/staff/forwarding/deliveries/{dead['id']}/resend")
    assert "只有已放弃的投递才能重新发送" in env.staff.get(again.headers["Location"]).get_data(as_text=True)


def test_forwarding_pages_are_for_staff_only(env, make_tenant, make_user, login_as):
    tenant = make_tenant()
    make_user(tenant_id=tenant, email="merchant-fw@example.com")
    merchant = env.platform.client()
    login_as("merchant-fw@example.com", test_client=merchant)
    for path in ("/staff/forwarding/", "/staff/forwarding/new", "/staff/forwarding/deliveries"):
        assert merchant.get(path).status_code in (403, 404)
    env.create_rule("Shop", "shop")
    assert merchant.post(f"/staff/forwarding/{_raw_rules(env)[0]['id']}/test").status_code in (400, 403, 404)
    assert not env.received("shop")
    assert 'href="/staff/forwarding/"' in env.staff.get("/").get_data(as_text=True)
