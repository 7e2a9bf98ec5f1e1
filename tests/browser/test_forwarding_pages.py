"""The push-forwarding pages in a browser, in both languages and on a phone-sized screen: a rule made
through the form, its secret shown once, the rules page and the delivery log render without sideways
scrolling or console errors."""

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.test_pages import PHONE, _no_sideways_scroll
from tests.conftest import TEST_PASSWORD, wait_for

pytestmark = pytest.mark.browser
PAGES = ("/staff/forwarding/", "/staff/forwarding/new", "/staff/forwarding/deliveries")


@pytest.fixture
def staff_with_rule(page, platform, make_user):
    make_user(role="staff", email="ops@example.com")
    appid = platform.authorized_app(nick_name="拉面小馆")
    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)
    page.locator("#main-nav").get_by_role("link", name="推送转发", exact=True).click()
    page.get_by_role("link", name="新建规则").click()
    page.fill("#name", "门店后台 · 客服消息与审核结果")
    page.fill("#url", f"{platform.api.base}/sandbox/receiver/shop-back-end-with-a-rather-long-name")
    page.fill("#kinds", "weapp_audit_* text image event")
    page.get_by_role("button", name="创建").click()
    secret = page.locator("#rule-secret").inner_text()
    assert len(secret) > 30
    page.get_by_role("link", name="完成").click()
    expect(page.locator("#forwarding-rules")).not_to_contain_text(secret)
    platform.api.call("/sandbox/messages", {"appid": appid, "content": "你好", "wait": True})
    received = lambda: platform.api.call(  # noqa: E731
        "/sandbox/receivers/shop-back-end-with-a-rather-long-name", method="GET")["received"]
    wait_for(platform.app, received, timeout=30, what="the message forwarded")
    return page


def test_forwarding_pages_render_cleanly_in_both_languages(staff_with_rule):
    page = staff_with_rule
    for language in ("zh", "en"):
        if language == "en":
            steps.switch_language(page, "en")
        for path in PAGES:
            page.goto(path)
            expect(page.locator("main h1")).to_be_visible()
            _no_sideways_scroll(page)
        if language == "zh":
            page.goto("/staff/forwarding/")
            steps.shot(page, "forwarding-rules-zh")
    page.goto("/staff/forwarding/deliveries")
    expect(page.locator("#deliveries")).to_contain_text("Delivered")
    steps.shot(page, "forwarding-deliveries-en")


def test_forwarding_pages_fit_a_phone(staff_with_rule, new_page):
    page = new_page()
    page.set_viewport_size(PHONE)
    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)
    for path in PAGES:
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        _no_sideways_scroll(page)
