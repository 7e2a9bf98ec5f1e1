"""Official accounts (公众号) are forwarded like mini-programs: a user's message to an official account,
pushed by the sandbox to the account's message URL, is accepted, stored, and forwarded by a rule scoped
to the account's tenant (and not by another tenant's rule); the delivery log names the account. Run with
and without REDIS_URL: the deliveries are woken through the job queue either way."""

from tests.conftest import drain_jobs, wait_for
from tests.forwarding.conftest import body, verify


def _official_account(env, tenant_id, nick_name):
    """A sandbox official account authorized by push, stored by the portal and given to `tenant_id`;
    returns (appid, its gh_ original id as the portal stored it)."""
    from portal.extensions import db
    from portal.models import MiniProgram, OfficialAccount

    appid = env.api.create_miniprogram(account_type="official_account", nick_name=nick_name)
    env.api.authorize(appid)
    drain_jobs(env.app)
    with env.app.app_context():
        account = OfficialAccount.query.filter_by(appid=appid).one()
        assert MiniProgram.query.filter_by(authorizer_appid=appid).count() == 0
        account.tenant_id = tenant_id
        db.session.commit()
        assert account.user_name and account.user_name.startswith("gh_")
        return appid, account.user_name


def _stored_messages(env, appid):
    from portal.models import CallbackEvent

    with env.app.app_context():
        return [(e.kind, e.appid) for e in CallbackEvent.query.filter_by(source="message", appid=appid)]


def test_a_tenant_rule_forwards_its_official_accounts_messages_and_not_another_tenants(env, make_tenant):
    mine_tenant, other_tenant = make_tenant(name="Flower Café"), make_tenant(name="Tea House")
    mine, gh_mine = _official_account(env, mine_tenant, "花间咖啡服务号")
    other, _gh_other = _official_account(env, other_tenant, "茶馆订阅号")
    _page, secret = env.create_rule("Café service desk", "cafe", kinds="text image", tenant_id=mine_tenant)

    pushes = [env.message(mine, "你好"), env.message(other, "not the café's"), env.message(mine, "", "image")]
    assert all(p["state"] == "success" for p in pushes)  # WeChat's view: each accepted at once
    assert _stored_messages(env, mine) == [("text", mine), ("image", mine)]
    assert _stored_messages(env, other) == [("text", other)]

    wait_for(env.app, lambda: len(env.received("cafe", "accepted")) >= 2, timeout=30,
             what="the café's two messages forwarded")
    got = env.received("cafe")
    assert [(body(r)["ToUserName"], body(r)["MsgType"]) for r in got] == [(gh_mine, "text"), (gh_mine, "image")]
    assert body(got[0])["Content"] == "你好" and all(verify(secret, r) for r in got)
    assert [(d["appid"], d["status"]) for d in env.deliveries()] == [(mine, "delivered")] * 2

    log = env.staff.get("/staff/forwarding/deliveries")
    page = log.get_data(as_text=True)
    assert log.status_code == 200 and page.count("花间咖啡服务号") == 2 and "茶馆订阅号" not in page
    assert page.count(mine) == 2 and other not in page


def test_a_rule_can_name_an_official_account(env, make_tenant):
    appid, gh = _official_account(env, make_tenant(), "One account")
    response, secret = env.create_rule("This account only", "one", kinds="*", appid=appid)
    assert response.status_code == 200 and secret
    env.message(appid, "hi")
    wait_for(env.app, lambda: env.received("one", "accepted"), timeout=30, what="the account's message forwarded")
    assert [body(r)["ToUserName"] for r in env.received("one")] == [gh]


def test_a_message_replayed_to_another_official_accounts_url_is_refused(env, make_tenant):
    """The gh_ check knows official accounts: a push for one account posted to another's message URL is
    refused and stores nothing."""
    first, _gh = _official_account(env, make_tenant(), "First")
    second, _gh = _official_account(env, make_tenant(), "Second")
    env.message(first, "warm")  # this process has read the accounts' gh_ names
    push = env.api.call("/sandbox/messages", {"appid": first, "msg_type": "text", "content": "replayed",
                                              "wait": True})["push"]
    replay = env.platform.client().post(f"/wechat/events/{second}", query_string=push["query"],
                                        data=push["body"], content_type="text/xml")
    assert replay.status_code == 400
    assert _stored_messages(env, second) == []
