"""Fixtures for real-browser tests: one headless Debian Chromium for this directory, driven by Playwright.

Every page a test opens is watched: a console message of type "error" or an uncaught page error fails the
test at teardown (a test that provokes an error response on purpose declares it with `console.allow_status`).
A failing test leaves full-page screenshots of its open pages in test-artifacts/screenshots/.
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000


def _skip_reason():
    if not os.path.exists(CHROMIUM):
        return f"browser tests need Debian's Chromium at {CHROMIUM}, which is not installed"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package (tests/requirements.txt)"
    return None


def pytest_collection_modifyitems(config, items):
    """Skips every test of this directory when no browser is available (before any fixture is set up)."""
    reason = _skip_reason()
    if reason:
        here = Path(__file__).resolve().parent
        for item in items:
            if here in Path(item.path).resolve().parents:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the tests of this directory (closed when they are done, not at the end of the run)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class ConsoleGuard:
    """Collects console errors and uncaught exceptions of the pages it watches."""

    STATUS_RE = re.compile(r"the server responded with a status of (\d{3})")

    def __init__(self):
        self.problems = []
        self.allowed = []  # (status, url substring)

    def watch(self, page):
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(f"uncaught error on {page.url}: {error}"))

    def allow_status(self, status, url_part):
        """A response with this status for a URL containing `url_part` is expected (Chromium logs it)."""
        self.allowed.append((int(status), url_part))

    def _console(self, page, message):
        if message.type != "error":
            return
        url = (message.location or {}).get("url") or page.url
        match = self.STATUS_RE.search(message.text)
        if match and any(int(match.group(1)) == status and part in url for status, part in self.allowed):
            return
        self.problems.append(f"console error on page {page.url} (source {url}): {message.text}")


@pytest.fixture
def console():
    return ConsoleGuard()


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


@pytest.fixture
def new_page(request, browser, platform, console):
    """Factory for pages in fresh browser contexts (separate cookies: one per user of a journey), with the
    portal as base URL. All are watched by `console` and closed after the test."""
    contexts = []

    def factory():
        context = browser.new_context(base_url=platform.url, viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        console.watch(page)
        return page

    yield factory
    failed = any(getattr(getattr(request.node, "report_" + when, None), "failed", False)
                 for when in ("setup", "call"))
    if failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for n, context in enumerate(contexts, 1):
            for m, page in enumerate(context.pages, 1):
                try:
                    page.screenshot(path=str(SCREENSHOTS / f"FAILED-{_slug(request.node.name)}-{n}-{m}.png"),
                                    full_page=True)
                except Exception:  # a crashed page must not hide the test's own failure
                    pass
    for context in contexts:
        context.close()
    if console.problems:
        pytest.fail("the browser reported errors:\n" + "\n".join(console.problems), pytrace=False)


@pytest.fixture
def page(new_page):
    return new_page()
