"""Fast registration in the browser: a merchant without a mini-program registers one from the dashboard,
and WeChat (the sandbox) completes it by push: a company's once its legal person approves, a person's once
they confirm on the task's authorization link."""

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.conftest import TEST_PASSWORD, wait_for

pytestmark = pytest.mark.browser


def _registration_state(platform, name):
    from portal.models import FastRegistration

    def state():
        with platform.app.app_context():
            row = FastRegistration.query.filter_by(name=name).one_or_none()
            return row.state if row is not None else None
    return state


def _merchant(page, make_tenant, make_user):
    make_user(tenant_id=make_tenant("面馆"), email="owner@example.com")
    steps.log_in_as_merchant(page, "owner@example.com", TEST_PASSWORD)
    expect(page.locator(".empty-state")).to_be_visible()


def test_enterprise_registration_from_the_form_to_the_bound_miniprogram(platform, page, console, make_tenant,
                                                                         make_user):
    _merchant(page, make_tenant, make_user)
    page.locator("#register-enterprise").click()
    form = page.locator("#enterprise-form")
    form.locator("#name").fill("杭州面馆餐饮有限公司")
    form.locator("#code").fill("91330100MA2H1234")  # two characters short
    form.locator("#legal_persona_name").fill("张三")
    form.locator("#legal_persona_wechat").fill("zhangsan_wx")
    console.allow_status(400, "/registrations/new/enterprise")
    form.locator("#registration-submit").click()
    expect(page.locator("#enterprise-form .error")).to_have_text("这个代码与所选代码类型的格式不符。")

    page.locator("#code").fill("91330100MA2H12345X")
    page.locator("#registration-submit").click()
    expect(page.locator(".flash-success")).to_have_text("注册申请已提交给微信。")
    expect(page.locator("#registration [data-state]")).to_have_text("等待法人确认")
    steps.shot(page, "fast-registration-waiting")

    decided = platform.api.call("/sandbox/fastregister/decide", {"name": "杭州面馆餐饮有限公司",
                                                                 "outcome": "approve", "wait": True})
    wait_for(platform.app, lambda: _registration_state(platform, "杭州面馆餐饮有限公司")() == "succeeded",
             what="the registration bound by the push")
    page.reload()
    expect(page.locator("#registration [data-state]")).to_have_text("已成功")
    expect(page.locator("#registration-bound")).to_contain_text(decided["appid"])

    page.locator("#main-nav").get_by_role("link", name="我的小程序", exact=True).click()
    expect(page.locator("#miniprogram-list tbody tr", has_text=decided["appid"])).to_be_visible()
    row = page.locator("#registration-list tbody tr", has_text="杭州面馆餐饮有限公司")
    expect(row.locator("[data-state]")).to_have_text("已成功")
    expect(row).to_contain_text(decided["appid"])


def test_personal_registration_goes_through_the_authorization_url(platform, page, make_tenant, make_user):
    _merchant(page, make_tenant, make_user)
    page.locator("#register-personal").click()
    form = page.locator("#personal-form")
    form.locator("#idname").fill("李四")
    form.locator("#wxuser").fill("lisi_wx")
    form.locator("#registration-submit").click()
    expect(page.locator("#registration [data-state]")).to_have_text("等待法人确认")
    expect(page.locator("#registration-qr svg")).to_be_visible()
    show_url = page.url

    page.locator("#registration-link").click()  # the person opens WeChat's (the sandbox's) page
    expect(page.locator(".card", has=page.locator("#fastregister-form"))).to_contain_text("李四 · lisi_wx")
    page.locator("#confirm").click()
    expect(page.locator("#created")).to_be_visible()
    appid = page.locator("#created code").inner_text()

    wait_for(platform.app, lambda: _registration_state(platform, "李四")() == "succeeded",
             what="the registration bound by the push")
    page.goto(show_url)
    expect(page.locator("#registration [data-state]")).to_have_text("已成功")
    expect(page.locator("#registration-bound")).to_contain_text(appid)
    expect(page.locator("#registration-qr")).to_have_count(0)
