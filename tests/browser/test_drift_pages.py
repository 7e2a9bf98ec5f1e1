"""The sync with WeChat and token health pages in a real browser: reached from the staff navigation, the
sync started with its button and followed by the page until its report shows, both pages clean in both
languages and on a phone."""

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _no_sideways_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the window"


def test_staff_start_the_sync_and_watch_its_report(page, platform, make_tenant, make_user):
    tenant_id = make_tenant("拉面小馆连锁")
    appid = platform.authorized_app(tenant_id, nick_name="拉面小馆")
    make_user(role="staff", email="ops@example.com")
    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)

    page.locator("#main-nav").get_by_role("link", name="令牌健康", exact=True).click()
    expect(page.get_by_role("heading", name="令牌健康", exact=True)).to_be_visible()
    expect(page.locator(f"#token-{appid}")).to_contain_text("拉面小馆")
    page.get_by_role("link", name="与微信同步", exact=True).click()
    expect(page.locator("#sync-none")).to_be_visible()

    page.locator("#sync-now").click()
    expect(page.locator(".flash-success")).to_be_visible()
    steps.run_jobs(platform)
    # jobs.js polls the run and reloads the page once it ends
    expect(page.locator("#sync-listed")).to_have_text("1", timeout=steps.JOB_WAIT_SECONDS * 1000)
    expect(page.locator("#sync-run [data-job-state]")).to_have_text(steps.DONE)
    expect(page.locator("#sync-now")).to_be_enabled()
    steps.shot(page, "30-staff-sync-report")
    page.get_by_role("link", name="令牌健康", exact=True).first.click()
    expect(page.locator(f"#token-{appid}")).to_contain_text("正常")
    steps.shot(page, "31-staff-token-health")


def test_both_pages_render_cleanly_in_both_languages_and_on_a_phone(page, platform, make_tenant, make_user):
    platform.authorized_app(make_tenant("拉面小馆连锁"), nick_name="拉面小馆")
    make_user(role="staff", email="ops@example.com")
    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)
    for language in ("zh", "en"):
        if language == "en":
            steps.switch_language(page, "en")
        for size in (None, PHONE):
            if size:
                page.set_viewport_size(size)
            for path in (steps.PLATFORM + "/sync", steps.PLATFORM + "/tokens"):
                page.goto(path)
                expect(page.locator("main h1")).to_be_visible()
                _no_sideways_scroll(page)
        page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.locator("#main-nav")).to_contain_text("Token health")
