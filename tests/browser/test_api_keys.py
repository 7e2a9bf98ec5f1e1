"""The API key page in a browser: a staff member reaches it from the navigation, creates a key for one tenant
and sees it once, the key works on the API, revoking asks first and ends it; the page fits a desktop in both
languages and a phone."""

import pytest
import requests
from playwright.sync_api import expect

from tests.browser import steps
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 800}


def _no_sideways_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{page.url} is {overflow}px wider than the window"


def test_staff_create_see_once_use_and_revoke_a_key(page, platform, make_tenant, make_user):
    tenant_id = make_tenant("拉面小馆连锁")
    appid = platform.authorized_app(tenant_id, nick_name="拉面小馆")
    make_user(role="staff", email="ops@example.com")
    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)
    page.locator("#main-nav").get_by_role("link", name="API 密钥", exact=True).click()
    expect(page.get_by_role("heading", name="API 密钥", exact=True)).to_be_visible()
    page.locator("#name").fill("门店收银系统")
    page.locator("#tenant_ids").select_option(label="拉面小馆连锁")
    page.get_by_role("button", name="创建密钥").click()
    key = page.locator("#new-api-key").inner_text().strip()
    assert key.startswith("wxp_")
    steps.shot(page, "api-key-created")
    answer = requests.get(f"{platform.url}/api/v1/authorizers/{appid}/access-token",
                          headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["appid"] == appid

    page.get_by_role("link", name="返回 API 密钥").click()
    row = page.locator("#api-keys tbody tr").first
    expect(row).to_contain_text("门店收银系统")
    expect(row).to_contain_text("拉面小馆连锁")
    assert key not in page.content()
    dialogs = []
    page.wait_for_load_state("load")  # portal.js asks for the confirmation only once it runs
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="吊销").click()
    expect(row.get_by_role("button", name="吊销")).to_be_visible()
    assert dialogs == ["使用此密钥的调用将立即被拒绝。确定继续吗？"]
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="吊销").click()
    expect(page.locator(".flash-success")).to_contain_text("门店收银系统")
    expect(page.locator("#api-keys tbody tr").first).to_contain_text("已于")
    answer = requests.get(f"{platform.url}/api/v1/authorizers/{appid}/access-token",
                          headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert answer.status_code == 401

    # a phone in Chinese, as the other pages are held to (the English header is wider than a phone)
    for language, sizes in (("zh", (PHONE, DESKTOP)), ("en", (DESKTOP,))):
        if language == "en":
            steps.switch_language(page, "en")
        for size in sizes:
            page.set_viewport_size(size)
            page.goto("/staff/api-keys/")
            expect(page.locator("main h1")).to_be_visible()
            _no_sideways_scroll(page)
    steps.shot(page, "api-keys-en")
