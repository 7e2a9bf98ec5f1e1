"""Every page of today's portal in both languages and on a phone-sized screen: it renders, nothing overflows
sideways, and the browser reports no error (the `page` fixture fails the test on any console error)."""

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _no_sideways_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the window"


def _staff_pages(tenant_id):
    return ["/", steps.TENANTS + "/", steps.TENANTS + "/new", f"{steps.TENANTS}/{tenant_id}",
            f"{steps.TENANTS}/{tenant_id}/edit", f"{steps.TENANTS}/{tenant_id}/users/new", steps.PLATFORM + "/",
            steps.PLATFORM + "/pushes"]


@pytest.fixture
def portal_with_data(platform, make_tenant, make_user):
    """A staff user, a tenant with a merchant user and an authorized mini-program (by push, as a scan does)."""
    tenant_id = make_tenant("拉面小馆连锁", contact_name="王经理", contact_email="wang@example.com")
    make_user(role="staff", email="ops@example.com")
    make_user(tenant_id=tenant_id, email="owner@example.com", name="店长")
    appid = platform.authorized_app(tenant_id, nick_name="拉面小馆", principal_name="杭州拉面有限公司")
    return tenant_id, appid


def test_every_staff_page_renders_cleanly_in_both_languages(page, portal_with_data):
    tenant_id, _appid = portal_with_data
    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)
    for language in ("zh", "en"):
        if language == "en":
            steps.switch_language(page, "en")
        for path in _staff_pages(tenant_id):
            page.goto(path)
            expect(page.locator("main h1")).to_be_visible()
            expect(page.locator("html")).to_have_attribute("lang", "en" if language == "en" else "zh-CN")
            _no_sideways_scroll(page)
    steps.shot(page, "12-staff-pushes-en")


def test_merchant_pages_render_cleanly(page, portal_with_data):
    _tenant_id, appid = portal_with_data
    steps.log_in_as_merchant(page, "owner@example.com", TEST_PASSWORD)
    steps.expect_miniprogram_listed(page, appid)
    for path in ("/dashboard", "/authorization/"):
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        _no_sideways_scroll(page)


def test_suspending_a_tenant_asks_for_confirmation(page, portal_with_data):
    tenant_id, _appid = portal_with_data
    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)
    page.goto(f"{steps.TENANTS}/{tenant_id}")
    messages = []

    def answer(dialog, accept):
        messages.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.locator("#toggle-suspend").click()
    expect(page.locator(".badge-active")).to_be_visible()
    assert messages == ["该租户的商户用户将无法登录。确定继续？"]

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.locator("#toggle-suspend").click()
    expect(page.locator(".badge-suspended")).to_be_visible()
    expect(page.locator(".flash-success")).to_be_visible()


def test_phone_sized_screen_has_a_menu_button(new_page, portal_with_data):
    page = new_page()
    page.set_viewport_size(PHONE)
    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)
    nav = page.locator("#main-nav")
    expect(nav).to_be_hidden()
    page.locator("[data-toggle-nav]").click()
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="平台", exact=True).click()
    expect(page.get_by_role("heading", name="平台", level=1, exact=True)).to_be_visible()
    _no_sideways_scroll(page)
    steps.shot(page, "13-phone-platform")
