"""Fleet pages: start from the form (errors re-render with 400), the progress page with counts, chart and
live status JSON, the CSV report, controls, and a constant number of SQL queries per progress view."""

import csv
import io

from sqlalchemy import event

from portal.extensions import db
from portal.services import library


def _html(response):
    return response.get_data(as_text=True)


def _form(template_id, **fields):
    return {"template_id": template_id, "user_version": "2.0.0", "mode": "all", "max_concurrency": 5,
            "max_failure_rate": 100, "auto_submit": "y", "auto_release": "y", **fields}


def test_start_follow_control_and_export(fleet_env, make_tenant):
    env = fleet_env
    tenant = make_tenant("Flower Shop")
    appids = env.apps(tenant, 3)
    template_id = env.template()
    with env.app.app_context():
        library.sync_templates()
    bad = env.post("/staff/fleet/new", _form(template_id, user_version="bad version!"))
    assert bad.status_code == 400 and 'id="fleet-form"' in _html(bad)
    none = env.post("/staff/fleet/new", _form(template_id, mode="tenants", tenant_ids=[]))
    assert none.status_code == 400
    response = env.post("/staff/fleet/new", _form(template_id, auto_submit="", auto_release=""))
    assert response.status_code == 302
    url = response.headers["Location"]
    release_id = int(url.rstrip("/").rsplit("/", 1)[-1])
    states = env.settle_until(release_id, lambda s: set(s.values()) == {"committed"})
    assert set(states.values()) == {"committed"}
    page = env.client.get(url)
    assert page.status_code == 200 and "data-fleet-status-url" in _html(page) and "<svg" in _html(page)
    status = env.client.get(f"/staff/fleet/{release_id}/status?state=committed").get_json()
    assert status["state"] == "finished" and status["percent"] == 100 and status["counts"]["committed"] == 3
    assert {row["appid"] for row in status["rows"]} == set(appids)
    report = env.client.get(f"/staff/fleet/{release_id}/report.csv")
    rows = list(csv.DictReader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert report.mimetype == "text/csv" and {r["appid"] for r in rows} == set(appids)
    # a finished release cannot be paused: the page says why, no 500
    page = env.post(f"/staff/fleet/{release_id}/pause", follow_redirects=True)
    assert page.status_code == 200 and ("cannot" in _html(page) or "无法" in _html(page))
    assert env.post(f"/staff/fleet/{release_id}/explode").status_code == 404


def test_progress_page_queries_do_not_grow_with_the_fleet(fleet_env, make_tenant):
    env = fleet_env
    tenant = make_tenant("Shoe Shop")
    template_id = env.template()
    counts = []
    for n in (2, 6):
        env.apps(tenant, n if not counts else n - 2)
        with env.app.app_context():
            library.sync_templates()
        response = env.post("/staff/fleet/new", _form(template_id, auto_submit="", user_version=f"2.0.{n}"))
        release_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
        env.settle_until(release_id, lambda s: set(s.values()) == {"committed"})
        statements = []
        with env.app.app_context():
            def count(*_args, seen=statements):
                seen.append(1)
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                assert env.client.get(f"/staff/fleet/{release_id}").status_code == 200
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_progress_page_speaks_words_and_offers_only_the_controls_that_apply(fleet_env, make_tenant):
    """States and steps in words (zh by default, also in the status JSON and the CSV), the options as a
    list, the audit chart in the status JSON, controls per state, and a finished release keeps its report."""
    from tests.fleet.conftest import start

    env = fleet_env
    tenant = make_tenant("Tea House")
    env.apps(tenant, 2)
    template_id = env.template()
    release_id = start(env, template_id, auto_release=False, max_failure_rate=100, max_concurrency=3)
    html = _html(env.client.get(f"/staff/fleet/{release_id}"))
    assert ">运行中<" in html and "&#34;auto_submit&#34;" not in html and '"auto_submit"' not in html
    assert 'id="fleet-options"' in html and "所有已授权的小程序" in html and "同时处理的小程序数" in html
    assert _controls(html) == {"pause", "cancel"}
    assert env.post(f"/staff/fleet/{release_id}/pause").status_code == 302
    paused = _html(env.client.get(f"/staff/fleet/{release_id}"))
    assert ">已暂停<" in paused and _controls(paused) == {"resume", "cancel"}
    status = env.client.get(f"/staff/fleet/{release_id}/status").get_json()
    assert status["state_label"] == "已暂停" and set(status["controls"]) == {"resume", "cancel"}
    assert env.post(f"/staff/fleet/{release_id}/resume").status_code == 302
    env.settle_until(release_id, lambda s: set(s.values()) <= {"in_audit", "privacy"} and "in_audit" in s.values())
    env.settle_until(release_id, lambda s: set(s.values()) == {"in_audit"})
    env.audit_results()
    states = env.settle_until(release_id, lambda s: set(s.values()) == {"approved"})
    assert set(states.values()) == {"approved"}, states
    status = env.client.get(f"/staff/fleet/{release_id}/status").get_json()
    assert status["state"] == "finished" and status["state_label"] == "已完成" and status["controls"] == []
    assert status["chart"]["outcomes"]["approved"] == 2 and {r["state_label"] for r in status["rows"]} == {"审核通过"}
    done = _html(env.client.get(f"/staff/fleet/{release_id}"))
    assert ">已完成<" in done and _controls(done) == set() and "ops@example.com" in done
    assert 'width="260.0" class="bar bar-approved" data-bar="outcome-approved"' in done
    report = env.client.get(f"/staff/fleet/{release_id}/report.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(report.lstrip("\ufeff"))))
    assert {r["state"] for r in rows} == {"审核通过"} and len(rows) == 2


def _controls(html):
    """The control forms the page shows (the others are in the page, hidden, for the live script)."""
    import re

    return {m.group(1) for m in re.finditer(r'data-fleet-control="(\w+)"(?! hidden)', html)}


def test_the_csv_report_defuses_cells_a_spreadsheet_would_run(fleet_env, make_tenant):
    """Names chosen by merchants reach the report: a cell starting with = + - @ (or a tab, a carriage
    return) gets a leading quote, as OWASP advises, so a spreadsheet shows it instead of running it."""
    from tests.fleet.conftest import start

    env = fleet_env
    tenant = make_tenant("=HYPERLINK(\"http://evil.example\",\"x\")")
    names = ["@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3", "\tTab shop", "Plain shop"]
    for name in names:
        env.apps(tenant, 1, nick_name=name)
    template_id = env.template()
    release_id = start(env, template_id, auto_submit=False, auto_release=False)
    env.settle_until(release_id, lambda s: set(s.values()) == {"committed"})
    report = env.client.get(f"/staff/fleet/{release_id}/report.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(report.lstrip("\ufeff"))))
    assert sorted(r["name"] for r in rows) == sorted("'" + n if n[0] in "=+-@\t" else n for n in names)
    assert {r["tenant"] for r in rows} == {"'=HYPERLINK(\"http://evil.example\",\"x\")"}
    assert {r["errcode"] for r in rows} == {""}


def test_spreadsheet_safe_leaves_plain_numbers_alone():
    from portal.services.fleet.report import spreadsheet_safe

    assert [spreadsheet_safe(v) for v in ("-1", "+86", "3.5", -1, None, "=1+2", "\r=1", "-1+cmd")] == \
        ["-1", "+86", "3.5", -1, None, "'=1+2", "'\r=1", "'-1+cmd"]
