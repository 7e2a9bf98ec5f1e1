"""Times are shown in the viewer's zone (their own setting, else the platform's DEFAULT_TIMEZONE, else Beijing
time), the same on pages, in the JSON pages poll and in CSV exports; each tab of a mini-program shows only its
own background jobs, the overview all of them."""

import csv
import io
import re
from datetime import datetime

from portal.extensions import db
from portal.models import FleetRelease, FleetTarget, JobRun, MiniProgram, Tenant, User
from tests.conftest import post_form

CREATED = datetime(2026, 12, 5, 18, 56)  # naive UTC, as stored: 02:56 the next day in Beijing


def _html(response):
    return response.get_data(as_text=True)


def _tenant_created_at(app, when=CREATED):
    with app.app_context():
        tenant = Tenant(name="Flower Shop")
        db.session.add(tenant)
        db.session.commit()
        tenant.created_at = when
        db.session.commit()
        return tenant.id


def test_times_default_to_beijing_time(app, client, staff):
    tenant_id = _tenant_created_at(app)
    page = _html(client.get(f"/staff/tenants/{tenant_id}"))
    assert "2026-12-06 02:56" in page and "18:56 UTC</dd>" not in page
    assert '<time datetime="2026-12-05T18:56:00Z" title="北京时间 (UTC+08:00) · 2026-12-05 18:56 UTC">' \
           '2026-12-06 02:56</time>' in page
    assert "时间为北京时间 (UTC+08:00)" in page  # the footer names the zone once


def test_the_platform_zone_applies_to_users_without_their_own(make_app, make_user, login_as):
    app = make_app(DEFAULT_TIMEZONE="Europe/Berlin")
    client = app.test_client()
    make_user(role="staff", email="ops@example.com")
    assert login_as("ops@example.com", test_client=client).status_code == 302
    tenant_id = _tenant_created_at(app)
    page = _html(client.get(f"/staff/tenants/{tenant_id}"))
    assert ">2026-12-05 19:56</time>" in page and "Europe/Berlin (UTC+01:00)" in page


def test_an_unknown_platform_zone_falls_back_to_beijing_time(make_app, make_user, login_as):
    app = make_app(DEFAULT_TIMEZONE="Mars/Olympus_Mons")
    client = app.test_client()
    make_user(role="staff", email="ops@example.com")
    login_as("ops@example.com", test_client=client)
    page = _html(client.get(f"/staff/tenants/{_tenant_created_at(app)}"))
    assert ">2026-12-06 02:56</time>" in page


def test_a_user_chooses_their_zone_on_the_preferences_page(app, client, staff):
    tenant_id = _tenant_created_at(app)
    form = client.get("/account/preferences")
    assert form.status_code == 200 and 'value="America/New_York"' in _html(form)
    saved = post_form(client, "/account/preferences", {"timezone": "America/New_York"},
                      token_from="/account/preferences", follow_redirects=True)
    assert saved.status_code == 200 and "America/New_York" in _html(saved)
    with app.app_context():
        assert db.session.get(User, staff).timezone == "America/New_York"
    page = _html(client.get(f"/staff/tenants/{tenant_id}"))
    assert ">2026-12-05 13:56</time>" in page and "America/New_York (UTC-05:00)" in page
    back = post_form(client, "/account/preferences", {"timezone": ""}, token_from="/account/preferences")
    assert back.status_code == 302
    assert ">2026-12-06 02:56</time>" in _html(client.get(f"/staff/tenants/{tenant_id}"))


def test_the_preferences_form_refuses_unknown_zones_and_missing_csrf(app, client, staff):
    bad = post_form(client, "/account/preferences", {"timezone": "Mars/Olympus_Mons"},
                    token_from="/account/preferences")
    assert bad.status_code == 400
    assert client.post("/account/preferences", data={"timezone": "Asia/Tokyo"}).status_code == 400
    with app.app_context():
        assert db.session.get(User, staff).timezone is None


def test_a_merchant_sets_a_zone_too(app, client, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Tea House")
    make_user(tenant_id=tenant_id, email="shop@example.com")
    login_as("shop@example.com")
    response = post_form(client, "/account/preferences", {"timezone": "Asia/Tokyo"},
                         token_from="/account/preferences")
    assert response.status_code == 302
    with app.app_context():
        assert User.query.filter_by(email="shop@example.com").one().timezone == "Asia/Tokyo"


def _miniprogram(app, tenant_id=None):
    with app.app_context():
        tenant_id = tenant_id or Tenant.query.first().id
        mp = MiniProgram(authorizer_appid="wxtz000000000001", nick_name="Tea", tenant_id=tenant_id)
        db.session.add(mp)
        db.session.commit()
        return mp.id, tenant_id


def _fleet_release(app, staff_id):
    mp_id, tenant_id = _miniprogram(app, _tenant_created_at(app))
    with app.app_context():
        release = FleetRelease(template_id=1, user_version="1.0.0", state="finished", created_by=staff_id,
                               created_at=CREATED, finished_at=CREATED)
        db.session.add(release)
        db.session.flush()
        db.session.add(FleetTarget(release_id=release.id, miniprogram_id=mp_id, tenant_id=tenant_id,
                                   appid="wxtz000000000001", state="released", submitted_at=CREATED,
                                   finished_at=CREATED))
        db.session.commit()
        return release.id


def test_the_polled_fleet_status_shows_the_time_the_page_shows(app, client, staff):
    release_id = _fleet_release(app, staff)
    page = _html(client.get(f"/staff/fleet/{release_id}"))
    shown = re.search(r"data-fleet-finished>(.*?)</span>", page, re.S).group(1)
    status = client.get(f"/staff/fleet/{release_id}/status").get_json()
    assert "2026-12-06 02:56" in status["finished"]
    # fleet.js writes " · " + status["finished"] into that span
    assert re.sub(r"<[^>]+>", "", shown).strip() == "· " + status["finished"]


def test_the_fleet_csv_states_its_zone(app, client, staff):
    release_id = _fleet_release(app, staff)
    text = client.get(f"/staff/fleet/{release_id}/report.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["submitted_at (Asia/Shanghai)"] == "2026-12-06 02:56:00"
    assert rows[0]["finished_at (Asia/Shanghai)"] == "2026-12-06 02:56:00"
    assert rows[0]["audit_result_at (Asia/Shanghai)"] == ""
    post_form(client, "/account/preferences", {"timezone": "UTC"}, token_from="/account/preferences")
    text = client.get(f"/staff/fleet/{release_id}/report.csv").get_data(as_text=True).lstrip("\ufeff")
    assert next(csv.DictReader(io.StringIO(text)))["finished_at (UTC)"] == "2026-12-05 18:56:00"


def _runs(app, mp_id, tenant_id):
    with app.app_context():
        for kind, message in (("commit", "upload-run"), ("submit_audit", "audit-run"), ("release", "release-run")):
            db.session.add(JobRun(kind=kind, key=f"{kind}:{mp_id}", miniprogram_id=mp_id, tenant_id=tenant_id,
                                  state="done", message=message, created_at=CREATED, finished_at=CREATED))
        db.session.commit()


def test_each_tab_shows_its_own_jobs_and_the_overview_all(app, client, staff):
    mp_id, tenant_id = _miniprogram(app, _tenant_created_at(app))
    _runs(app, mp_id, tenant_id)
    overview = _html(client.get(f"/miniprograms/{mp_id}/"))
    assert {"upload-run", "audit-run", "release-run"} <= set(re.findall(r"\w+-run", overview))
    for tab, own in (("code", "upload-run"), ("audit", "audit-run"), ("release", "release-run")):
        page = _html(client.get(f"/miniprograms/{mp_id}/{tab}"))
        assert set(re.findall(r"(?:upload|audit|release)-run", page)) == {own}, tab
        assert f'href="/miniprograms/{mp_id}/#jobs"' in page
    assert ">2026-12-06 02:56</time>" in overview


def test_check_config_names_an_unknown_platform_zone(make_app):
    good = make_app().test_cli_runner().invoke(args=["check-config"])
    assert "Asia/Shanghai" in good.output and "DEFAULT_TIMEZONE must be" not in good.output
    bad = make_app(DEFAULT_TIMEZONE="Asia/Beijing").test_cli_runner().invoke(args=["check-config"])
    assert bad.exit_code != 0 and "DEFAULT_TIMEZONE must be an IANA zone" in bad.output


def test_the_polled_job_status_gives_the_instant_the_page_marks_up(app, client, staff):
    mp_id, tenant_id = _miniprogram(app, _tenant_created_at(app))
    _runs(app, mp_id, tenant_id)
    with app.app_context():
        run_id = JobRun.query.filter_by(kind="commit").one().id
    status = client.get(f"/miniprograms/{mp_id}/jobs/{run_id}").get_json()
    assert status["finished_at"] == "2026-12-05T18:56:00Z"
    assert '<time datetime="2026-12-05T18:56:00Z"' in _html(client.get(f"/miniprograms/{mp_id}/"))
