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
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

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


@pytest.fixture
def demo_run(tmp_path):
    """`make run` in a subprocess; yields its URLs, logins and the sandbox's control API; stopped by SIGTERM."""
    instance = tmp_path / "instance"
    portal_port, sandbox_port = _free_port(), _free_port()
    log_path = tmp_path / "devrun.log"
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
        run = SimpleNamespace(
            url=f"http://127.0.0.1:{portal_port}", sandbox_url=f"http://127.0.0.1:{sandbox_port}",
            logins=json.loads((instance / "demo-logins.json").read_text()), log=log_path,
            api=SandboxAPI(f"http://127.0.0.1:{sandbox_port}", credentials["WECHAT_COMPONENT_APPID"]),
            app=SimpleNamespace(extensions={}))  # jobs run inside make run's process, not here
        yield run
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


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


def test_the_readme_tour_works_on_make_run(demo_run, tour_page):
    page, api = tour_page, demo_run.api
    appid = _demo_appid(api, TOUR_APP)

    # 1-2. The merchant logs in and authorizes a demo mini-program on WeChat's page.
    steps.log_in_as_merchant(page, TOUR_MERCHANT, demo_run.logins[TOUR_MERCHANT])
    page.locator("#authorize-cta, #authorize-more").first.click()
    expect(page.get_by_role("heading", name="授权您的小程序", level=1, exact=True)).to_be_visible()
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

    # 6-7. Privacy texts once WeChat's scan is over, then submit for audit.
    steps.fill_privacy(page, demo_run, {"UserInfo": "用于展示会员头像和昵称"})
    state, message, _live = steps.submit_audit(page, demo_run)
    assert state == steps.DONE, message

    # 8. Approved on the sandbox's side (its page's button calls the same control API); the push arrives.
    steps.expect_audit_approved(page, demo_run, appid)

    # 9. Release; the overview says what is live.
    steps.release(page, demo_run, TOUR_TEMPLATE_VERSION)
    steps.expect_overview_released(page, TOUR_TEMPLATE_VERSION)
    assert api.count("release", appid, errcode=0) == 1
    assert api.count("modify_domain", appid, errcode=85017) == 0
