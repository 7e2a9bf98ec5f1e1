"""Bulk data for the benchmarks, written straight into a migrated database with batched INSERTs
(SQLAlchemy Core executemany): tenants, merchant and staff users, mini-programs, their audits and the
pushes WeChat sent.

Shapes: `tenants` tenants sharing `apps` mini-programs round-robin (tenant 1 is the measured merchant),
`audits_per_app` audits per mini-program, oldest first, the newest one either open (in review) or
approved and released; `pushes` stored pushes, newest last, spread over the apps and over the kinds in
PUSH_KINDS (mostly user messages, some audit results, a ticket now and then).
"""

from __future__ import annotations

import datetime as dt
import json

from werkzeug.security import generate_password_hash

PASSWORD = "bench-password-123"
FUNC_INFO = json.dumps([{"funcscope_category": {"id": i}} for i in (17, 18, 19)])
BATCH = 5000
# (kind, source, share in percent) of the stored pushes
PUSH_KINDS = (("user_enter_tempsession", "message", 80), ("weapp_audit_success", "message", 10),
              ("weapp_audit_fail", "message", 5), ("component_verify_ticket", "auth", 4),
              ("unauthorized", "auth", 1))


def _now():
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _insert(conn, table, rows):
    for start in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[start:start + BATCH])


def appid_for(index: int) -> str:
    return f"wxbench{index:010d}"


def _push_kinds():
    kinds = []
    for kind, source, share in PUSH_KINDS:
        kinds += [(kind, source)] * share
    return kinds


def seed_pushes(conn, table, count: int, apps: int, now) -> None:
    """`count` stored pushes, one a second up to now, in batches (the rows are made batch by batch, so a
    million of them never sit in memory at once)."""
    kinds, first = _push_kinds(), int(now.timestamp()) - count
    for start in range(0, count, BATCH):
        rows = []
        for n in range(start, min(count, start + BATCH)):
            kind, source = kinds[(n * 37) % len(kinds)]
            created = first + n
            rows.append({"received_at": dt.datetime.fromtimestamp(created, dt.UTC).replace(tzinfo=None),
                         "source": source, "kind": kind,
                         "appid": appid_for(n % apps + 1) if source == "message" else None,
                         "create_time": created, "dedup_key": f"bench:{n}", "outcome": "applied", "duplicates": 0})
        conn.execute(table.insert(), rows)


def seed(app, *, tenants: int, apps: int, audits_per_app: int, open_audits: bool = False, pushes: int = 0,
         empty_tenants: int = 0) -> dict:
    """Fill the database of `app`; returns {"staff": email, "merchant": email, "tenant_id", "mp_id"}.

    With `open_audits` every audit is in review (status 2), as audit-result pushes expect; otherwise the
    history is approved versions, the newest released. `empty_tenants` more tenants have no mini-program.
    """
    from portal.extensions import db
    from portal.models import Audit, CallbackEvent, MiniProgram, Tenant, User

    now = _now()
    with app.app_context():
        with db.engine.begin() as conn:
            _insert(conn, Tenant.__table__, [
                {"id": t, "name": f"Bench tenant {t:06d}", "status": "active", "created_at": now, "updated_at": now}
                for t in range(1, tenants + empty_tenants + 1)])
            password = generate_password_hash(PASSWORD, method="scrypt")
            _insert(conn, User.__table__, [
                {"id": 1, "email": "staff@bench.example.com", "role": "staff", "tenant_id": None,
                 "password_hash": password, "language": "en", "is_enabled": True, "created_at": now,
                 "updated_at": now},
                {"id": 2, "email": "merchant@bench.example.com", "role": "merchant", "tenant_id": 1,
                 "password_hash": password, "language": "en", "is_enabled": True, "created_at": now,
                 "updated_at": now}])
            mps = []
            for i in range(1, apps + 1):
                created = now - dt.timedelta(minutes=apps - i)
                mps.append({"id": i, "authorizer_appid": appid_for(i), "nick_name": f"Bench app {i}",
                            "user_name": f"gh_{i:012d}", "principal_name": f"Bench company {i}",
                            "tenant_id": (i - 1) % tenants + 1, "auth_state": "authorized", "is_show": False,
                            "func_info": FUNC_INFO, "authorizer_expires": int(now.timestamp()) + 7200,
                            "create_time": created, "authorized_at": created, "created_at": created,
                            "updated_at": created})
            _insert(conn, MiniProgram.__table__, mps)
            audits, audit_id = [], 0
            for i in range(1, apps + 1):
                for k in range(audits_per_app):
                    audit_id += 1
                    newest = k == audits_per_app - 1
                    submitted = now - dt.timedelta(days=audits_per_app - k, minutes=i % 1440)
                    status = 2 if open_audits else 0
                    audits.append({"id": audit_id, "appid": appid_for(i), "auditid": str(400000000 + audit_id),
                                   "status": status, "create_time": submitted, "template_id": k + 1,
                                   "user_version": f"1.{k}.0", "user_desc": f"release {k}",
                                   "is_release": bool(newest and not open_audits),
                                   "release_time": submitted + dt.timedelta(hours=2) if newest and not open_audits
                                   else None,
                                   "auditresult_time": None if open_audits else submitted + dt.timedelta(hours=1),
                                   "update_time": submitted, "miniprogram_id": i})
                if len(audits) >= 50_000:
                    _insert(conn, Audit.__table__, audits)
                    audits = []
            _insert(conn, Audit.__table__, audits)
            seed_pushes(conn, CallbackEvent.__table__, pushes, apps, now)
    mp_of_tenant_1 = 1
    return {"staff": "staff@bench.example.com", "merchant": "merchant@bench.example.com", "tenant_id": 1,
            "mp_id": mp_of_tenant_1}
