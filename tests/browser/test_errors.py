"""Error paths as a person sees them: human messages in Chinese, friendly error pages, never a stack trace.

Chromium logs every 4xx/5xx response as a console error; each test declares the ones it provokes.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def _expect_error_page(page, code, headline):
    expect(page.locator(".error-page h1")).to_have_text(str(code))
    expect(page.locator(".error-page .lead")).to_have_text(headline)
    expect(page.get_by_role("link", name="返回首页", exact=True)).to_be_visible()
    content = page.content()
    assert "Traceback" not in content and "werkzeug" not in content.lower()


def test_wrong_password_shows_the_chinese_message(page, console, make_tenant, make_user):
    make_user(tenant_id=make_tenant("面包坊"), email="baker@example.com")
    console.allow_status(401, "/account/login")
    steps.log_in(page, "baker@example.com", "not-the-password")
    expect(page.locator(".flash-error")).to_have_text("邮箱或密码错误，或账号已停用。")
    expect(page.locator(".flash-error")).to_have_attribute("role", "alert")
    expect(page.locator("#email")).to_have_value("baker@example.com")
    expect(page.locator("#password")).to_have_value("")
    steps.shot(page, "09-login-wrong-password")

    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page.get_by_role("heading", name="我的小程序", exact=True)).to_be_visible()


def test_merchant_cannot_open_another_tenants_pages(platform, new_page, console, make_tenant, make_user):
    tenant_a, tenant_b = make_tenant("甲商户"), make_tenant("乙商户")
    make_user(tenant_id=tenant_a, email="a@example.com")
    make_user(tenant_id=tenant_b, email="b@example.com")

    # Merchant B starts an authorization: WeChat would send B's browser back to this callback URL.
    merchant_b = new_page()
    steps.log_in_as_merchant(merchant_b, "b@example.com", TEST_PASSWORD)
    merchant_b.goto("/authorization/")
    merchant_b.locator("#authorize-qr-start").click()
    mobile_url = merchant_b.locator("#authorize-mobile").get_attribute("href")
    redirect_uri = parse_qs(urlsplit(mobile_url).query)["redirect_uri"][0]
    callback_b = urlsplit(redirect_uri).path

    merchant_a = new_page()
    steps.log_in_as_merchant(merchant_a, "a@example.com", TEST_PASSWORD)
    console.allow_status(404, callback_b)
    merchant_a.goto(callback_b + "?auth_code=stolen")
    _expect_error_page(merchant_a, 404, "页面不存在，或您无权查看。")
    steps.shot(merchant_a, "10-error-404")

    console.allow_status(403, f"{steps.TENANTS}/{tenant_b}")
    merchant_a.goto(f"{steps.TENANTS}/{tenant_b}")
    _expect_error_page(merchant_a, 403, "您无权访问此页面。")

    console.allow_status(404, "/no-such-page")
    merchant_a.goto("/no-such-page")
    _expect_error_page(merchant_a, 404, "页面不存在，或您无权查看。")
    merchant_a.get_by_role("link", name="返回首页", exact=True).click()
    expect(merchant_a.get_by_role("heading", name="我的小程序", exact=True)).to_be_visible()
    expect(merchant_a.locator("#miniprogram-list")).to_have_count(0)


def test_wechat_refusal_shows_the_human_message_and_retry_works(platform, page, console, make_tenant, make_user):
    make_user(tenant_id=make_tenant("茶饮店"), email="tea@example.com")
    steps.log_in_as_merchant(page, "tea@example.com", TEST_PASSWORD)
    platform.api.faults(endpoint="api_create_preauthcode", errcode=61004, errmsg="access clientip is not registered")
    console.allow_status(502, "/authorization/start")
    page.locator("#authorize-cta").click()
    page.locator("#authorize-qr-start").click()
    error = page.locator(".flash-error")
    expect(error).to_contain_text("服务器 IP 不在第三方平台的白名单中")
    expect(page.locator("#authorize-qr")).to_have_count(0)
    assert "Traceback" not in page.content()
    steps.shot(page, "11-authorize-wechat-error")

    platform.api.clear_faults()
    page.locator("#authorize-qr-start").click()  # the buttons stay on the page: trying again is one click
    expect(page.locator("#authorize-qr svg")).to_be_visible()


def test_a_second_audit_refused_by_wechat_shows_the_human_message(platform, page, make_tenant, make_user):
    """WeChat refuses a submission with 85009 (a version is already in review): the audit job fails and the
    page says so in words, with the code, without a reload."""
    platform.app.config.update(JOB_RETRY_INTERVALS=[0, 0])
    tenant_id = make_tenant("饺子馆")
    make_user(tenant_id=tenant_id, email="dumplings@example.com")
    appid = platform.authorized_app(tenant_id, nick_name="饺子馆小程序")
    template_id = steps.sandbox_template(platform)
    steps.log_in_as_merchant(page, "dumplings@example.com", TEST_PASSWORD)
    steps.open_code_management(page, appid, "饺子馆小程序")
    steps.upload_code(page, platform, template_id, "1.0.0")
    platform.api.advance(31)  # the privacy scan is over

    platform.api.faults(endpoint="submit_audit", appid=appid, errcode=85009, errmsg="already submitted")
    state, message, _live = steps.submit_audit(page, platform, expected=(steps.FAILED,))
    assert state == steps.FAILED
    assert "已有版本正在审核中" in message and "85009" in message, message
    job = page.locator("#jobs .job").first
    expect(job).to_have_class("job job-failed")
    expect(job.locator("[data-job-message]")).to_contain_text("已有版本正在审核中")
    expect(job.locator("[data-job-message]")).to_contain_text("85009")
    assert "Traceback" not in page.content()
    steps.shot(page, "19-audit-85009-error")
    assert platform.api.count("submit_audit", appid, errcode=85009) >= 1
