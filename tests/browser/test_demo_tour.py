"""The README's "Try it" tour, walked in a real browser on `make run` itself: `python -m portal.devrun` as a
separate process with its own instance directory and free ports, so the portal, the sandbox and the demo
data are configured exactly as a newcomer gets them (development mode, the demo platform's registered
server domains, jobs in process), not as the other tests configure them.

The merchant of the first demo tenant authorizes a demo mini-program on WeChat's (the sandbox's) page, adds
the server domain the README gives, binds a tester, uploads the demo template, sees the trial QR code,
declares privacy texts, submits for audit, the audit is approved on the sandbox's side, and releases.
"""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from portal.demodata import DEMO_APPS, FLEET_VERSION, REJECTED, RELEASED, REVOKED
from tests.browser import steps
from tests.browser.conftest import TIMEOUT_MS, VIEWPORT
from tests.conftest import SandboxAPI

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60
# What the README tells a newcomer to pick and type; keep the two in step.
TOUR_MERCHANT = "merchant-a@example.com"
TOUR_APP = "花间咖啡 Blossom Café"
TOUR_SERVER_DOMAIN = "api.demo.localhost"
TOUR_TESTER = "tester_wang"
TOUR_TEMPLATE_VERSION = "1.0.0"
DEMO_APPS_A = [(name, principal, state) for tenant, name, principal, state in DEMO_APPS if tenant == "示例餐饮有限公司"]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _clean_environment(instance, portal_port, sandbox_port):
    """The environment of a newcomer's shell: none of the suite's settings (database, Redis, keys)."""
    prefixes = ("PORTAL_", "WECHAT_", "SANDBOX_", "REDIS", "DATABASE_", "DATA_KEY", "SECRET_KEY", "TEST_",
                "CALLBACK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(PORTAL_ENV="development", PORTAL_INSTANCE_PATH=str(instance), PORTAL_PORT=str(portal_port),
               SANDBOX_PORT=str(sandbox_port))
    return env


@contextmanager
def make_run(instance):
    """`make run` in a subprocess on `instance`; yields its URLs, logins and the sandbox's control API;
    stopped by SIGTERM as Ctrl-C would."""
    portal_port, sandbox_port = _free_port(), _free_port()
    log_path = instance.parent / f"devrun-{portal_port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "portal.devrun"], cwd=ROOT, stdout=log,
                                   stderr=subprocess.STDOUT,
                                   env=_clean_environment(instance, portal_port, sandbox_port))
    try:
        deadline = time.monotonic() + START_SECONDS
        while b"Press Ctrl-C to stop." not in log_path.read_bytes():
            assert process.poll() is None, "make run ended:\n" + log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "make run did not start:\n" + log_path.read_text(errors="replace")
            time.sleep(0.2)
        credentials = json.loads((instance / "demo-credentials.json").read_text())
        yield SimpleNamespace(
            url=f"http://127.0.0.1:{portal_port}", sandbox_url=f"http://127.0.0.1:{sandbox_port}",
            logins=json.loads((instance / "demo-logins.json").read_text()), log=log_path,
            api=SandboxAPI(f"http://127.0.0.1:{sandbox_port}", credentials["WECHAT_COMPONENT_APPID"]),
            app=SimpleNamespace(extensions={}))  # jobs run inside make run's process, not here
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def demo_run(tmp_path):
    with make_run(tmp_path / "instance") as run:
        yield run


@pytest.fixture
def tour_page(browser, console, demo_run):
    context = browser.new_context(base_url=demo_run.url, viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    console.watch(page)
    yield page
    context.close()
    if console.problems:
        pytest.fail("the browser reported errors:\n" + "\n".join(console.problems), pytrace=False)


def _demo_appid(api, nick_name):
    accounts = api.call("/sandbox/miniprograms", method="GET")["miniprograms"]
    return next(a["appid"] for a in accounts if a["nick_name"] == nick_name)


def _template_id(page, version):
    """The demo library's template of that version, as the upload form offers it ("id · version · desc")."""
    steps.open_tab(page, "code")
    options = page.locator("#upload-form #template_id option").evaluate_all(
        "os => os.map(o => [o.value, o.textContent.trim()])")
    label = re.compile(r"^\d+ · " + re.escape(version) + " · ")
    for value, text in options:
        if label.match(text):
            return int(value)
    raise AssertionError(f"no template {version} in the upload form: {options}")


def _staff_sees_the_demo(page, demo_run):
    """Step 10: staff's pages are full too: every mini-program, the pushes, the fleet release, the library."""
    steps.log_in_as_staff(page, "staff@example.com", demo_run.logins["staff@example.com"])
    page.goto(steps.PLATFORM)
    listed = page.locator("#all-miniprograms tbody tr")
    for _tenant, name, _principal, _state in DEMO_APPS:
        expect(listed.filter(has_text=name)).to_be_visible()
    page.goto(f"{steps.PLATFORM}/pushes")
    log = page.locator("#push-log tbody")
    # the revoked apps' `unauthorized` pushes were lost: their token refresh told the portal instead
    for kind in ("component_verify_ticket", "authorized", "weapp_audit_success", "weapp_audit_fail"):
        expect(log.locator("code", has_text=re.compile(f"^{kind}$")).first).to_be_visible()
    page.goto("/staff/fleet/")
    expect(page.locator("#releases tbody tr", has_text=FLEET_VERSION).locator(".badge")).to_have_text("已完成")
    page.locator("#main-nav").get_by_role("link", name="模板库", exact=True).click()
    expect(page.locator("#templates tbody tr")).to_have_count(2)


def test_the_readme_tour_works_on_make_run(demo_run, tour_page, browser):
    page, api = tour_page, demo_run.api
    appid = _demo_appid(api, TOUR_APP)

    # The demo content: the tenant's mini-programs in their states (made by portal.demodata).
    steps.log_in_as_merchant(page, TOUR_MERCHANT, demo_run.logins[TOUR_MERCHANT])
    rows = page.locator("#miniprogram-list tbody tr")
    for name, _principal, state in DEMO_APPS_A:
        badge = "needs_reauth" if state == REVOKED else "authorized"
        expect(rows.filter(has_text=name).locator(f".badge-{badge}")).to_be_visible()
    expect(rows).to_have_count(len(DEMO_APPS_A))

    # 1-2. The merchant authorizes a demo mini-program on WeChat's page.
    page.locator("#authorize-cta, #authorize-more").first.click()
    expect(page.get_by_role("heading", name="授权您的帐号", level=1, exact=True)).to_be_visible()
    steps.go_to_wechat_authorization(page, demo_run.sandbox_url)
    steps.confirm_on_wechat(page, appid, TOUR_APP)
    steps.expect_miniprogram_on_dashboard(page, appid, TOUR_APP)

    # 3-4. Domains: the demo platform's server domain is accepted by WeChat (no 85017); a tester.
    steps.open_code_management(page, appid, TOUR_APP)
    steps.set_server_domain(page, TOUR_SERVER_DOMAIN)
    steps.bind_tester(page, TOUR_TESTER)

    # 5. Upload the demo template; the trial version's QR code shows.
    template_id = _template_id(page, TOUR_TEMPLATE_VERSION)
    steps.upload_code(page, demo_run, template_id, TOUR_TEMPLATE_VERSION)
    steps.expect_experience_qr(page)

    # 6-7. Once WeChat's scan is over (the clock moved on here), the guideline the demo tenant's settings
    # hold covers what the code uses: apply it, then submit for audit.
    steps.open_tab(page, "privacy")
    demo_run.api.advance(31)
    page.reload()
    expect(page.locator("#privacy-status")).to_contain_text("UserInfo")
    expect(page.locator("#privacy-missing")).to_have_count(0)
    page.locator("#apply-privacy").click()
    expect(page.locator(".flash-success")).to_have_text("隐私保护指引已提交到微信。")
    state, message, _live = steps.submit_audit(page, demo_run)
    assert state == steps.DONE, message

    # 8. Approved on the sandbox's side (its page's button calls the same control API); the push arrives.
    steps.expect_audit_approved(page, demo_run, appid)

    # 9. Release; the overview says what is live.
    steps.release(page, demo_run, TOUR_TEMPLATE_VERSION)
    steps.expect_overview_released(page, TOUR_TEMPLATE_VERSION)
    assert api.count("release", appid, errcode=0) == 1
    assert api.count("modify_domain", appid, errcode=85017) == 0

    # The rejected demo app shows WeChat's reason; the released one runs the fleet release's version.
    rejected = next(name for name, _p, state in DEMO_APPS_A if state == REJECTED)
    page.locator("#main-nav").get_by_role("link", name="我的小程序", exact=True).click()
    page.locator("#miniprogram-list tbody tr", has_text=rejected).get_by_role("link").click()
    steps.open_tab(page, "audit")
    expect(page.locator("#audit-history .reason").first).to_contain_text("未完成的功能入口")
    released = next(name for name, _p, state in DEMO_APPS_A if state == RELEASED)
    page.locator("#main-nav").get_by_role("link", name="我的小程序", exact=True).click()
    page.locator("#miniprogram-list tbody tr", has_text=released).get_by_role("link").click()
    expect(page.locator("#versions")).to_contain_text(FLEET_VERSION)

    staff = browser.new_context(base_url=demo_run.url, viewport=VIEWPORT)
    staff.set_default_timeout(TIMEOUT_MS)
    try:
        _staff_sees_the_demo(staff.new_page(), demo_run)
    finally:
        staff.close()


def test_a_second_make_run_adds_no_demo_data(tmp_path):
    """Stopping and starting `make run` again keeps one set of demo mini-programs, templates and releases,
    on both sides (the portal's database, the sandbox's state file)."""
    instance = tmp_path / "instance"
    seen = []
    for _ in range(2):
        with make_run(instance) as run:
            accounts = run.api.call("/sandbox/miniprograms", method="GET")["miniprograms"]
            with sqlite3.connect(instance / "portal.sqlite3") as db:
                counts = [db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                          for table in ("wxminiprograms", "wxminiprogram_audit", "fleet_releases", "wxa_templates")]
            seen.append((len(accounts), counts))
    assert seen[0] == seen[1], seen
    assert seen[0][1][0] == len(DEMO_APPS) and seen[0][1][2] == 1, seen
