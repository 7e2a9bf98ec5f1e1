"""A mini-program new to WeChat, set up in the browser: its checklist on the overview goes from all red to
all green, the name and category audits decided through the sandbox's control API; and a submission WeChat
would refuse with 86002 is stopped with a message that points at the Setup tab."""

import re

import pytest
from playwright.sync_api import expect

from portal.models import MiniProgram
from sandbox.avatars import avatar_png
from tests.browser import steps
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser
CHECKS = 7


def _png(name):
    return {"name": f"{name}.png", "mimeType": "image/png", "buffer": avatar_png(name)}


@pytest.fixture
def blank_app(platform, make_tenant, make_user):
    """(mp_id, appid) of a mini-program without name, avatar, introduction or category, and its merchant."""
    tenant_id = make_tenant("花间咖啡")
    make_user(tenant_id=tenant_id, email="owner@example.com")
    appid = platform.authorized_app(tenant_id, blank=True)
    with platform.app.app_context():
        return MiniProgram.query.filter_by(authorizer_appid=appid).one().id, appid


def _open_setup(page, section):
    page.locator("nav.tabs").get_by_role("link", name="基础设置", exact=True).click()
    page.locator("nav.subtabs").get_by_role("link", name=section, exact=True).click()


def _checklist(page, mp_id, state):
    page.goto(f"/miniprograms/{mp_id}/")
    return page.locator(f"#setup-checklist li.check-{state}")


def test_setup_checklist_goes_from_all_red_to_all_green(page, platform, blank_app):
    mp_id, appid = blank_app
    steps.log_in_as_merchant(page, "owner@example.com", TEST_PASSWORD)
    page.locator("#main-nav").get_by_role("link", name="设置", exact=True).click()
    form = page.locator("#settings-form")
    form.locator("#required_private_infos").fill("getLocation")
    form.locator("#contact_email").fill("privacy@example.com")
    form.locator("#notice_method").fill("弹窗提示")
    form.get_by_role("button", name="保存").click()
    expect(page.locator(".flash-success")).to_contain_text("设置已保存")

    _checklist(page, mp_id, "missing")
    page.locator("#recheck-setup").click()
    expect(page.locator("#setup-checklist li.check-missing")).to_have_count(CHECKS)
    steps.shot(page, "setup-01-checklist-red")

    _open_setup(page, "名称、头像和简介")
    page.locator("#name-form #nick_name").fill("花间官方咖啡")
    page.locator("#name-form #proof").set_input_files(_png("licence"))
    page.locator("#name-form").get_by_role("button", name="设置名称").click()
    expect(page.locator(".flash-success")).to_contain_text("名称已提交微信审核")
    expect(page.locator("#name-audit")).to_contain_text("审核中")
    page.locator("#avatar-form #picture").set_input_files(_png("avatar"))
    page.locator("#avatar-form").get_by_role("button", name="设置头像").click()
    expect(page.locator(".flash-success")).to_have_text("头像已设置。")
    page.locator("#introduction-form #signature").fill("花间咖啡的线上点单小程序。")
    page.locator("#introduction-form").get_by_role("button", name="设置简介").click()
    expect(page.locator("#current-introduction")).to_have_text("花间咖啡的线上点单小程序。")

    _open_setup(page, "类目")
    page.locator("#category-form #second").select_option("790")  # 商家自营 / 食品 needs 《食品经营许可证》
    page.locator("#category-form #documents").set_input_files(_png("permit"))
    page.locator("#category-form").get_by_role("button", name="添加").click()
    expect(page.locator("#category-list tr[data-category='790']")).to_contain_text("审核中")

    _open_setup(page, "地理位置接口")
    form = page.locator("#interface-form")
    form.locator("#api_name").select_option("wx.getLocation")
    form.locator("#content").fill("到店自提时显示最近的门店。")
    form.locator("#pictures").fill("https://www.localhost/store.png")
    form.locator("#apply-interface").click()
    expect(page.locator("#interface-list tr[data-api='wx.getLocation']")).to_contain_text("审核中")

    steps.open_tab(page, "privacy")
    page.locator("#apply-privacy").click()
    expect(page.locator(".flash-success")).to_have_text("隐私保护指引已提交到微信。")
    steps.set_server_domain(page, "api.localhost")

    for what in ("nickname", "categories", "privacy-interface"):
        platform.api.call(f"/sandbox/setup/{what}/decide", {"appid": appid, "outcome": "approve", "wait": True})
    expect(_checklist(page, mp_id, "ok")).to_have_count(CHECKS)
    expect(page.locator(".page-head h1")).to_contain_text("花间官方咖啡")
    steps.shot(page, "setup-02-checklist-green")


def test_a_submission_wechat_would_refuse_with_86002_is_stopped(page, platform, console, blank_app):
    mp_id, appid = blank_app
    template_id = steps.sandbox_template(platform)
    steps.log_in_as_merchant(page, "owner@example.com", TEST_PASSWORD)
    page.goto(f"/miniprograms/{mp_id}/")
    steps.upload_code(page, platform, template_id, "1.0.0")
    platform.api.advance(31)  # WeChat's privacy scan of the upload ends
    console.allow_status(400, "/audit")
    steps.open_tab(page, "audit")
    form = page.locator("#submit-audit-form")
    form.locator("#items-0-title").fill("首页")
    form.get_by_role("button", name="提交审核").click()
    error = page.locator(".flash-error")
    expect(error).to_contain_text("微信会拒绝这次审核")
    expect(error).to_contain_text(re.compile("名称.*头像.*简介.*类目"))
    expect(error).to_contain_text("基础设置")
    assert platform.api.count("submit_audit", appid) == 0
    steps.shot(page, "setup-03-submit-stopped")
