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
    # portal.js (deferred) binds the select once the document is loaded: a choice made before is not sent
    page.wait_for_load_state("load")
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
    """From the empty dashboard to the authorize page: the QR code of the mobile link (made on a click), then
    back to the page with the button for a computer."""
    expect(page.locator(".empty-state")).to_be_visible()
    page.locator("#authorize-cta").click()
    expect(page.get_by_role("heading", name="授权您的帐号", level=1, exact=True)).to_be_visible()
    expect(page.locator("#authorize-qr")).to_have_count(0)  # no pre-auth code until a click
    page.locator("#authorize-qr-start").click()
    qr = page.locator("#authorize-qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box and box["width"] >= 100 and box["height"] >= 100, box
    expect(page.locator("#authorize-mobile")).to_have_attribute("href", re.compile(r"bindcomponent"))
    page.locator("#authorize-back").click()
    expect(page.locator("#authorize-pc")).to_be_visible()


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


# --- background work: jobs, the sandbox clock -----------------------------------------------------------------

JOB_WAIT_SECONDS = 20
DONE, FAILED, APPROVED, RELEASED = "完成", "失败", "审核通过", "已发布"


def run_jobs(platform):
    """On Redis, runs the queued jobs as a worker would; embedded jobs run in threads by themselves."""
    if platform.app.extensions.get("redis") is not None:
        drain_jobs(platform.app)


def _evaluate(page, script, arg=None):
    """`page.evaluate` that answers None while the page is navigating (jobs.js reloads it)."""
    try:
        return page.evaluate(script, arg)
    except Exception as exc:  # "Execution context was destroyed": the page is being replaced
        if "context" in str(exc) or "navigat" in str(exc):
            return None
        raise


def wait_in_page(page, platform, script, arg=None, timeout=JOB_WAIT_SECONDS, between=None):
    """Polls `script` in the page (without reloading it) until it answers something truthy, running queued
    jobs in between (and `between()`, e.g. ticking a fleet release); returns the answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = _evaluate(page, script, arg)
        if answer:
            return answer
        assert time.monotonic() < deadline, f"{script} still false on {page.url} after {timeout}s"
        run_jobs(platform)
        if between is not None:
            between()
        time.sleep(0.1)


# Marks the page and watches the newest job's state label: jobs.js changing it in place is recorded in
# sessionStorage (it survives the reload jobs.js does right after). Answers whether the job was live.
WATCH_JOB_JS = """() => {
  window.__journeyMark = true;
  sessionStorage.removeItem('journeyJobState');
  const item = document.querySelector('#jobs .job');
  const label = item.querySelector('[data-job-state]');
  new MutationObserver(() => sessionStorage.setItem('journeyJobState', label.textContent.trim()))
    .observe(label, {childList: true, characterData: true, subtree: true});
  return item.hasAttribute('data-job-url');
}"""
SEEN_STATE_JS = """(expected) => {
  const state = sessionStorage.getItem('journeyJobState');
  return state && expected.includes(state) ? state : null;
}"""


def wait_for_job(page, platform, expected=(DONE,)):
    """The newest job of the page ends while the page stays put: jobs.js polls its status and updates the
    label in place, then reloads the page once. Returns (label, message, whether it was seen live): a job
    that had already ended when the page was rendered shows its final state at once and needs no polling."""
    item = page.locator("#jobs .job").first
    expect(item).to_be_visible()
    live = page.evaluate(WATCH_JOB_JS)
    if live:
        state = wait_in_page(page, platform, SEEN_STATE_JS, list(expected))
        # jobs.js reloads the page once the job has ended, so the new versions and audits show
        page.wait_for_function("() => !window.__journeyMark")
        page.wait_for_load_state("load")
    else:
        state = item.locator("[data-job-state]").inner_text().strip()
    expect(item.locator("[data-job-state]")).to_have_text(state)
    assert state in expected, state
    return state, item.locator("[data-job-message]").inner_text(), live


def sandbox_template(platform, privacy_keys=(), version="1.0.0", desc="点餐模板"):
    """A template in WeChat's library (the sandbox's draft + addtotemplate in one)."""
    body = {"component_appid": platform.component_appid, "user_version": version, "user_desc": desc,
            "pages": ["pages/index/index", "pages/menu/menu"], "privacy_keys": list(privacy_keys)}
    return platform.api.call("/sandbox/templates", body)["template_id"]


# --- merchant: code management of one mini-program -------------------------------------------------------------

TABS = {"overview": "概览", "code": "上传代码", "privacy": "隐私", "audit": "审核", "release": "发布",
        "domains": "域名", "testers": "体验者"}


def open_code_management(page, appid, nick_name):
    """From the dashboard: the mini-program's name leads to its overview."""
    page.locator("#main-nav").get_by_role("link", name="我的小程序", exact=True).click()
    page.locator("#miniprogram-list tbody tr", has_text=appid).get_by_role("link", name=nick_name).click()
    expect(page.locator(".tabs a.active")).to_have_text(TABS["overview"])
    expect(page.locator(".page-head h1")).to_contain_text(nick_name)
    expect(page.locator("#account")).to_contain_text(appid)
    expect(page.locator("#versions")).to_contain_text("尚未发布")


def open_tab(page, tab):
    page.locator("nav.tabs").get_by_role("link", name=TABS[tab], exact=True).click()
    expect(page.locator(".tabs a.active")).to_have_text(TABS[tab])


def set_server_domain(page, host):
    open_tab(page, "domains")
    form = page.locator("#server-domain-form")
    form.locator("#action").select_option("add")
    form.locator("#requestdomain").fill(host)
    form.get_by_role("button", name="保存").click()
    expect(page.locator(".flash-success")).to_have_text("服务器域名已保存。")
    row = page.locator("#current-domains tr", has=page.locator("code", has_text=re.compile("^requestdomain$")))
    expect(row).to_contain_text(host)


def set_webview_domain(page, host):
    form = page.locator("#webview-domain-form")
    form.locator("#action").select_option("add")
    form.locator("#webviewdomain").fill(host)
    form.get_by_role("button", name="保存").click()
    expect(page.locator(".flash-success")).to_have_text("业务域名已保存。")
    expect(page.locator("#current-domains tr", has_text="webviewdomain")).to_contain_text(host)


def bind_tester(page, wechatid):
    open_tab(page, "testers")
    expect(page.locator("#tester-list")).to_contain_text("还没有体验者")
    page.locator("#bind-tester-form #wechatid").fill(wechatid)
    page.locator("#bind-tester-form").get_by_role("button", name="绑定").click()
    expect(page.locator(".flash-success")).to_contain_text("体验者已绑定")
    expect(page.locator("#tester-list tbody tr", has_text=wechatid)).to_be_visible()


def upload_code(page, platform, template_id, version, desc="首个版本"):
    """Upload code: pick the template from WeChat's library, type the version, and watch the job end."""
    open_tab(page, "code")
    expect(page.locator("#qr-missing")).to_be_visible()
    form = page.locator("#upload-form")
    form.locator("#template_id").select_option(str(template_id))
    form.locator("#user_version").fill(version)
    form.locator("#user_desc").fill(desc)
    form.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".flash-info")).to_have_text("已开始：下方状态会自动更新。")
    state, message, live = wait_for_job(page, platform)
    assert state == DONE and version in message, message
    return live


def expect_experience_qr(page):
    """The trial version's QR code: an <img> the browser really decoded."""
    image = page.locator("#qr-image")
    expect(image).to_be_visible()
    page.wait_for_function("() => { const i = document.querySelector('#qr-image'); return i && i.complete; }")
    width = page.evaluate("document.querySelector('#qr-image').naturalWidth")
    assert width > 0, "the QR image did not load"


def fill_privacy(page, platform, texts, contact_email="privacy@example.com", notice="弹窗提示"):
    """Privacy: once WeChat's scan is over the page lists what the code uses; the texts go into the tenant's
    settings, then the guideline is applied."""
    open_tab(page, "privacy")
    expect(page.locator("#privacy-status .notice").first).to_contain_text("微信仍在检测上传的代码")
    platform.api.advance(31)  # the sandbox's privacy scan takes 30 s after a commit
    page.reload()
    privacy_url = page.url
    missing = page.locator("#privacy-missing")
    for key in texts:
        expect(missing).to_contain_text(key)
    page.locator("#main-nav").get_by_role("link", name="设置", exact=True).click()
    form = page.locator("form", has=page.locator("#privacy_texts"))
    form.locator("#contact_email").fill(contact_email)
    form.locator("#notice_method").fill(notice)
    form.locator("#privacy_texts").fill("\n".join(f"{k}={v}" for k, v in texts.items()))
    form.get_by_role("button", name="保存").click()
    expect(page.locator(".flash-success")).to_contain_text("设置已保存")
    page.goto(privacy_url)
    expect(page.locator("#privacy-missing")).to_have_count(0)
    page.locator("#apply-privacy").click()
    expect(page.locator(".flash-success")).to_have_text("隐私保护指引已提交到微信。")
    expect(page.locator("#privacy-status")).to_contain_text("代码用到的隐私信息均已声明。")


def submit_audit(page, platform, expected=(DONE,)):
    """Audit tab: the form comes pre-filled from the uploaded code; submit and watch the job end."""
    open_tab(page, "audit")
    form = page.locator("#submit-audit-form")
    expect(form.locator("#items-0-address")).to_have_value("pages/index/index")
    form.locator("#items-0-title").fill("首页")
    form.locator("#version_desc").fill("测试账号：demo / demo")
    form.get_by_role("button", name="提交审核").click()
    return wait_for_job(page, platform, expected)


def expect_audit_approved(page, platform, appid):
    """WeChat approves and pushes the result; the audit page shows it at the next look (it does not poll)."""
    platform.api.call("/sandbox/audits/decide", {"appid": appid, "outcome": "approve", "wait": True})
    platform.api.pushes(appid=appid)
    row = page.locator("#audit-history tbody tr").first
    deadline = time.monotonic() + PUSH_WAIT_SECONDS
    while APPROVED not in row.inner_text() and time.monotonic() < deadline:
        run_jobs(platform)
        time.sleep(0.2)
        page.reload()
    expect(row.locator(".badge").first).to_have_text(APPROVED)
    expect(page.locator("#audit-open")).to_have_count(0)


def release(page, platform, version):
    open_tab(page, "release")
    expect(page.locator("#release-now")).to_contain_text(f"版本 {version}")
    page.wait_for_load_state("load")  # portal.js asks for the confirmation only once it runs
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#release-button").click()
    state, message, _live = wait_for_job(page, platform)
    assert state == DONE, message
    expect(page.locator("#release-now")).to_contain_text(f"线上版本：{version}")
    expect(page.locator("#release-button")).to_have_count(0)


def expect_overview_released(page, version):
    open_tab(page, "overview")
    versions = page.locator("#versions")
    expect(versions).to_contain_text(version)
    expect(versions).not_to_contain_text("尚未发布")
    expect(versions.locator(".badge").last).to_have_text(APPROVED)


# --- staff: fleet release ----------------------------------------------------------------------------------------

FLEET_WAIT_SECONDS = 45
WAITING_ON_WECHAT = {"privacy", "in_audit", "delayed"}  # only the sandbox clock moves these on
PROGRESS_JS = """() => {
  const bar = document.querySelector('[data-fleet-progress]');
  return window.__journeyMark && bar && Number(bar.value) === 100;
}"""


def sync_template_library(page, template_id):
    page.locator("#main-nav").get_by_role("link", name="模板库", exact=True).click()
    expect(page.get_by_role("heading", name="模板库", level=1, exact=True)).to_be_visible()
    page.get_by_role("button", name="从微信刷新", exact=True).click()
    row = page.locator("#templates tbody tr", has=page.get_by_role("link", name=str(template_id), exact=True))
    expect(row).to_be_visible()
    return row


def start_fleet_release(page, template_id, version, concurrency=10):
    """From the template's row in the library: "release to the fleet", all authorized mini-programs."""
    row = sync_template_library(page, template_id)
    row.get_by_role("link", name="批量发布", exact=True).click()
    form = page.locator("#fleet-form")
    expect(form.locator("#template_id")).to_have_value(str(template_id))
    form.locator("#user_version").fill(version)
    form.locator("#user_desc").fill("全部门店升级")
    form.locator("#mode").select_option("all")
    form.locator("#max_concurrency").fill(str(concurrency))
    form.get_by_role("button", name="开始", exact=True).click()
    expect(page.locator(".flash-success")).to_have_text("批量发布已开始：本页会实时更新进度。")
    expect(page.locator("[data-fleet-progress]")).to_be_visible()
    match = re.search(r"/staff/fleet/(\d+)", page.url)
    assert match, page.url
    return int(match.group(1))


class FleetDriver:
    """What workers, the periodic tick and WeChat's reviewers do while staff watches: tick the release, run
    queued jobs, and move the sandbox clock on whenever every mini-program only waits for WeChat."""

    def __init__(self, platform, release_id):
        self.platform, self.release_id = platform, release_id

    def states(self):
        from portal.models import FleetTarget

        with self.platform.app.app_context():
            from portal.extensions import db

            return [t.state for t in db.session.query(FleetTarget).filter_by(release_id=self.release_id)]

    def __call__(self):
        from portal.jobs.fleet import fleet_tick_job
        from portal.models.fleet import FINAL

        with self.platform.app.app_context():
            fleet_tick_job(self.release_id)
        run_jobs(self.platform)
        states = self.states()
        if states and all(s in WAITING_ON_WECHAT or s in FINAL for s in states) and \
                any(s in WAITING_ON_WECHAT for s in states):
            self.platform.api.advance(61)  # privacy scans end, reviewers decide, results are pushed
            self.platform.api.pushes()


def follow_fleet_to_the_end(page, platform, release_id, total):
    """The progress page updates itself (fleet.js) until the bar is full; no reload."""
    expect(page.locator("#fleet-live")).to_contain_text(f"/ {total}")
    page.evaluate("window.__journeyMark = true")
    wait_in_page(page, platform, PROGRESS_JS, timeout=FLEET_WAIT_SECONDS, between=FleetDriver(platform, release_id))
    expect(page.locator("[data-fleet-percent]")).to_have_text("100")
    expect(page.locator("[data-fleet-settled]")).to_have_text(str(total))
    expect(page.locator('[data-fleet-count="released"]')).to_have_text(str(total))
    expect(page.locator("[data-fleet-rows] tr")).to_have_count(total)
    assert page.evaluate("window.__journeyMark"), "the progress page was reloaded"
