"""Staff lists at fleet scale: the tenant filter stays small with many tenants (a search box with
suggestions instead of a <select> of every tenant), and the code list shows each app's newest and live
audit whatever the filters."""

import re
from datetime import timedelta

import pytest

from portal.timeutil import utcnow

SELECT_MAX = 100  # services.platform.TENANT_SELECT_MAX


def _html(response):
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


@pytest.fixture
def fleet_rows(app):
    """Insert tenants and mini-programs straight into the database: {tenant name: [appid, ...]}."""

    def insert(tenant_names, apps_per_tenant=1):
        from portal.extensions import db
        from portal.models import MiniProgram, Tenant

        result = {}
        with app.app_context():
            now = utcnow()
            db.session.execute(Tenant.__table__.insert(), [
                {"name": name, "status": "active", "created_at": now, "updated_at": now} for name in tenant_names])
            ids = dict(db.session.execute(db.select(Tenant.name, Tenant.id)).all())
            rows = []
            for name in tenant_names:
                for k in range(apps_per_tenant):
                    appid = f"wxlist{ids[name]:06d}{k:04d}"
                    result.setdefault(name, []).append(appid)
                    rows.append({"authorizer_appid": appid, "nick_name": f"{name} app {k}", "tenant_id": ids[name],
                                 "auth_state": "authorized", "is_show": False, "create_time": now,
                                 "created_at": now, "updated_at": now})
            db.session.execute(MiniProgram.__table__.insert(), rows)
            db.session.commit()
        return result

    return insert


def _options(body, name):
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', body, re.S)
    return re.findall(r'<option value="([^"]*)"', select.group(1)) if select else None


def test_few_tenants_are_offered_in_a_select(client, staff, fleet_rows):
    apps = fleet_rows(["North shop", "South shop", "East shop"])
    for path in ("/staff/platform/", "/staff/code/"):
        body = _html(client.get(path))
        assert len(_options(body, "tenant")) == 4  # "all tenants" and the three
        assert 'name="tenant_name"' not in body
        for name in apps:
            assert name in body


def test_many_tenants_get_a_search_box_that_filters_by_name(client, staff, fleet_rows):
    names = [f"Shop {i:03d}" for i in range(SELECT_MAX + 5)] + ["Lakeside tea house"]
    apps = fleet_rows(names)
    for path in ("/staff/platform/", "/staff/code/"):
        body = _html(client.get(path))
        assert _options(body, "tenant") is None, "no <select> of every tenant"
        assert 'name="tenant_name"' in body and "data-tenant-lookup" in body
        narrowed = _html(client.get(path + "?tenant_name=lakeside"))
        assert apps["Lakeside tea house"][0] in narrowed
        assert apps["Shop 001"][0] not in narrowed


def test_a_tenant_link_keeps_working_with_many_tenants(client, staff, fleet_rows, app):
    from portal.extensions import db
    from portal.models import Tenant

    apps = fleet_rows([f"Shop {i:03d}" for i in range(SELECT_MAX + 1)])
    with app.app_context():
        tenant_id = db.session.scalar(db.select(Tenant.id).where(Tenant.name == "Shop 042"))
    body = _html(client.get(f"/staff/code/?tenant={tenant_id}"))
    assert _options(body, "tenant") == ["", str(tenant_id)]  # the chosen tenant, and a way back to all
    assert "Shop 042" in body
    assert apps["Shop 042"][0] in body and apps["Shop 043"][0] not in body


def test_tenant_lookup_suggests_names_starting_with_the_term_first(client, staff, fleet_rows):
    fleet_rows(["Tea corner", "Green tea", "Teahouse", "Coffee"] + [f"Tea {i:02d}" for i in range(30)])
    found = client.get("/staff/tenants/lookup?q=tea").get_json()
    assert len(found) == 20  # capped
    assert all(row["name"].lower().startswith("tea") for row in found)  # 32 start with it: they come first
    assert [row["name"] for row in client.get("/staff/tenants/lookup?q=corn").get_json()] == ["Tea corner"]
    assert client.get("/staff/tenants/lookup?q=%25").get_json() == []  # LIKE wildcards are literal
    assert client.get("/staff/tenants/lookup").get_json() == []


def test_tenant_lookup_is_for_staff_only(client, make_tenant, make_user, login_as):
    tenant_id = make_tenant("Mine")
    make_user(tenant_id=tenant_id, email="m@example.com")
    login_as("m@example.com")
    assert client.get("/staff/tenants/lookup?q=Mi").status_code == 403


def test_code_list_shows_newest_and_live_audit_and_filters_by_them(client, staff, fleet_rows, app):
    from portal.extensions import db
    from portal.models import Audit, MiniProgram

    apps = fleet_rows(["Alpha", "Beta"], apps_per_tenant=3)
    alpha, beta = apps["Alpha"], apps["Beta"]
    with app.app_context():
        ids = dict(db.session.execute(db.select(MiniProgram.authorizer_appid, MiniProgram.id)).all())
        now, n = utcnow(), 0

        def audit(appid, status, version, released=False, template=7):
            nonlocal n
            n += 1
            db.session.add(Audit(appid=appid, auditid=str(9000 + n), status=status, user_version=version,
                                 template_id=template, is_release=released, miniprogram_id=ids[appid],
                                 create_time=now - timedelta(hours=100 - n)))

        audit(alpha[0], 0, "1.0.0", released=True)
        audit(alpha[0], 2, "1.1.0")  # newest is in review; 1.0.0 is still live
        audit(alpha[1], 0, "1.0.0", released=True)
        audit(alpha[1], 0, "1.1.0", released=True, template=8)  # live is 1.1.0 now
        audit(beta[0], 1, "1.1.0")  # rejected, nothing live
        db.session.commit()
    body = _html(client.get("/staff/code/?sort=appid&dir=asc"))
    row = re.search(rf"<tr><td>[^<]*</td><td><code>{alpha[0]}</code>.*?</tr>", body, re.S).group(0)
    assert "9002" in row and "1.0.0" in row  # newest audit and the live version
    in_review = _html(client.get("/staff/code/?audit=2"))
    assert alpha[0] in in_review and alpha[1] not in in_review and beta[0] not in in_review
    live_100 = _html(client.get("/staff/code/?released=1.0.0"))
    assert alpha[0] in live_100 and alpha[1] not in live_100
    by_template = _html(client.get("/staff/code/?template=8"))
    assert alpha[1] in by_template and alpha[0] not in by_template
    rejected_beta = _html(client.get("/staff/code/?audit=1&tenant_name=Beta"))
    assert beta[0] in rejected_beta and alpha[0] not in rejected_beta
    assert beta[1] not in rejected_beta  # no audit at all
