"""The whole journey in a real browser: staff sets up a tenant and its users, the merchant authorizes a
mini-program on WeChat's page, both see it, and the merchant takes it to its first release. Key pages are saved as screenshots.

Then the merchant manages the mini-program's code on the real pages: domains, a tester, an upload from a
template (the job's status updates in place), the trial QR code, privacy texts, an audit WeChat approves,
the release.

Steps live in tests/browser/steps.py; new features append steps here.
"""

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.steps import Journey
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

STAFF_EMAIL = "ops@example.com"
MERCHANT_PASSWORD = "noodles-are-great-42"
INVITED_PASSWORD = "dumplings-are-great-7"


def test_journey_from_new_tenant_to_released_miniprogram(platform, new_page, make_user, sandbox):
    platform.app.config.update(JOB_RETRY_INTERVALS=[0, 0])
    make_user(role="staff", email=STAFF_EMAIL)
    journey = Journey(platform=platform, tenant_name="拉面小馆连锁", merchant_email="owner@example.com",
                      nick_name="拉面小馆", staff=new_page())
    journey.appid = platform.api.create_miniprogram(nick_name=journey.nick_name, principal_name="杭州拉面有限公司")

    # Staff: log in, create the tenant, a merchant user with a password and one with an invitation link.
    steps.open_login(journey.staff)
    steps.shot(journey.staff, "01-login")
    steps.log_in_as_staff(journey.staff, STAFF_EMAIL, TEST_PASSWORD)
    journey.tenant_id = steps.create_tenant(journey.staff, journey.tenant_name)
    steps.shot(journey.staff, "02-tenant-detail")
    steps.create_merchant_user_with_password(journey.staff, journey.tenant_id, journey.merchant_email,
                                             MERCHANT_PASSWORD)
    link = steps.create_merchant_user_with_invitation(journey.staff, journey.tenant_id, "clerk@example.com")

    # The invited clerk sets a password through the link and is logged in.
    clerk = new_page()
    steps.accept_invitation(clerk, link, INVITED_PASSWORD)

    # The merchant logs in and authorizes the mini-program on WeChat's page.
    journey.merchant = new_page()
    steps.log_in_as_merchant(journey.merchant, journey.merchant_email, MERCHANT_PASSWORD)
    steps.shot(journey.merchant, "03-merchant-dashboard-empty")
    steps.open_authorize_page(journey.merchant)
    steps.shot(journey.merchant, "04-authorize-qr")
    steps.go_to_wechat_authorization(journey.merchant, sandbox.url)
    steps.shot(journey.merchant, "05-sandbox-authorization")
    steps.confirm_on_wechat(journey.merchant, journey.appid, journey.nick_name)
    steps.expect_miniprogram_on_dashboard(journey.merchant, journey.appid, journey.nick_name, "杭州拉面有限公司")
    steps.shot(journey.merchant, "06-merchant-dashboard-miniprogram")

    # The clerk of the same tenant sees it too.
    clerk.reload()
    steps.expect_miniprogram_listed(clerk, journey.appid)

    # Staff sees it on the platform page, and the ticket and authorization pushes in the push log.
    steps.expect_platform_lists(journey.staff, journey.appid, journey.nick_name, journey.tenant_name)
    steps.shot(journey.staff, "07-staff-platform")
    steps.expect_pushes_listed(journey.staff, platform, ["component_verify_ticket", "authorized"], journey.appid)
    steps.shot(journey.staff, "08-staff-pushes")
    steps.expect_tenant_shows_miniprogram(journey.staff, journey.tenant_id, journey.appid)

    # The merchant manages the mini-program's code: domains and a tester first.
    merchant = journey.merchant
    template_id = steps.sandbox_template(platform, privacy_keys=["UserInfo"])
    steps.open_code_management(merchant, journey.appid, journey.nick_name)
    steps.shot(merchant, "14-code-overview")
    steps.set_server_domain(merchant, "api.localhost")
    steps.set_webview_domain(merchant, "www.localhost")
    steps.bind_tester(merchant, "tester_wang")

    # Upload code from the template: the job's status turns "done" in place; then the trial QR code shows.
    # (WeChat answers the commit slowly, so the page is rendered while the job still runs.)
    platform.api.faults(endpoint="commit", latency_ms=1500, count=1)
    assert steps.upload_code(merchant, platform, template_id, "1.0.0"), "the upload ended before the page showed it"
    steps.expect_experience_qr(merchant)
    steps.shot(merchant, "15-code-upload-done")

    # Privacy: after WeChat's scan, the texts it asks for go into the settings and the guideline is applied.
    steps.fill_privacy(merchant, platform, {"UserInfo": "用于展示会员头像和昵称"})

    # Audit: submit, WeChat approves and pushes, the page shows it (in both languages).
    state, message, _live = steps.submit_audit(merchant, platform)
    assert state == steps.DONE, message
    steps.expect_audit_approved(merchant, platform, journey.appid)
    steps.shot(merchant, "16-audit-approved")
    steps.switch_language(merchant, "en")
    expect(merchant.locator("#audit-history tbody tr").first.locator(".badge").first).to_have_text("Approved")
    steps.switch_language(merchant, "zh")

    # Release, and the overview says what is live.
    steps.release(merchant, platform, "1.0.0")
    steps.shot(merchant, "17-release")
    steps.expect_overview_released(merchant, "1.0.0")
    assert platform.api.count("release", journey.appid, errcode=0) == 1
