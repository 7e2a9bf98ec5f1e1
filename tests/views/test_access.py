"""Role checks and tenant isolation for every route, driven by the classification in tests/routes.py."""

import re

import pytest

from tests import routes
from tests.conftest import csrf_token


def _rules(app):
    return [r for r in app.url_map.iter_rules()]


def test_every_route_is_classified(app):
    known = (routes.PUBLIC | routes.MERCHANT | routes.LOGGED_IN | routes.CALLBACKS | routes.API
             | {e for e, _, _ in routes.MERCHANT_OBJECT_ROUTES})
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
        if rule.endpoint.split(".")[0] in routes.STAFF_BLUEPRINTS or rule.endpoint in routes.MERCHANT | routes.LOGGED_IN:
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
        url = url_for(endpoint, **{name: key.value if isinstance(key, routes.Literal) else objects_b[key]
                                   for name, key in args.items()})
    response = client.open(url, method=method, data={"csrf_token": token})
    assert response.status_code == 404, (endpoint, response.status_code)


def _sealed_message_push(platform, to_user, event="weapp_audit_success"):
    """A message push sealed as WeChat (the sandbox's own crypto) seals it for the platform: (body, query)."""
    import os
    import time

    from sandbox.crypto import MessageCrypto

    creds = platform.credentials
    crypto = MessageCrypto(creds["WECHAT_COMPONENT_TOKEN"], creds["WECHAT_COMPONENT_AES_KEY"], platform.component_appid)
    ts, nonce = str(int(time.time())), os.urandom(4).hex()
    inner = (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><FromUserName><![CDATA[o_reviewer]]>"
             f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
             f"<Event><![CDATA[{event}]]></Event><SuccTime>{ts}</SuccTime></xml>")
    sealed = crypto.seal(inner, ts, nonce)
    body = f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><Encrypt><![CDATA[{sealed['encrypt']}]]></Encrypt></xml>"
    return body, {"signature": sealed["signature"], "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
                  "msg_signature": sealed["msg_signature"]}


def _two_apps_with_audits_in_review(platform, two_tenants):
    """An authorized mini-program for tenants A and B, each with an audit in review: ({key: appid}, A's gh_)."""
    from portal.extensions import db
    from portal.models import Audit, MiniProgram

    apps = {key: platform.authorized_app(two_tenants[key][0], nick_name=f"Shop {key}") for key in ("a", "b")}
    with platform.app.app_context():
        rows = {key: MiniProgram.query.filter_by(authorizer_appid=appid).one() for key, appid in apps.items()}
        assert all(row.user_name.startswith("gh_") for row in rows.values())
        for n, row in enumerate(rows.values()):
            db.session.add(Audit(appid=row.authorizer_appid, auditid=f"77{n}", miniprogram_id=row.id))
        db.session.commit()
        return apps, rows["a"].user_name


def _audit_outcomes(platform, apps):
    """{key: (audit status, audit pushes stored for the app)}."""
    from portal.models import Audit, CallbackEvent

    with platform.app.app_context():
        return {key: (Audit.query.filter_by(appid=appid).one().status,
                      CallbackEvent.query.filter_by(appid=appid, kind="weapp_audit_success").count())
                for key, appid in apps.items()}


def test_a_message_push_replayed_to_another_apps_url_is_refused(platform, two_tenants, caplog):
    """Every push of the platform is signed with one key, so a push for tenant A's app posted to tenant B's
    callback URL verifies; its inner ToUserName (A's gh_ id) tells it apart. It is refused in the answer
    the other refusals give, changes nothing of B's and is logged without its body; the push itself,
    posted to A's URL, is stored and applied."""
    import logging

    apps, gh_a = _two_apps_with_audits_in_review(platform, two_tenants)
    client = platform.client()
    body, query = _sealed_message_push(platform, gh_a)
    caplog.set_level(logging.INFO, logger="portal.callbacks")
    replayed = client.post(f"/wechat/events/{apps['b']}", query_string=query, data=body, content_type="text/xml")
    assert (replayed.status_code, replayed.get_data(as_text=True)) == (400, "rejected")
    assert "ToUserName is not the original id" in caplog.text and "weapp_audit_success" not in caplog.text
    genuine = client.post(f"/wechat/events/{apps['a']}", query_string=query, data=body, content_type="text/xml")
    assert (genuine.status_code, genuine.get_data(as_text=True)) == (200, "success")
    assert _audit_outcomes(platform, apps) == {"a": (0, 1), "b": (2, 0)}  # A's audit approved; B's in review


def test_an_app_authorized_after_the_names_were_read_is_checked_too(platform, two_tenants):
    """A process reads the gh_ names of every app at its first look-up; an app authorized afterwards is
    looked up on its own, so a push replayed to its URL is refused as well."""
    from portal.extensions import db
    from portal.models import Audit, MiniProgram

    apps, gh_a = _two_apps_with_audits_in_review(platform, two_tenants)
    client = platform.client()
    body, query = _sealed_message_push(platform, gh_a)
    genuine = client.post(f"/wechat/events/{apps['a']}", query_string=query, data=body, content_type="text/xml")
    assert (genuine.status_code, genuine.get_data(as_text=True)) == (200, "success")  # the names are read
    late = platform.authorized_app(two_tenants["b"][0], nick_name="Shop C")
    with platform.app.app_context():
        row = MiniProgram.query.filter_by(authorizer_appid=late).one()
        assert row.user_name.startswith("gh_") and row.user_name != gh_a
        db.session.add(Audit(appid=late, auditid="779", miniprogram_id=row.id))
        db.session.commit()
    body, query = _sealed_message_push(platform, gh_a)
    replayed = client.post(f"/wechat/events/{late}", query_string=query, data=body, content_type="text/xml")
    assert (replayed.status_code, replayed.get_data(as_text=True)) == (400, "rejected")
    with platform.app.app_context():
        assert Audit.query.filter_by(appid=late).one().status == 2  # still in review


def test_a_replayed_push_answered_from_the_spool_is_dropped_when_drained(platform, two_tenants, tmp_path):
    """CALLBACK_ACKNOWLEDGE=spooled answers without the database, so the replay is acknowledged; the drainer
    looks the app up and drops it, and stores the genuine push."""
    from portal.services.pushes import spool_drainer, store_queued
    from tests.callbacks.test_push_spool import _wait_ready

    apps, gh_a = _two_apps_with_audits_in_review(platform, two_tenants)
    platform.app.config.update(CALLBACK_ACKNOWLEDGE="spooled", CALLBACK_SPOOL_DIR=str(tmp_path),
                               CALLBACK_DRAIN_IN_PROCESS=False, CALLBACK_SPOOL_SEGMENT_SECONDS=0.05)
    client = platform.client()
    body, query = _sealed_message_push(platform, gh_a)
    for appid in (apps["b"], apps["a"]):
        answer = client.post(f"/wechat/events/{appid}", query_string=query, data=body, content_type="text/xml")
        assert (answer.status_code, answer.get_data(as_text=True)) == (200, "success")
    assert len(_wait_ready(tmp_path)) == 1  # the segment is closed, ready for a drainer
    with platform.app.app_context():
        assert spool_drainer.drain_all(platform.app, store_queued) == 2  # both settled: one stored, one dropped
    assert _audit_outcomes(platform, apps) == {"a": (0, 1), "b": (2, 0)}


def test_an_apps_history_stays_with_its_tenant_when_staff_move_it(code_env, make_tenant, make_user, login_as):
    """Tenant A's merchant makes history (upload, a rejected audit, jobs); staff move the app to B: B's
    merchant sees none of A's timeline, job runs (not even by their URL) or audits, A's merchant no longer
    sees the app, and staff see everything."""
    from portal.extensions import db
    from portal.models import JobRun
    from tests.conftest import post_form
    from tests.releases.test_pipeline import submit, upload

    env = code_env
    upload(env)
    env.api.advance(31)
    env.api.call("/sandbox/audits/decide", {"appid": env.appid, "rule": {"outcome": "reject",
                                                                         "reason": "Alpha rejection reason"}})
    submit(env)
    env.api.advance(61)
    env.api.pushes(appid=env.appid)
    with env.app.app_context():
        run_ids = [r.id for r in db.session.query(JobRun).filter_by(miniprogram_id=env.mp_id)]
    assert len(run_ids) == 2
    a_history = ("owner@example.com", "Alpha rejection reason", "已提交审核（审核单")  # A's timeline, audit, job message
    overview, audit_page = env.get("").get_data(as_text=True), env.get("audit").get_data(as_text=True)
    assert "owner@example.com" in overview and "Alpha rejection reason" in audit_page

    tenant_b = make_tenant("Beta Bakery")
    make_user(tenant_id=tenant_b, email="beta@example.com")
    make_user(role="staff", email="staff@example.com")
    staff, beta = env.platform.client(), env.platform.client()
    assert login_as("staff@example.com", test_client=staff).status_code == 302
    assert login_as("beta@example.com", test_client=beta).status_code == 302
    moved = post_form(staff, f"/staff/platform/miniprograms/{env.mp_id}/transfer", {"tenant_id": tenant_b},
                      token_from="/staff/platform/")
    assert moved.status_code == 302

    for page in ("", "audit", "release", "code"):
        response = beta.get(env.url(page))
        assert response.status_code == 200, page
        assert not [m for m in a_history if m in response.get_data(as_text=True)], page
    for run_id in run_ids:
        assert beta.get(env.url(f"jobs/{run_id}")).status_code == 404
    assert env.get("").status_code == 404 and env.get(f"jobs/{run_ids[0]}").status_code == 404
    assert "面馆小程序" not in env.client.get("/dashboard").get_data(as_text=True)
    assert "面馆小程序" in beta.get("/dashboard").get_data(as_text=True)

    staff_overview = staff.get(env.url("")).get_data(as_text=True)
    assert "owner@example.com" in staff_overview and "Alpha rejection reason" in staff_overview
    assert "Alpha rejection reason" in staff.get(env.url("audit")).get_data(as_text=True)
    assert all(staff.get(env.url(f"jobs/{run_id}")).status_code == 200 for run_id in run_ids)
