"""Every GET route of the portal runs at most MAX_STATEMENTS SQL statements, whatever the data and the page.

The fixture is a platform with several tenants, mini-programs in every authorization state (one of them
authorized through the WeChat sandbox, so the pages that ask WeChat get real answers), audits, job runs,
commits, activity, testers, pushes, unclaimed authorizers, library templates, fleet releases, registrations,
WeChat call records, API keys, forwarding rules and deliveries, official accounts and authorizer syncs with
their findings, with more rows than one page of every list (PAGE_SIZE is small here). Each route is
requested as staff and as a merchant where either may see it (the token service API with a Bearer key), and
a paginated list also on its page 2 and its last page (reached by its own "Next" links). Statements are
counted with a `before_cursor_execute` listener on the engine, only those of the request's thread; the
count is a count, not a time.

A route this test cannot request is listed in UNREACHED with the reason, so a new route fails here until
it is covered.
"""

import datetime as dt
import re
import threading

import pytest
import sqlalchemy as sa

from tests import routes
from tests.conftest import drain_jobs, post_form

MAX_STATEMENTS = 10
PAGE_SIZE = 5
MANY = 120  # rows of the lists that page by a fixed 100 (fleet targets, WeChat calls)

# Endpoints with no GET this test makes, and why.
UNREACHED = {
    "static": "a file served from disk, no SQL",
}
# GET routes whose URL carries an object id: {endpoint: {url arg: fixture key}} (a value that is not a key of
# the fixture's ids is used as it is, like the kind of a registration).
OBJECT_ARGS = {
    "releases.overview": {"mp_id": "mp"}, "releases.audit": {"mp_id": "mp"}, "releases.code": {"mp_id": "mp"},
    "releases.domains_page": {"mp_id": "mp"}, "releases.job_status": {"mp_id": "mp", "run_id": "run"},
    "releases.params_page": {"mp_id": "mp"}, "releases.privacy_page": {"mp_id": "mp"},
    "releases.qrcode": {"mp_id": "mp"}, "releases.release": {"mp_id": "mp"}, "releases.testers_page": {"mp_id": "mp"},
    "registrations.show": {"row_id": "registration"}, "registrations.new": {"kind": "personal"},
    "releases_staff.tenant_settings": {"tenant_id": "tenant"}, "fleet.show": {"release_id": "fleet"},
    "fleet.report": {"release_id": "fleet"}, "fleet.status": {"release_id": "fleet"},
    "library.edit": {"template_id": "template"}, "library.mp_params": {"mp_id": "mp"},
    "platform.transfer": {"mp_id": "mp"}, "platform.assign_unclaimed": {"row_id": "unclaimed"},
    "tenants.detail": {"tenant_id": "tenant"}, "tenants.edit": {"tenant_id": "tenant"},
    "tenants.create_user": {"tenant_id": "tenant"}, "accounts.accept_invitation": {"token": "invitation"},
    "authorization.callback": {"state": "preauth_state"},
    "releases.setup_page": {"mp_id": "mp"}, "releases.setup_categories": {"mp_id": "mp"},
    "releases.setup_interfaces": {"mp_id": "mp"}, "dashboard.official_account": {"oa_id": "oa"},
    "platform.transfer_official_account": {"oa_id": "oa"}, "platform.sync_status": {"sync_id": "sync"},
    "api.authorizer_access_token": {"appid": "appid"},
}
NEXT_RE = re.compile(r'<a href="([^"]*[?&]page=\d+[^"]*)">[^<]*›</a>')


def _now():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _insert(conn, model, rows):
    if rows:
        conn.execute(getattr(model, "__table__", model).insert(), rows)


def _seed(app, tenant_ids, mp_id, staff_ids, user_ids):
    """Bulk rows around the sandbox-authorized mini-program `mp_id` of tenant_ids[0], made by many different
    users (`user_ids`, merchants of that tenant, and `staff_ids`) so a page that loads each row's user one by
    one shows it; returns the ids."""
    from portal.extensions import db
    from portal.models import (
        Activity,
        Audit,
        CallbackEvent,
        CodeCommit,
        FastRegistration,
        FleetRelease,
        FleetTarget,
        JobRun,
        LibraryTemplate,
        MiniProgram,
        Tester,
        UnclaimedAuthorizer,
        WeChatCall,
    )
    from portal.models.miniprogram import AUTH_STATES

    now = _now()

    def actor(k):
        return user_ids[k % len(user_ids)]

    with app.app_context():
        appid = db.session.get(MiniProgram, mp_id).authorizer_appid
        with db.engine.begin() as conn:
            first = conn.execute(sa.select(sa.func.max(MiniProgram.id))).scalar() + 1
            others = [{"id": first + i, "authorizer_appid": f"wxcount{i:010d}", "nick_name": f"Counted app {i}",
                       "user_name": f"gh_count{i:06d}", "principal_name": f"Company {i}",
                       "tenant_id": (tenant_ids + [None])[i % (len(tenant_ids) + 1)],
                       "auth_state": AUTH_STATES[i % len(AUTH_STATES)], "is_show": False, "func_info": "[]",
                       "create_time": now - dt.timedelta(hours=i), "authorized_at": now - dt.timedelta(hours=i),
                       "created_at": now, "updated_at": now, "domain_changes": 0} for i in range(MANY)]
            _insert(conn, MiniProgram, others)
            apps = [(mp_id, appid, tenant_ids[0])] + [(r["id"], r["authorizer_appid"], r["tenant_id"]) for r in others]
            audits = []
            for n, (row_id, row_appid, tenant_id) in enumerate(apps):
                for k in range(3 * PAGE_SIZE + 2 if row_id == mp_id else 2):
                    submitted = now - dt.timedelta(days=30 - k, minutes=n)
                    status = (0, 1, 3, 4, 0)[k % 5]
                    audits.append({"appid": row_appid, "auditid": f"8{n:05d}{k:04d}", "status": status,
                                   "reason": "Needs work" if status == 1 else None, "create_time": submitted,
                                   "template_id": 1, "user_version": f"1.{k}.0", "user_desc": f"version {k}",
                                   "is_release": status == 0, "release_time": submitted if status == 0 else None,
                                   "auditresult_time": submitted, "update_time": submitted,
                                   "miniprogram_id": row_id, "tenant_id": tenant_id, "submitted_by": actor(k)})
            _insert(conn, Audit, audits)
            states = ("done", "failed", "done", "retrying", "done")
            _insert(conn, JobRun, [
                {"kind": ("commit", "submit_audit", "release")[k % 3], "key": f"job:{mp_id}:{k}",
                 "miniprogram_id": mp_id, "tenant_id": tenant_ids[0], "actor_id": actor(k), "on_behalf": False,
                 "state": states[k % 5], "attempts": 1, "message": f"Job message {k}", "created_at": now,
                 "active_key": f"job:{mp_id}:{k}" if states[k % 5] == "retrying" else None}
                for k in range(3 * PAGE_SIZE)])
            _insert(conn, CodeCommit, [
                {"miniprogram_id": mp_id, "tenant_id": tenant_ids[0], "template_id": 1, "user_version": f"1.{k}.0",
                 "user_desc": f"upload {k}", "created_at": now - dt.timedelta(hours=k), "created_by": actor(k)}
                for k in range(3 * PAGE_SIZE)])
            _insert(conn, Activity, [
                {"created_at": now - dt.timedelta(minutes=k), "actor_id": (staff_ids[k % len(staff_ids)], actor(k), None)[k % 3],
                 "on_behalf": k % 3 == 0, "tenant_id": tenant_ids[0], "miniprogram_id": mp_id,
                 "action": "code.commit", "outcome": "ok", "detail": f"entry {k}"} for k in range(4 * PAGE_SIZE)])
            _insert(conn, Tester, [{"miniprogram_id": mp_id, "wechatid": f"tester{k}", "userstr": f"userstr{k}",
                                    "created_at": now, "created_by": actor(k)} for k in range(PAGE_SIZE + 2)])
            _insert(conn, CallbackEvent, [
                {"received_at": now - dt.timedelta(seconds=k), "source": "message" if k % 2 else "auth",
                 "kind": "weapp_audit_success" if k % 2 else "component_verify_ticket",
                 "appid": apps[k % len(apps)][1] if k % 2 else None, "create_time": int(now.timestamp()) - k,
                 "dedup_key": f"count:{k}", "outcome": ("applied", "ignored", "failed")[k % 3], "duplicates": 0}
                for k in range(MANY * 2)])
            _insert(conn, UnclaimedAuthorizer, [
                {"authorizer_appid": f"wxunclaimed{k:08d}", "authorized_at": now, "nick_name": f"Unclaimed {k}",
                 "principal_name": f"Unclaimed company {k}", "is_miniprogram": True, "first_seen_at": now,
                 "last_seen_at": now} for k in range(3 * PAGE_SIZE)])
            _insert(conn, LibraryTemplate, [
                {"template_id": 1 + k, "user_version": f"1.{k}.0", "user_desc": f"template {k}", "template_type": 0,
                 "wechat_created_at": now, "is_deleted": False, "created_at": now, "updated_at": now}
                for k in range(3 * PAGE_SIZE)])
            _insert(conn, WeChatCall, [
                {"created_at": now - dt.timedelta(seconds=k), "api": "wxa/get_latest_auditstatus",
                 "appid": apps[k % len(apps)][1], "errcode": (0, 0, 85009)[k % 3], "http_status": 200,
                 "latency_ms": 12, "attempt": 1} for k in range(MANY * 2)])
            _insert(conn, FastRegistration, [
                {"ref": f"ref{k:029d}", "kind": ("personal", "enterprise")[k % 2], "name": f"Registrant {k}",
                 "state": ("submitted", "waiting", "failed", "done")[k % 4],
                 "tenant_id": tenant_ids[k % len(tenant_ids)],
                 "created_by": actor(k), "created_at": now, "updated_at": now} for k in range(3 * PAGE_SIZE)])
            fleet_ids = []
            for k, state in enumerate(("finished", "running") + ("finished", "cancelled") * PAGE_SIZE):
                fleet_ids.append(conn.execute(FleetRelease.__table__.insert().values(
                    template_id=1, user_version=f"2.{k}.0", user_desc="fleet", state=state, targeting="{}",
                    options="{}", canary_passed=True, created_by=staff_ids[k % len(staff_ids)],
                    created_at=now)).inserted_primary_key[0])
            target_states = ("released", "rejected", "failed", "in_audit", "queued", "skipped")
            _insert(conn, FleetTarget, [
                {"release_id": release_id, "miniprogram_id": row_id, "tenant_id": tenant_id, "appid": row_appid,
                 "state": target_states[n % len(target_states)], "is_canary": n == 0, "attempts": 1, "retries": 0,
                 "reason": "Rejected: needs work" if n % 6 == 1 else None}
                for release_id in fleet_ids[:2] for n, (row_id, row_appid, tenant_id) in enumerate(apps)])
        db.session.commit()  # a new snapshot: on MariaDB the session's read view predates the rows above
        registration = db.session.scalar(sa.select(FastRegistration.id).order_by(FastRegistration.id))
        run = db.session.scalar(sa.select(JobRun.id).where(JobRun.miniprogram_id == mp_id).order_by(JobRun.id))
        template = db.session.scalar(sa.select(LibraryTemplate.template_id).order_by(LibraryTemplate.id))  # the URL takes WeChat's id
        unclaimed = db.session.scalar(sa.select(UnclaimedAuthorizer.id).order_by(UnclaimedAuthorizer.id))
    return {"fleet": fleet_ids[0], "registration": registration, "run": run, "template": template,
            "unclaimed": unclaimed}


def _seed_integrations(app, tenant_ids, mp_id, staff_ids, user_ids):
    """Bulk rows of the token service API, push forwarding, official accounts and the authorizer sync, spread
    over every tenant in `tenant_ids` and made by many users, so a page that loads each row's tenant, rule,
    push or user one by one shows it; returns the ids."""
    from portal.extensions import db
    from portal.models import (
        ApiKey,
        AuthorizerSync,
        AuthorizerSyncFinding,
        CallbackEvent,
        ForwardDelivery,
        ForwardRule,
        MiniProgram,
        OfficialAccount,
    )
    from portal.models.api_key import api_key_tenants
    from portal.models.authorizer_sync import FOUND_LOST, FOUND_PERMISSIONS, FOUND_UNKNOWN, SYNC_DONE
    from portal.models.forwarding import DELIVERY_STATES
    from portal.models.miniprogram import AUTH_STATES

    now = _now()
    with app.app_context():
        for k in range(2 * PAGE_SIZE):  # through the ORM: a rule's secret is sealed to its ref
            rule = ForwardRule(name=f"Rule {k}", url=f"https://hooks{k}.example.com/wechat", kinds="*",
                               tenant_id=(tenant_ids + [None])[k % (len(tenant_ids) + 1)], enabled=k % 4 != 3)
            rule.secret = f"counted-secret-{k:04d}-0123456789abcdef"
            db.session.add(rule)
        db.session.commit()
        rule_ids = db.session.scalars(sa.select(ForwardRule.id).order_by(ForwardRule.id)).all()
        events = db.session.execute(sa.select(CallbackEvent.id, CallbackEvent.appid)
                                    .order_by(CallbackEvent.id)).all()
        mp_ids = db.session.scalars(sa.select(MiniProgram.id).order_by(MiniProgram.id).limit(MANY)).all()
        with db.engine.begin() as conn:
            _insert(conn, ForwardDelivery, [
                {"rule_id": rule_ids[n % len(rule_ids)], "event_id": event_id, "appid": appid,
                 "status": DELIVERY_STATES[n % 3], "attempts": 1 + n % 4, "next_attempt_at": now,
                 "give_up_at": now + dt.timedelta(days=1), "last_attempt_at": now,
                 "last_status": (200, 500, None)[n % 3], "last_error": None if n % 3 == 0 else f"HTTP 500 ({n})",
                 "delivered_at": now if n % 3 == 1 else None, "created_at": now}
                for n, (event_id, appid) in enumerate(events)])
            first = (conn.execute(sa.select(sa.func.max(OfficialAccount.id))).scalar() or 0) + 1
            _insert(conn, OfficialAccount, [
                {"id": first + i, "uid": user_ids[i % len(user_ids)], "type": 1, "appid": f"wxoacount{i:09d}",
                 "nick_name": f"Counted account {i}", "user_name": f"gh_oacount{i:05d}",
                 "principal_name": f"Company {i}", "service_type_info": (0, 1, 2)[i % 3],
                 "verify_type_info": (-1, 0, 1, 3)[i % 4], "func_info": "[]",
                 "authorizer_expires": int(now.timestamp()) + 600 * (i % 5) - 600,
                 "tenant_id": (tenant_ids + [None])[i % (len(tenant_ids) + 1)],
                 "auth_state": AUTH_STATES[i % len(AUTH_STATES)], "create_time": now - dt.timedelta(hours=i),
                 "authorized_at": now - dt.timedelta(hours=i), "created_at": now, "updated_at": now}
                for i in range(MANY)])
            sync_ids = [conn.execute(AuthorizerSync.__table__.insert().values(
                origin=("scheduled", "staff")[k % 2], actor_id=staff_ids[k % len(staff_ids)], state=SYNC_DONE,
                progress_done=MANY, progress_total=MANY, listed=MANY, tokens_saved=k, unknown_count=MANY,
                lost_count=MANY, changed_count=MANY, unchecked_count=0, created_at=now, started_at=now,
                finished_at=now)).inserted_primary_key[0] for k in range(3)]
            _insert(conn, AuthorizerSyncFinding, [
                {"sync_id": sync_id, "kind": kind, "authorizer_appid": f"wxfound{n:010d}",
                 "miniprogram_id": None if kind == FOUND_UNKNOWN else mp_ids[n % len(mp_ids)],
                 "name": f"Found {n}", "added": "[1, 17]" if kind == FOUND_PERMISSIONS else None,
                 "removed": "[18]" if kind == FOUND_PERMISSIONS else None, "created_at": now}
                for sync_id in sync_ids for kind in (FOUND_UNKNOWN, FOUND_LOST, FOUND_PERMISSIONS)
                for n in range(MANY)])
            key_ids = [conn.execute(ApiKey.__table__.insert().values(
                name=f"counted-key-{k}", key_hash=f"{k:064x}", key_prefix=f"wxp_k{k:05d}", all_tenants=k % 3 == 0,
                created_by_id=staff_ids[k % len(staff_ids)], created_at=now - dt.timedelta(days=k),
                revoked_at=now if k % 5 == 4 else None, last_used_at=now if k % 2 else None,
                use_count=k * 100)).inserted_primary_key[0] for k in range(3 * PAGE_SIZE)]
            _insert(conn, api_key_tenants, [{"api_key_id": key_id, "tenant_id": tenant_ids[(k + j) % len(tenant_ids)]}
                                            for k, key_id in enumerate(key_ids) if k % 3
                                            for j in range(1 + k % 4)])
    return {"sync": sync_ids[-1]}


@pytest.fixture
def counted(code_env, make_tenant, make_user, login_as):
    """The realistic platform: {"staff": client, "merchant": client, "ids": {fixture key: value}, "app": app}.
    The merchant's sandbox mini-program has code uploaded and submitted through its pages, then bulk rows
    are added around it."""
    from portal.extensions import db
    from portal.models import OfficialAccount, Tenant, User
    from portal.services import accounts, token_api
    from tests.releases.test_pipeline import submit, upload

    env, app = code_env, code_env.app
    upload(env)
    env.api.advance(31)
    submit(env)
    app.config["PAGE_SIZE"] = PAGE_SIZE
    tenant_ids = [env.tenant_id] + [make_tenant(f"Counted tenant {k}") for k in range(3 * PAGE_SIZE)]
    colleagues = [make_user(tenant_id=env.tenant_id, email=f"colleague{k}@example.com") for k in range(3 * PAGE_SIZE)]
    make_user(tenant_id=tenant_ids[1], email="other@example.com")
    staff_id = make_user(role="staff", email="staff@example.com")
    staff_ids = [staff_id] + [make_user(role="staff", email=f"staff{k}@example.com") for k in range(PAGE_SIZE)]
    with app.app_context():
        merchant_id = User.query.filter_by(email="owner@example.com").one().id
        _user, invitation = accounts.create_merchant_user(db.session.get(Tenant, tenant_ids[1]),
                                                          "invited@example.com", db.session.get(User, staff_id))
    # an official account of the merchant authorized through the sandbox, so its page shows a real token
    oa_appid = env.api.create_miniprogram(account_type="official_account", nick_name="面馆服务号", service_type=2,
                                          verify_type=0)
    env.api.authorize(oa_appid)
    drain_jobs(app)
    with app.app_context():
        oa = OfficialAccount.query.filter_by(appid=oa_appid).one()
        oa.tenant_id, oa_id = env.tenant_id, oa.id
        db.session.commit()
        _key, api_key = token_api.create_key("counted-all-tenants", db.session.get(User, staff_id), all_tenants=True)
    ids = _seed(app, tenant_ids[:3], env.mp_id, staff_ids, [merchant_id] + colleagues)
    ids.update(_seed_integrations(app, tenant_ids, env.mp_id, staff_ids, [merchant_id] + colleagues))
    ids.update(mp=env.mp_id, tenant=env.tenant_id, invitation=invitation, oa=oa_id, appid=env.appid)
    staff = env.platform.client()
    assert login_as("staff@example.com", test_client=staff).status_code == 302
    # a pre-auth code of the merchant, so the callback page finds its session
    start = post_form(env.client, "/authorization/start", {"target": "pc"}, token_from="/authorization/")
    assert start.status_code == 303, start.status_code
    ids["preauth_state"] = _preauth_state(start.location)
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_key}"
    return {"staff": staff, "merchant": env.client, "api": api, "ids": ids, "app": app}


def _preauth_state(wechat_url):
    """The state the portal put in WeChat's redirect_uri (its callback path's last segment)."""
    from urllib.parse import parse_qs, unquote, urlsplit

    redirect_uri = unquote(parse_qs(urlsplit(wechat_url).query)["redirect_uri"][0])
    return urlsplit(redirect_uri).path.rstrip("/").rsplit("/", 1)[1]


def _who_may(endpoint):
    """Which of the two users requests the route: staff pages as staff, merchant pages as the merchant (and
    the pages of a mini-program as staff too), pages anyone logged in sees as both, the token service API
    with its key ("api"), public pages anonymously (None)."""
    blueprint = endpoint.split(".")[0]
    if endpoint in routes.API:
        return ("api",)  # with an API key for all tenants
    if blueprint in routes.STAFF_BLUEPRINTS:
        return ("staff",)
    if endpoint in {e for e, _, _ in routes.MERCHANT_OBJECT_ROUTES}:
        return ("merchant", "staff")  # staff open any tenant's mini-program pages
    if endpoint in routes.MERCHANT:
        return ("merchant",)
    if endpoint in routes.LOGGED_IN:
        return ("staff", "merchant")
    if endpoint == "dashboard.home":
        return (None, "staff", "merchant")
    return (None,)


class StatementCounter:
    """Statements the engine runs for requests made in this thread."""

    def __init__(self, engine):
        self.engine, self.thread, self.statements = engine, threading.get_ident(), []

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() == self.thread:
            self.statements.append(" ".join(statement.split()))

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._before)


def _measure(app, client, url):
    from portal.extensions import db

    with app.app_context():
        engine = db.engine
    with StatementCounter(engine) as counter:
        response = client.get(url)
    return response, counter.statements


def _urls(endpoint, rule, ids, app):
    from flask import url_for

    args = {name: ids.get(key, key) for name, key in OBJECT_ARGS.get(endpoint, {}).items()}
    missing = set(rule.arguments) - set(args)
    assert not missing, f"{endpoint}: add its URL arguments {sorted(missing)} to OBJECT_ARGS (or to UNREACHED)"
    with app.test_request_context():
        return url_for(endpoint, **args)


def _pages(client, app, url):
    """The route's first page, and when it pages, its page 2 and its last page (by its own Next links)."""
    response, statements = _measure(app, client, url)
    yield url, response, statements
    html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    seen = 1
    while (match := NEXT_RE.search(html)) and seen < 100:
        next_url = match.group(1).replace("&amp;", "&")
        response, statements = _measure(app, client, next_url)
        html, seen = response.get_data(as_text=True), seen + 1
        if seen == 2 or not NEXT_RE.search(html):
            yield next_url, response, statements


def _count_routes(counted, wanted=lambda rule: True, statuses=(200, 301, 302, 303, 308)):
    """Requests every GET route `wanted` selects: (what ran above the bound, one line per request, the
    endpoints requested past their first page)."""
    app, ids = counted["app"], counted["ids"]
    clients = {None: app.test_client(), "staff": counted["staff"], "merchant": counted["merchant"],
               "api": counted["api"]}
    over, report, paged = [], [], set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in UNREACHED or not wanted(rule):
            continue
        url = _urls(rule.endpoint, rule, ids, app)
        for who in _who_may(rule.endpoint):
            for page_url, response, statements in _pages(clients[who], app, url):
                assert response.status_code in statuses, (who, page_url, response.status_code)
                report.append(f"{len(statements):3d}  {who or 'anonymous':9s} {page_url}")
                if page_url != url:
                    paged.add(rule.endpoint)
                if len(statements) > MAX_STATEMENTS:
                    over.append(f"{rule.endpoint} GET {page_url} as {who or 'anonymous'}: {len(statements)} "
                                "statements\n" + "\n".join(f"    {n + 1}. {s[:300]}" for n, s in enumerate(statements)))
    print("\n".join(report))
    return over, report, paged


def _explain(over):
    return f"{len(over)} page(s) run more than {MAX_STATEMENTS} SQL statements:\n\n" + "\n\n".join(over)


def test_every_get_route_runs_at_most_ten_statements(counted):
    over, report, paged = _count_routes(counted)
    assert not over, _explain(over)
    assert len(report) >= 60
    # the fixture has more rows than a page of every list, so the paged lists were requested past page 1
    assert {"platform.index", "releases_staff.index", "tenants.index", "fleet.show", "forwarding.deliveries",
            "platform.official_accounts", "platform.tokens"} <= paged, sorted(paged)


@pytest.mark.parametrize("fault", [{"http_status": 503}, {"errcode": -1, "errmsg": "system error"}],
                         ids=["http-503", "errcode--1"])
def test_mini_program_pages_stay_within_the_bound_while_wechat_fails(counted, fault):
    """Every WeChat call fails (a read is tried three times): the pages of a mini-program say so in words
    and still run no more statements."""
    from portal.extensions import db
    from portal.models import WeChatCall
    from tests.conftest import SandboxAPI

    app = counted["app"]
    app.config["WECHAT_BACKOFF_BASE"] = 0.0
    api = SandboxAPI(app.config["WECHAT_API_BASE"], app.config["WECHAT_COMPONENT_APPID"])
    api.faults(endpoint="*", **fault)
    over, report, _paged = _count_routes(counted, lambda rule: rule.rule.startswith("/miniprograms/<"),
                                         statuses=(200, 502, 503))
    assert not over, _explain(over)
    failed = (WeChatCall.http_status == 503) if "http_status" in fault else (WeChatCall.errcode == -1)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(failed)) >= 10  # the pages did call WeChat
    assert len(report) >= 18
