"""A fleet release in a real browser: staff refreshes the template library from WeChat, releases a template to
20 authorized mini-programs and watches the progress page fill up by itself (fleet.js), without a reload.

The test plays what runs beside the portal: the periodic tick, queued jobs on Redis, and WeChat's reviewers
(the sandbox clock).
"""

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

FLEET_SIZE = 20


def test_staff_releases_a_template_to_twenty_mini_programs(platform, page, make_user, make_tenant):
    platform.app.config.update(FLEET_BACKOFF_SECONDS=0.05, FLEET_PRIVACY_RECHECK_SECONDS=0.1, FLEET_QUOTA_TTL=0,
                               FLEET_RATE_LIMIT_PAUSE=0.1, JOB_RETRY_INTERVALS=[0, 0], AUDIT_POLL_AFTER_MINUTES=0)
    make_user(role="staff", email="ops@example.com")
    tenants = [make_tenant("奶茶连锁"), make_tenant("面包连锁")]
    appids = [platform.authorized_app(tenants[n % 2], nick_name=f"门店 {n + 1:02d}") for n in range(FLEET_SIZE)]
    template_id = steps.sandbox_template(platform, version="2.0.0", desc="会员积分")

    steps.log_in_as_staff(page, "ops@example.com", TEST_PASSWORD)
    release_id = steps.start_fleet_release(page, template_id, "2.0.0")
    steps.follow_fleet_to_the_end(page, platform, release_id, FLEET_SIZE)
    # the chart, the state in words and the controls followed too, without a reload
    expect(page.locator('[data-bar-value="outcome-approved"]')).to_have_text(str(FLEET_SIZE))
    expect(page.locator('[data-bar="outcome-approved"]')).to_have_attribute("width", "260")
    expect(page.locator("[data-fleet-state]")).to_have_text("已完成")
    expect(page.locator("[data-fleet-control]")).to_have_count(4)
    for control in page.locator("[data-fleet-control]").all():
        expect(control).to_be_hidden()
    expect(page.locator("[data-fleet-no-controls]")).to_be_visible()
    expect(page.locator("[data-fleet-finished]")).to_contain_text("结束")
    assert page.evaluate("window.__journeyMark"), "the progress page was reloaded"
    steps.shot(page, "18-fleet-progress-done")

    for appid in appids:
        assert platform.api.count("release", appid, errcode=0) == 1, appid
