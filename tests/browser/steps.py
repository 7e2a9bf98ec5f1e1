"""Small steps of the browser journey, each doing what a person does on one page and checking what they see.

The portal speaks Simplified Chinese by default, so the visible texts checked here are the Chinese ones;
elements are found by their ids and labels. A journey is a `Journey` carrying the pages of its actors and
what earlier steps created, so later steps (code upload, audit, release…) can be appended to it.
"""

import re
import time
from dataclasses import dataclass, field

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS
from tests.conftest import drain_jobs

PUSH_WAIT_SECONDS = 10
TENANTS = "/staff/tenants"
PLATFORM = "/staff/platform"


@dataclass
class Journey:
    platform: object
    staff: Page = None
    merchant: Page = None
    tenant_id: int = None
    tenant_name: str = None
    merchant_email: str = None
    appid: str = None
    nick_name: str = None
    notes: dict = field(default_factory=dict)


def shot(page, name):
    """A full-page screenshot of a key page, kept as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def path_re(path):
    """Matches a page URL whose path is exactly `path` (any host, optional query)."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?.*)?$")


# --- accounts -------------------------------------------------------------------------------------------


def open_login(page):
    page.goto("/account/login")
    expect(page.locator("#login-form")).to_be_visible()
    return page


def log_in(page, email, password):
    """Logs in through the login form; leaves the page wherever the portal sends the user."""
    open_login(page)
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#login-form button[type=submit]").click()


def log_in_as_staff(page, email, password):
    log_in(page, email, password)
    expect(page.get_by_role("heading", name="平台概览", exact=True)).to_be_visible()
    expect(page.locator("#main-nav")).to_contain_text("租户")


def log_in_as_merchant(page, email, password):
    log_in(page, email, password)
    expect(page).to_have_url(path_re("/dashboard"))
    expect(page.get_by_role("heading", name="我的小程序", exact=True)).to_be_visible()


def log_out(page):
    page.locator("#logout-button").click()
    expect(page.locator("#login-form")).to_be_visible()


def switch_language(page, language):
    """Picks a language in the header select; portal.js submits the form and the page comes back."""
    expected_lang = "zh-CN" if language == "zh" else "en"
    page.locator("#language-select").select_option(language)
    expect(page.locator("html")).to_have_attribute("lang", expected_lang)
    expect(page.locator("#language-select")).to_have_value(language)


# --- staff: tenants and merchant users --------------------------------------------------------------------


def create_tenant(page, name, contact_name="王经理", contact_email="contact@example.com"):
    """From the tenant list: "New tenant", fill the form, save. Returns the new tenant's id."""
    page.locator("#main-nav").get_by_role("link", name="租户", exact=True).click()
    expect(page.get_by_role("heading", name="租户", exact=True)).to_be_visible()
    page.locator("#new-tenant").click()
    form = page.locator("#tenant-form")
    expect(form).to_be_visible()
    form.locator("#name").fill(name)
    form.locator("#contact_name").fill(contact_name)
    form.locator("#contact_email").fill(contact_email)
    form.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.locator(".flash-success")).to_contain_text(name)
    match = re.search(re.escape(TENANTS) + r"/(\d+)$", page.url)
    assert match, page.url
    return int(match.group(1))


def _new_user_form(page, tenant_id, email, name):
    page.goto(f"{TENANTS}/{tenant_id}")
    page.locator("#new-user").click()
    form = page.locator("#user-form")
    expect(form).to_be_visible()
    form.locator("#email").fill(email)
    form.locator("#name").fill(name)
    return form


def create_merchant_user_with_password(page, tenant_id, email, password, name="店长"):
    form = _new_user_form(page, tenant_id, email, name)
    form.get_by_label("设置初始密码").check()
    form.locator("#password").fill(password)
    form.get_by_role("button", name="创建用户").click()
    expect(page.locator(".flash-success")).to_contain_text(email)
    expect(page.locator("#user-list")).to_contain_text(email)


def create_merchant_user_with_invitation(page, tenant_id, email, name="店员"):
    """Creates the user with the default "send an invitation link"; returns the link shown once."""
    form = _new_user_form(page, tenant_id, email, name)
    expect(form.get_by_label("发送邀请链接")).to_be_checked()
    form.get_by_role("button", name="创建用户").click()
    link_field = page.locator("#invitation-link")
    expect(link_field).to_be_visible()
    link = link_field.input_value()
    assert "/account/invitation/" in link, link
    page.get_by_role("link", name="完成", exact=True).click()
    expect(page.locator("#user-list")).to_contain_text(email)
    return link


def accept_invitation(page, link, password):
    """The invited user opens the link, sets a password and lands on their dashboard, logged in."""
    page.goto(link)
    expect(page.get_by_role("heading", name="设置密码", exact=True)).to_be_visible()
    page.locator("#password").fill(password)
    page.locator("#confirm").fill(password)
    page.get_by_role("button", name="保存并登录").click()
    expect(page).to_have_url(path_re("/dashboard"))
    expect(page.locator(".flash-success")).to_contain_text("密码已设置")


# --- merchant: authorizing a mini-program -------------------------------------------------------------------


def open_authorize_page(page):
    """From the empty dashboard to the authorize page: the PC button and the QR code of the mobile link."""
    expect(page.locator(".empty-state")).to_be_visible()
    page.locator("#authorize-cta").click()
    expect(page.get_by_role("heading", name="授权您的小程序", level=1, exact=True)).to_be_visible()
    qr = page.locator("#authorize-qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box and box["width"] >= 100 and box["height"] >= 100, box
    expect(page.locator("#authorize-pc")).to_have_attribute("href", re.compile(r"/cgi-bin/componentloginpage\?"))
    expect(page.locator("#authorize-mobile")).to_have_attribute("href", re.compile(r"bindcomponent"))


def go_to_wechat_authorization(page, sandbox_url):
    page.locator("#authorize-pc").click()
    expect(page).to_have_url(re.compile("^" + re.escape(sandbox_url) + "/cgi-bin/componentloginpage"))
    expect(page.locator("#authorize-form")).to_be_visible()


def confirm_on_wechat(page, appid, nick_name):
    """On WeChat's (the sandbox's) page: pick the mini-program and confirm; WeChat sends the browser back."""
    page.locator("#authorizer_appid").select_option(appid)
    expect(page.locator("#authorizer_appid")).to_have_value(appid)
    expect(page.locator(".account", has_text=nick_name)).to_be_visible()
    page.locator("#confirm").click()


def expect_miniprogram_on_dashboard(page, appid, nick_name, principal_name=None):
    expect(page).to_have_url(path_re("/dashboard"))
    expect(page.locator(".flash-success")).to_contain_text(f"{nick_name} 已授权给平台")
    row = page.locator("#miniprogram-list tbody tr", has_text=appid)
    expect(row).to_be_visible()
    expect(row).to_contain_text(nick_name)
    expect(row.locator(".badge-authorized")).to_have_text("已授权")
    if principal_name:
        expect(row).to_contain_text(principal_name)
    expect(page.locator("#authorize-more")).to_be_visible()


def expect_miniprogram_listed(page, appid):
    """Any user of the tenant sees the mini-program on the dashboard."""
    expect(page.locator("#miniprogram-list tbody tr", has_text=appid)).to_be_visible()


# --- staff: platform pages --------------------------------------------------------------------------------


def expect_platform_lists(page, appid, nick_name, tenant_name):
    page.locator("#main-nav").get_by_role("link", name="平台", exact=True).click()
    expect(page.get_by_role("heading", name="平台", level=1, exact=True)).to_be_visible()
    row = page.locator("#all-miniprograms tbody tr", has_text=appid)
    expect(row).to_be_visible()
    expect(row).to_contain_text(nick_name)
    expect(row).to_contain_text(tenant_name)
    expect(row.locator(".badge-authorized")).to_be_visible()
    expect(page.locator("#component-health")).to_be_visible()


def expect_pushes_listed(page, platform, kinds, appid=None):
    """The push log lists a row of each kind; pushes arrive asynchronously, so this waits for them (and,
    on Redis, runs the queued jobs) and reloads until they show or PUSH_WAIT_SECONDS pass."""
    for kind in kinds:
        platform.api.pushes(type=kind)  # the sandbox answers once its pushes of that type are delivered
    drain_jobs(platform.app)
    page.goto(f"{PLATFORM}/pushes")
    expect(page.get_by_role("heading", name="微信推送记录", exact=True)).to_be_visible()
    log = page.locator("#push-log tbody")
    deadline = time.monotonic() + PUSH_WAIT_SECONDS
    while True:
        missing = [kind for kind in kinds if log.locator("code", has_text=re.compile(f"^{re.escape(kind)}$")).count() == 0]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
        drain_jobs(platform.app)
        page.reload()
    assert not missing, f"pushes not listed: {missing}"
    if appid:
        authorized = log.locator("tr").filter(has=page.locator("code", has_text=re.compile("^authorized$")))
        expect(authorized.filter(has_text=appid).first).to_be_visible()


def expect_tenant_shows_miniprogram(page, tenant_id, appid):
    page.goto(f"{TENANTS}/{tenant_id}")
    expect(page.locator("table", has_text=appid).locator(".badge-authorized")).to_be_visible()
