"""Role checks and tenant isolation for every route, driven by the classification in tests/routes.py."""

import re

import pytest

from tests import routes
from tests.conftest import csrf_token


def _rules(app):
    return [r for r in app.url_map.iter_rules()]


def test_every_route_is_classified(app):
    known = routes.PUBLIC | routes.MERCHANT | routes.SIGNED_IN | routes.CALLBACKS | {e for e, _, _ in routes.MERCHANT_OBJECT_ROUTES}
    unclassified = [
        r.endpoint for r in _rules(app)
        if r.endpoint not in known and r.endpoint.split(".")[0] not in routes.STAFF_BLUEPRINTS
    ]
    assert unclassified == [], "add these routes to tests/routes.py"


def _fill(rule, value=1):
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", str(value), rule.rule)


def test_merchant_gets_403_on_every_staff_route(app, client, two_tenants, login_as):
    tenant_b = two_tenants["b"][0]
    login_as(two_tenants["a"][2])
    token = csrf_token(client, "/dashboard")
    checked = 0
    for rule in _rules(app):
        if rule.endpoint.split(".")[0] not in routes.STAFF_BLUEPRINTS:
            continue
        url = _fill(rule, tenant_b)
        for method in rule.methods & {"GET", "POST"}:
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 403, (method, url, response.status_code)
            checked += 1
    assert checked >= 8


def test_anonymous_is_sent_to_login_on_staff_and_merchant_routes(app, client):
    for rule in _rules(app):
        if rule.endpoint.split(".")[0] in routes.STAFF_BLUEPRINTS or rule.endpoint in routes.MERCHANT | routes.SIGNED_IN:
            if "GET" in rule.methods:
                response = client.get(_fill(rule))
                assert response.status_code == 302 and "/account/login" in response.location, rule.rule


def test_merchant_dashboard_shows_only_its_own_tenant(app, client, two_tenants, login_as):
    from portal.extensions import db
    from portal.models import MiniProgram

    with app.app_context():
        for key, name in (("a", "Alpha App"), ("b", "Beta App")):
            db.session.add(MiniProgram(authorizer_appid=f"wx{key * 16}", nick_name=name,
                                       tenant_id=two_tenants[key][0]))
        db.session.commit()
    login_as(two_tenants["a"][2])
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Alpha App" in page and "Beta App" not in page


@pytest.mark.parametrize("endpoint,method,args", routes.MERCHANT_OBJECT_ROUTES)
def test_merchant_gets_404_for_another_tenants_objects(app, client, two_tenants, login_as, tenant_objects,
                                                      endpoint, method, args):
    from flask import url_for

    login_as(two_tenants["a"][2])
    token = csrf_token(client, "/dashboard")
    objects_b = tenant_objects(two_tenants["b"][0])
    with app.test_request_context():
        url = url_for(endpoint, **{name: objects_b[key] for name, key in args.items()})
    response = client.open(url, method=method, data={"csrf_token": token})
    assert response.status_code == 404, (endpoint, response.status_code)
