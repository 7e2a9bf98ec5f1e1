"""The language switch in the header (zh ⇄ en): portal.js submits it on change, and the choice sticks."""

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def _expect_language(page, language, heading):
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if language == "zh" else "en")
    expect(page.locator("#language-select")).to_have_value(language)
    expect(page.get_by_role("heading", name=heading, level=1, exact=True)).to_be_visible()


def test_visitor_switches_language_on_the_login_page(page):
    steps.open_login(page)
    _expect_language(page, "zh", "登录")
    steps.switch_language(page, "en")
    _expect_language(page, "en", "Log in")
    expect(page.locator("label[for=email]")).to_have_text("Email")
    page.reload()
    _expect_language(page, "en", "Log in")
    steps.switch_language(page, "zh")
    _expect_language(page, "zh", "登录")


def test_language_choice_persists_across_pages_and_logins(page, make_user):
    make_user(role="staff", email="ops@example.com")
    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)
    steps.switch_language(page, "en")
    _expect_language(page, "en", "Platform overview")
    nav = page.locator("#main-nav")
    nav.get_by_role("link", name="Tenants", exact=True).click()
    _expect_language(page, "en", "Tenants")
    nav.get_by_role("link", name="Platform", exact=True).click()
    _expect_language(page, "en", "Platform")
    page.get_by_role("link", name="Pushes from WeChat", exact=True).click()
    _expect_language(page, "en", "Pushes from WeChat")
    expect(page.locator("#logout-button")).to_have_text("Log out")

    # The choice is saved for the user: a new browser session after logging in again is still English.
    steps.log_out(page)
    steps.log_in(page, "ops@example.com", TEST_PASSWORD)
    _expect_language(page, "en", "Platform overview")

    steps.switch_language(page, "zh")
    _expect_language(page, "zh", "平台概览")
    nav.get_by_role("link", name="租户", exact=True).click()
    _expect_language(page, "zh", "租户")


def test_language_picked_before_logging_in_is_kept_after_login(page, make_user):
    make_user(role="staff", email="ops@example.com")
    steps.open_login(page)
    steps.switch_language(page, "en")
    steps.log_in(page, "ops@example.com", TEST_PASSWORD)
    expect(page.locator("#logout-button")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
