"""Merchant actions that call WeChat are rate-limited per user and per mini-program
(MERCHANT_WECHAT_RATE_LIMIT), with a 429 page that says why in the reader's language; a merchant who
posts to another tenant's mini-program spends their own budget, never the owner's."""

from tests.conftest import post_form
from tests.helpers import merchant_client, start_authorization

ZH_WAIT = "请稍等一分钟后再试"
USER_ZH = "您在短时间内向微信发起的请求过多"
APP_ZH = "这个小程序在短时间内向微信发起的请求过多"
APP_EN = "This mini-program has had too many WeChat requests in a short time"


def _bind(env, client, wechatid):
    return post_form(client, env.url("testers/bind"), {"wechatid": wechatid}, token_from="/dashboard")


def test_wechat_actions_are_limited_per_user_and_per_miniprogram(code_env, make_tenant, make_user, login_as):
    env = code_env
    env.app.config.update(MERCHANT_WECHAT_RATE_LIMIT="3 per minute")
    # A merchant of another tenant tries tenant A's mini-program: 404s, then 429 on their own budget only.
    _tenant_b, intruder = merchant_client(env.platform, make_tenant, make_user, login_as, name="Other",
                                          email="intruder@example.com")
    assert [_bind(env, intruder, f"x{n}").status_code for n in range(4)] == [404, 404, 404, 429]

    assert [_bind(env, env.client, f"tester{n}").status_code for n in range(3)] == [302, 302, 302]
    refused = _bind(env, env.client, "tester3")
    assert refused.status_code == 429 and ZH_WAIT in refused.get_data(as_text=True)
    assert env.api.count("bind_tester") == 3  # the refused one never reached WeChat

    # A colleague in the same tenant has a budget of their own, but the mini-program's is spent.
    make_user(tenant_id=env.tenant_id, email="colleague@example.com")
    colleague = env.platform.client()
    login_as("colleague@example.com", test_client=colleague)
    html = _bind(env, colleague, "tester4").get_data(as_text=True)
    assert APP_ZH in html and USER_ZH not in html
    post_form(colleague, "/account/language", {"language": "en", "next": "/dashboard"}, token_from="/dashboard")
    english = _bind(env, colleague, "tester5")
    assert english.status_code == 429 and APP_EN in english.get_data(as_text=True)
    # Pages that only read stay open, and other actions share the same budgets.
    assert env.get("testers").status_code == 200
    assert post_form(env.client, env.url("privacy/apply"), {}, token_from="/dashboard").status_code == 429
    assert env.client.get(env.url("qrcode")).status_code == 429
    assert env.api.count("bind_tester") == 3


def test_authorization_clicks_are_limited_per_user(platform, make_tenant, make_user, login_as):
    platform.app.config.update(MERCHANT_WECHAT_RATE_LIMIT="2 per minute")
    _tenant, client = merchant_client(platform, make_tenant, make_user, login_as)
    assert [start_authorization(client).status_code for _ in range(3)] == [303, 303, 429]
    page = start_authorization(client).get_data(as_text=True)
    assert USER_ZH in page and ZH_WAIT in page
    assert platform.api.count("api_create_preauthcode") == 2
