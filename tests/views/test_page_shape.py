"""One shape for the pages: every paginated page pages through the one `pager` macro of `_macros.html` (it
marks its <nav> with `data-pager`, and the links keep the page's filters), page scripts come from base.html's
`scripts` block at the end of the body, and the audit badge reads the model's `AUDIT_STATUSES`."""

import pathlib
import re

import pytest

from portal.timeutil import utcnow

PORTAL = pathlib.Path(__file__).resolve().parents[2] / "portal"
MACROS = PORTAL / "templates" / "_macros.html"


def test_no_template_but_the_macros_writes_a_pager():
    by_hand = [str(path.relative_to(PORTAL)) for path in sorted(PORTAL.rglob("templates/**/*.html"))
               if path != MACROS and 'class="pagination"' in path.read_text(encoding="utf-8")]
    assert by_hand == [], f"use the pager macro of _macros.html in {by_hand}"


@pytest.fixture
def many_rows(app):
    """Two tenants with 101 mini-programs, 101 WeChat calls and a fleet release over those apps: more than
    one page everywhere at PAGE_SIZE 1 and at the fixed 100 rows of the call log and the fleet page."""
    from portal.extensions import db
    from portal.models import FleetRelease, FleetTarget, MiniProgram, Tenant, WeChatCall

    app.config["PAGE_SIZE"] = 1
    with app.app_context():
        now = utcnow()
        db.session.execute(Tenant.__table__.insert(), [
            {"name": name, "status": "active", "created_at": now, "updated_at": now} for name in ("North", "South")])
        tenant = db.session.scalar(db.select(Tenant.id).where(Tenant.name == "North"))
        db.session.execute(MiniProgram.__table__.insert(), [
            {"authorizer_appid": f"wxpage{k:012d}", "nick_name": f"App {k}", "tenant_id": tenant,
             "auth_state": "authorized", "is_show": False, "create_time": now, "created_at": now, "updated_at": now}
            for k in range(101)])
        db.session.execute(WeChatCall.__table__.insert(), [
            {"created_at": now, "api": "wxa/get_auditstatus", "appid": "wxpage000000000001", "errcode": 0}
            for _k in range(101)])
        release = FleetRelease(template_id=1, user_version="1.0.0", state="finished", created_at=now)
        db.session.add(release)
        db.session.flush()
        db.session.execute(FleetTarget.__table__.insert(), [
            {"release_id": release.id, "miniprogram_id": mp_id, "tenant_id": tenant, "appid": appid,
             "state": "released", "updated_at": now}
            for mp_id, appid in db.session.execute(db.select(MiniProgram.id, MiniProgram.authorizer_appid)).all()])
        db.session.commit()
        return {"release": release.id}


def _pagers(body):
    return re.findall(r"<nav [^>]*pagination[^>]*>.*?</nav>", body, re.S)


def test_every_paginated_page_uses_the_pager_macro(client, staff, many_rows):
    release = many_rows["release"]
    # (path of page 2, a query parameter its links must keep)
    pages = [("/staff/tenants/?page=2&q=o", "q=o"),
             ("/staff/platform/?page=2&state=authorized", "state=authorized"),
             ("/staff/code/?page=2&sort=name&dir=asc", "dir=asc"),
             ("/staff/code/calls?page=2&api=wxa/get_auditstatus", "api=wxa"),
             (f"/staff/fleet/{release}?page=1&state=released", "state=released")]
    for path, kept in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        pagers = _pagers(response.get_data(as_text=True))
        assert len(pagers) == 1, (path, pagers)
        assert "data-pager" in pagers[0], (path, pagers[0])
        links = re.findall(r'href="([^"]+)"', pagers[0])
        assert links and all(kept in link.replace("%2F", "/") for link in links), (path, links)


def test_page_scripts_come_at_the_end_of_the_body(client, staff, many_rows):
    body = client.get(f"/staff/fleet/{many_rows['release']}").get_data(as_text=True)
    page, _sep, scripts = body.partition("</footer>")
    assert "js/fleet.js" in scripts
    assert "<script" not in page.partition("<body>")[2]


def test_the_audit_badge_reads_the_model_mapping(app):
    from portal.models.audit import AUDIT_REJECTED, AUDIT_STATUSES

    badge = app.jinja_env.get_template("releases/_macros.html").module.audit_badge
    with app.test_request_context():
        for status, (label, css) in AUDIT_STATUSES.items():
            assert str(badge(status)).strip() == f'<span class="badge badge-{css}">{label}</span>'
        assert "审核驳回" in str(badge(AUDIT_REJECTED))  # the reader's language, Chinese by default
        assert str(badge(9)).strip() == '<span class="badge badge-muted">9</span>'
