"""The token service API over HTTP against the sandbox: keys (auth, scope, revocation, the staff page and the
CLI), the invalidate rule (one refresh for a hundred callers reporting one stale token), the error codes, the
rate limit and the call log. Every answer is checked against the OpenAPI document it serves."""

import logging
import threading
import time

import requests
import sqlalchemy as sa

from tests.api.conftest import bearer
from tests.api.openapi_check import check, load_document
from tests.conftest import post_form
from tests.helpers import drop_cached_tokens

TOKEN = "/authorizers/{appid}/access-token"
INVALIDATE = "/authorizers/{appid}/access-token/invalidate"
COMPONENT = "/component/access-token"


def _get(client, template, key=None, **params):
    response = client.get("/api/v1" + template.format(**params), headers=bearer(key) if key else {})
    return response, check(response, template)


def _invalidate(client, appid, key, body):
    response = client.post("/api/v1" + INVALIDATE.format(appid=appid), json=body, headers=bearer(key))
    return response, check(response, INVALIDATE, "POST")


def _stored_token(platform, appid):
    from portal.extensions import db
    from portal.models import MiniProgram

    with platform.app.app_context():
        db.session.expire_all()
        mp = MiniProgram.query.filter_by(authorizer_appid=appid).one()
        return mp.authorizer_access_token, mp.authorizer_expires


def _set_expiry(platform, appid, expires_at):
    from portal.extensions import db

    with platform.app.app_context():
        db.session.execute(sa.text("UPDATE wxminiprograms SET authorizer_expires = :e WHERE authorizer_appid = :a"),
                           {"e": expires_at, "a": appid})
        db.session.commit()
    drop_cached_tokens(platform.app)


def test_the_document_is_served_and_describes_every_route(platform):
    client = platform.client()
    response = client.get("/api/v1/openapi.json")
    document = check(response, "/openapi.json")
    assert document == load_document() and document["openapi"].startswith("3.1")
    api_rules = {r.rule.removeprefix("/api/v1").replace("<appid>", "{appid}")
                 for r in platform.app.url_map.iter_rules() if r.rule.startswith("/api/v1")}
    assert api_rules == set(document["paths"])


def test_a_key_gets_the_token_the_portal_holds_without_a_refresh(platform, make_key):
    appid = platform.authorized_app()
    key = make_key()
    before = platform.api.count("api_authorizer_token")
    client = platform.client()
    response, body = _get(client, TOKEN, key, appid=appid)
    assert response.status_code == 200
    token, expires_at = _stored_token(platform, appid)
    assert body["access_token"] == token and body["appid"] == appid
    assert 0 < expires_at - time.time() - body["expires_in"] <= 2
    assert response.headers["Cache-Control"] == "no-store"
    assert platform.api.count("api_authorizer_token") == before
    response, body = _get(client, COMPONENT, key)
    assert response.status_code == 200 and body["appid"] == platform.component_appid


def test_no_key_a_wrong_key_and_a_wrong_scheme_are_401(platform, make_key):
    appid = platform.authorized_app()
    key = make_key()
    client = platform.client()
    for headers in ({}, bearer("wxp_" + "x" * 43), bearer(key[:-1]), {"Authorization": f"Basic {key}"}):
        response = client.get("/api/v1" + TOKEN.format(appid=appid), headers=headers)
        body = check(response, TOKEN)
        assert response.status_code == 401 and body["error"]["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_key_reaches_its_tenants_only(platform, make_key, two_tenants):
    tenant_a, tenant_b = two_tenants["a"][0], two_tenants["b"][0]
    app_a, app_b = platform.authorized_app(tenant_a), platform.authorized_app(tenant_b)
    unassigned = platform.authorized_app()
    key = make_key("tenant-a-shop", tenant_ids=[tenant_a])
    client = platform.client()
    assert _get(client, TOKEN, key, appid=app_a)[0].status_code == 200
    for appid in (app_b, unassigned):
        response, body = _get(client, TOKEN, key, appid=appid)
        assert response.status_code == 403 and body["error"]["code"] == "out_of_scope"
    response, body = _get(client, COMPONENT, key)
    assert response.status_code == 403 and body["error"]["code"] == "out_of_scope"
    response, body = _get(client, TOKEN, key, appid="wx0000000000000000")
    assert response.status_code == 404 and body["error"]["code"] == "unknown_appid"
    response, body = _invalidate(client, app_b, key, {"access_token": "whatever"})
    assert response.status_code == 403


def test_keys_made_on_the_staff_page_are_shown_once_counted_and_revoked_at_once(platform, staff):
    appid = platform.authorized_app()
    client = platform.app.test_client()
    from tests.conftest import TEST_PASSWORD

    post_form(client, "/account/login", {"email": "staff@example.com", "password": TEST_PASSWORD})
    page = post_form(client, "/staff/api-keys/", {"name": "crm", "all_tenants": "y"}, token_from="/staff/api-keys/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    key = html.split('id="new-api-key">', 1)[1].split("<", 1)[0].strip()
    assert key.startswith("wxp_")
    listing = client.get("/staff/api-keys/").get_data(as_text=True)
    assert "crm" in listing and key not in listing and key[:10] in listing
    api = platform.client()
    for _ in range(3):
        assert _get(api, TOKEN, key, appid=appid)[0].status_code == 200
    # counts are written by each process once a second: the page shows them once written
    deadline = time.monotonic() + 10
    while '<td data-use-count>3</td>' not in (listing := client.get("/staff/api-keys/").get_data(as_text=True)):
        assert time.monotonic() < deadline, "the use count did not reach 3"
        time.sleep(0.05)
    row_html = listing.split('id="api-key-', 1)[1].split("</tr>", 1)[0]
    assert "crm" in row_html and row_html.split("data-use-count", 1)[0].count("<time") == 2  # created, last used
    from portal.models import ApiKey

    with platform.app.app_context():
        row = ApiKey.query.filter_by(name="crm").one()
        assert row.use_count == 3 and row.last_used_at is not None and row.key_hash != key
        key_id = row.id
    revoked = post_form(client, f"/staff/api-keys/{key_id}/revoke", token_from="/staff/api-keys/")
    assert revoked.status_code == 302
    response, body = _get(api, TOKEN, key, appid=appid)
    assert response.status_code == 401 and body["error"]["code"] == "unauthenticated"


def test_the_staff_page_refuses_a_key_without_scope_and_merchants(platform, staff, make_user, make_tenant):
    from tests.conftest import TEST_PASSWORD

    client = platform.app.test_client()
    post_form(client, "/account/login", {"email": "staff@example.com", "password": TEST_PASSWORD})
    page = post_form(client, "/staff/api-keys/", {"name": "nothing"}, token_from="/staff/api-keys/")
    assert page.status_code == 400 and "new-api-key" not in page.get_data(as_text=True)
    make_user(email="m@example.com", tenant_id=make_tenant())
    merchant = platform.app.test_client()
    post_form(merchant, "/account/login", {"email": "m@example.com", "password": TEST_PASSWORD})
    assert merchant.get("/staff/api-keys/").status_code == 403


def test_the_cli_prints_a_scoped_key_once(platform, make_tenant):
    tenant_id = make_tenant("Tea House")
    appid = platform.authorized_app(tenant_id)
    other = platform.authorized_app()
    result = platform.app.test_cli_runner().invoke(args=["create-api-key", "--name", "pos", "--tenant", str(tenant_id)])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("wxp_") and "\n" not in key
    client = platform.client()
    assert _get(client, TOKEN, key, appid=appid)[0].status_code == 200
    assert _get(client, TOKEN, key, appid=other)[0].status_code == 403
    again = platform.app.test_cli_runner().invoke(args=["create-api-key", "--name", "pos"])
    assert again.exit_code != 0 and "wxp_" not in again.output


def test_a_hundred_callers_reporting_one_stale_token_cause_one_refresh(platform, make_key):
    appid = platform.authorized_app()
    key = make_key()
    stale = _get(platform.client(), TOKEN, key, appid=appid)[1]["access_token"]
    before = platform.api.count("api_authorizer_token")
    url = f"{platform.url}/api/v1" + INVALIDATE.format(appid=appid)
    start, answers = threading.Barrier(100), []

    def report():
        with requests.Session() as http:
            start.wait()
            answers.append(http.post(url, json={"access_token": stale}, headers=bearer(key), timeout=60))

    threads = [threading.Thread(target=report) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert platform.api.count("api_authorizer_token") - before == 1
    bodies = [check(a, INVALIDATE, "POST") for a in answers]
    assert [a.status_code for a in answers] == [200] * 100
    fresh = {b["access_token"] for b in bodies}
    assert len(fresh) == 1 and stale not in fresh
    assert _stored_token(platform, appid)[0] in fresh
    # reported again later (a slow caller): it is no longer the current token, so nothing is refreshed
    response, body = _invalidate(platform.client(), appid, key, {"access_token": stale})
    assert response.status_code == 200 and {body["access_token"]} == fresh
    assert platform.api.count("api_authorizer_token") - before == 1


def test_invalidate_needs_the_rejected_token(platform, make_key):
    appid = platform.authorized_app()
    key = make_key()
    client = platform.client()
    for body in (None, {}, {"access_token": ""}, {"access_token": 5}, ["x"]):
        response, answer = _invalidate(client, appid, key, body)
        assert response.status_code == 400 and answer["error"]["code"] == "invalid_request"


def test_an_app_whose_authorization_is_gone_is_409(platform, make_key):
    appid = platform.authorized_app()
    key = make_key()
    platform.api.unauthorize(appid)
    from portal.models import MiniProgram

    with platform.app.app_context():
        assert MiniProgram.query.filter_by(authorizer_appid=appid).one().auth_state != "authorized"
    client = platform.client()
    response, body = _get(client, TOKEN, key, appid=appid)
    assert response.status_code == 409 and body["error"]["code"] == "needs_reauthorization"
    response, body = _invalidate(client, appid, key, {"access_token": "old"})
    assert response.status_code == 409


def test_wechat_unreachable_serves_a_valid_token_and_503_without_one(platform, make_key):
    appid = platform.authorized_app()
    key = make_key()
    client = platform.client()
    token = _stored_token(platform, appid)[0]
    platform.api.faults(endpoint="api_authorizer_token", http_status=503)
    _set_expiry(platform, appid, int(time.time()) + 120)  # due for refresh, still valid for two minutes
    response, body = _get(client, TOKEN, key, appid=appid)
    assert response.status_code == 200 and body["access_token"] == token and body["expires_in"] <= 120
    response, body = _invalidate(client, appid, key, {"access_token": token})
    assert response.status_code == 503 and body["error"]["code"] == "wechat_unavailable"
    _set_expiry(platform, appid, int(time.time()) - 1)
    response, body = _get(client, TOKEN, key, appid=appid)
    assert response.status_code == 503 and body["error"]["code"] == "wechat_unavailable"
    platform.api.clear_faults()
    response, body = _get(client, TOKEN, key, appid=appid)
    assert response.status_code == 200 and body["access_token"] != token


def test_wechat_refusing_the_refresh_is_502_with_its_code(platform, make_key):
    appid = platform.authorized_app()
    key = make_key()
    platform.api.faults(endpoint="api_authorizer_token", errcode=61004, errmsg="access clientip is not registered")
    _set_expiry(platform, appid, int(time.time()) - 1)
    response, body = _get(platform.client(), TOKEN, key, appid=appid)
    assert response.status_code == 502 and body["error"]["code"] == "wechat_refused"
    assert "61004" in body["error"]["message"]


def test_calls_beyond_the_key_rate_are_429(platform, make_key):
    appid = platform.authorized_app()
    first, second = make_key("first"), make_key("second")
    platform.app.config["API_RATE_LIMIT"] = "3 per minute"
    client = platform.client()
    assert [_get(client, TOKEN, first, appid=appid)[0].status_code for _ in range(3)] == [200] * 3
    response, body = _get(client, TOKEN, first, appid=appid)
    assert response.status_code == 429 and body["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert _get(client, TOKEN, second, appid=appid)[0].status_code == 200  # per key


def test_every_call_is_logged_with_the_key_name_never_the_token(platform, make_key, caplog):
    appid = platform.authorized_app()
    key = make_key("warehouse")
    client = platform.client()
    with caplog.at_level(logging.INFO, logger="portal"):
        token = _get(client, TOKEN, key, appid=appid)[1]["access_token"]
        fresh = _invalidate(client, appid, key, {"access_token": token})[1]["access_token"]
        _get(client, TOKEN, "wxp_unknown", appid=appid)
    lines = [r.getMessage() for r in caplog.records if r.name == "portal.api"]
    assert len(lines) == 3
    assert all("key=warehouse" in line for line in lines[:2]) and "key=-" in lines[2] and "status=401" in lines[2]
    everything = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert token not in everything and fresh not in everything and key not in everything
