"""Staff manage tenants and merchant users; forms validate and re-render with field errors."""

from tests.conftest import post_form


def test_staff_creates_and_lists_a_tenant(client, staff):
    response = post_form(client, "/staff/tenants/new", {"name": "杭州小店", "contact_email": "a@example.com"},
                         token_from="/")
    assert response.status_code == 302
    listing = client.get("/staff/tenants/").get_data(as_text=True)
    assert "杭州小店" in listing


def test_tenant_form_validates_and_keeps_input(client, staff):
    response = post_form(client, "/staff/tenants/new", {"name": "", "contact_email": "not-an-email"}, token_from="/")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'value="not-an-email"' in body
    assert "error" in body


def test_duplicate_tenant_name_is_refused(client, staff, make_tenant):
    make_tenant("Same Name")
    response = post_form(client, "/staff/tenants/new", {"name": "same name"}, token_from="/")
    assert response.status_code == 400
    assert "已存在" in response.get_data(as_text=True)


def test_edit_and_suspend_tenant(client, staff, make_tenant, make_user, app):
    tenant_id = make_tenant("Old Name")
    make_user(tenant_id=tenant_id, email="m@example.com")
    assert post_form(client, f"/staff/tenants/{tenant_id}/edit", {"name": "New Name"}, token_from="/").status_code == 302
    assert "New Name" in client.get(f"/staff/tenants/{tenant_id}").get_data(as_text=True)
    post_form(client, f"/staff/tenants/{tenant_id}/status", {"suspend": "1"}, token_from="/")
    merchant = app.test_client()
    assert post_form(merchant, "/account/login", {"email": "m@example.com", "password": "correct-horse-battery"}
                     ).status_code == 401
    post_form(client, f"/staff/tenants/{tenant_id}/status", {"suspend": "0"}, token_from="/")
    assert post_form(merchant, "/account/login", {"email": "m@example.com", "password": "correct-horse-battery"}
                     ).status_code == 302


def test_create_merchant_user_with_password(client, staff, make_tenant, app):
    tenant_id = make_tenant("Shop")
    response = post_form(client, f"/staff/tenants/{tenant_id}/users/new",
                         {"email": "Owner@Example.com", "mode": "password", "password": "long-enough-pass"},
                         token_from="/")
    assert response.status_code == 302
    merchant = app.test_client()
    assert post_form(merchant, "/account/login", {"email": "owner@example.com", "password": "long-enough-pass"}
                     ).status_code == 302
    assert "Shop" in merchant.get("/dashboard").get_data(as_text=True)


def test_merchant_user_needs_a_strong_initial_password(client, staff, make_tenant):
    tenant_id = make_tenant("Shop")
    response = post_form(client, f"/staff/tenants/{tenant_id}/users/new",
                         {"email": "o@example.com", "mode": "password", "password": "short"}, token_from="/")
    assert response.status_code == 400


def test_duplicate_user_email_is_refused(client, staff, make_tenant, make_user):
    tenant_id = make_tenant("Shop")
    make_user(tenant_id=tenant_id, email="taken@example.com")
    response = post_form(client, f"/staff/tenants/{tenant_id}/users/new",
                         {"email": "taken@example.com", "mode": "invite"}, token_from="/")
    assert response.status_code == 400


def test_disable_user(client, staff, make_tenant, make_user, app):
    tenant_id = make_tenant("Shop")
    user_id = make_user(tenant_id=tenant_id, email="m@example.com")
    post_form(client, f"/staff/tenants/{tenant_id}/users/{user_id}/enabled", {"enabled": "0"}, token_from="/")
    assert post_form(app.test_client(), "/account/login",
                     {"email": "m@example.com", "password": "correct-horse-battery"}).status_code == 401


def test_merchant_dashboard_shows_empty_state(client, two_tenants, login_as):
    login_as(two_tenants["a"][2])
    page = client.get("/dashboard").get_data(as_text=True)
    assert "授权您的小程序" in page


def test_unknown_routes_404_and_large_bodies_413(client, make_app):
    assert client.get("/no/such/page").status_code == 404
    small = make_app(MAX_CONTENT_LENGTH=1024).test_client()
    assert small.post("/account/login", data={"email": "x" * 5000}).status_code == 413


def test_unexpected_errors_roll_back_and_show_a_friendly_page(make_app, make_tenant):
    app = make_app()

    def explode():
        from portal.extensions import db
        from portal.models import Tenant

        db.session.add(Tenant(name="half-written"))
        db.session.flush()
        raise RuntimeError("boom with a secret detail")

    app.add_url_rule("/explode", "explode", explode)
    response = app.test_client().get("/explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "boom" not in body and "Traceback" not in body and "系统出现错误" in body
    from portal.models import Tenant

    with app.app_context():
        assert Tenant.query.filter_by(name="half-written").count() == 0
