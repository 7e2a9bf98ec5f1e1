"""An official account (公众号) in a real browser: the merchant picks "official account" on the authorize
page, WeChat's (the sandbox's) page offers it and not the mini-program, the dashboard lists it with its
service type and verification state in words; two hours later its token is refreshed by the token refresher;
its administrator cancels the authorization in WeChat and the portal clears its token."""

import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser import steps
from tests.conftest import TEST_PASSWORD, drain_jobs
from tests.helpers import drop_cached_tokens

pytestmark = pytest.mark.browser

OA_NAME = "花间咖啡服务号"


def _reload_until(page, platform, locator, seconds=steps.PUSH_WAIT_SECONDS):
    """Pushes are applied as they arrive: reload (running queued jobs on Redis) until `locator` shows."""
    deadline = time.monotonic() + seconds
    while locator.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        drain_jobs(platform.app)
        page.reload()
    expect(locator).to_be_visible()


def _two_hours_pass(platform, appid):
    """WeChat's clock moves on two hours and the portal's stored expiry with it (as the token tests do)."""
    from portal.extensions import db

    platform.api.advance(7200 + 600)
    with platform.app.app_context():
        db.session.execute(sa.text("UPDATE wxuser SET authorizer_expires = 1 WHERE appid = :a"), {"a": appid})
        db.session.execute(sa.text("UPDATE weixin_account SET token_expires = 1"))
        db.session.commit()
    drop_cached_tokens(platform.app)


def test_official_account_authorized_refreshed_and_unauthorized(platform, new_page, make_tenant, make_user,
                                                                 sandbox):
    tenant_id = make_tenant("花间咖啡")
    make_user(tenant_id=tenant_id, email="owner@example.com")
    appid = platform.api.create_miniprogram(nick_name=OA_NAME, account_type="official_account",
                                            principal_name="花间咖啡有限公司", service_type=2, verify_type=-1)
    miniprogram = platform.api.create_miniprogram(nick_name="花间咖啡小程序")
    page = new_page()
    steps.log_in_as_merchant(page, "owner@example.com", TEST_PASSWORD)

    # The merchant asks for an official account; WeChat's page lists it and not the mini-program.
    steps.open_authorize_page(page)
    page.locator("#account-kind").get_by_label("公众号", exact=True).check()
    steps.shot(page, "oa-00-authorize-kind")
    steps.go_to_wechat_authorization(page, sandbox.url)
    expect(page.locator(f"#authorizer_appid option[value='{miniprogram}']")).to_have_count(0)
    steps.shot(page, "oa-01-sandbox-authorization")
    steps.confirm_on_wechat(page, appid, OA_NAME)

    # Back on the dashboard: its own section, the type and verification in words.
    expect(page.locator(".flash-success")).to_contain_text(f"{OA_NAME} 已授权给平台")
    row = page.locator("#official-account-list tbody tr", has_text=appid)
    expect(row).to_contain_text(OA_NAME)
    expect(row.locator(".service-type")).to_have_text("服务号")
    expect(row.locator(".verify-type")).to_have_text("未认证")
    expect(row.locator(".badge-authorized")).to_have_text("已授权")
    expect(page.locator("#miniprogram-list")).to_have_count(0)  # no mini-program was authorized
    row.get_by_role("link", name=OA_NAME).click()
    expect(page.get_by_role("heading", name=OA_NAME, level=1)).to_be_visible()
    expect(page.locator("#main-nav a.active")).to_have_text("我的小程序")
    expect(page.locator("#oa-service-type")).to_have_text("服务号")
    fingerprint = page.locator("#oa-token-fingerprint").inner_text()
    steps.shot(page, "oa-02-detail")

    # Two hours later the refresher (the periodic job, run here by its CLI command) renews the token.
    _two_hours_pass(platform, appid)
    result = platform.app.test_cli_runner().invoke(args=["refresh-tokens"])
    assert result.exit_code == 0, result.output
    page.reload()
    expect(page.locator("#oa-token-fingerprint")).not_to_have_text(fingerprint)
    expect(page.locator("#oa-token")).not_to_contain_text("已过期")
    assert platform.api.count("api_authorizer_token") == 1

    # The administrator cancels the authorization in WeChat: the push clears the token.
    platform.api.unauthorize(appid)
    _reload_until(page, platform, page.locator("#oa-state .badge-unauthorized"))
    expect(page.locator("#oa-no-token")).to_be_visible()
    expect(page.locator("#oa-token-fingerprint")).to_have_count(0)
    steps.shot(page, "oa-03-unauthorized")
    page.goto("/dashboard")
    expect(page.locator("#official-account-list tbody tr", has_text=appid).locator(".badge-unauthorized")) \
        .to_have_text("已取消授权")
