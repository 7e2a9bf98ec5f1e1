"""Pushes arriving together are stored together: over real HTTP from many threads at once, every push is
stored once, WeChat's concurrent retries are counted and not applied twice, audits close once each; the
group committer hands every thread its own result; audit pushes for one app apply in order."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa
from wechatpy.crypto import WeChatCrypto

from portal.services.pushes.group_commit import GroupCommitter

TICKET_XML = ("<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>{ts}</CreateTime>"
              "<InfoType><![CDATA[component_verify_ticket]]></InfoType>"
              "<ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>")
AUDIT_XML = ("<xml><ToUserName><![CDATA[gh_0000000001]]></ToUserName><CreateTime>{ts}</CreateTime>"
             "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{extra}</xml>")


def _sealed(platform, inner):
    creds = platform.credentials
    crypto = WeChatCrypto(creds["WECHAT_COMPONENT_TOKEN"], creds["WECHAT_COMPONENT_AES_KEY"], platform.component_appid)
    ts, nonce = str(int(time.time())), "n" + os.urandom(4).hex()
    envelope = crypto.encrypt_message(inner, nonce, ts)
    encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    return (f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
            {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "msg_signature": signature})


def _post(platform, path, sealed):
    body, query = sealed
    response = requests.post(platform.url + path, params=query, data=body.encode(), timeout=30,
                             headers={"Content-Type": "text/xml"})
    return response.status_code, response.text


def _scalar(platform, sql):
    from portal.extensions import db

    with platform.app.app_context():
        return db.session.execute(sa.text(sql)).scalar()


def test_concurrent_pushes_and_retries_stored_once_each(platform, make_tenant, tenant_objects):
    tenant_id = make_tenant()
    apps = [tenant_objects(tenant_id)["appid"] for _ in range(12)]
    before = _scalar(platform, "SELECT COUNT(*) FROM callback_events")
    ts = int(time.time())
    pushes = [(f"/wechat/events/{appid}", _sealed(platform, AUDIT_XML.format(
        ts=ts, event="weapp_audit_success", extra=f"<SuccTime>{ts}</SuccTime>"))) for appid in apps]
    tickets = [f"ticket-group-{i}" for i in range(12)]
    pushes += [("/wechat/auth-events", _sealed(platform, TICKET_XML.format(
        appid=platform.component_appid, ts=ts + i, ticket=ticket))) for i, ticket in enumerate(tickets)]
    sends = pushes * 3  # each push twice more, at the same time: WeChat's retries racing the first one
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda p: _post(platform, *p), sends))
    assert answers == [(200, "success")] * len(sends)
    assert _scalar(platform, "SELECT COUNT(*) FROM callback_events") == before + len(pushes)
    assert _scalar(platform, "SELECT SUM(duplicates) FROM callback_events") == 2 * len(pushes)
    assert _scalar(platform, "SELECT COUNT(*) FROM callback_events WHERE outcome = 'applied'") == before + len(pushes)
    assert _scalar(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == len(apps)
    assert _scalar(platform, "SELECT COUNT(*) FROM activity_log WHERE action = 'audit.success'") == len(apps)
    from portal.models import ComponentAccount

    with platform.app.app_context():
        stored = ComponentAccount.query.filter_by(component_appid=platform.component_appid).one()
        assert stored.component_verify_ticket in tickets


def test_audit_pushes_for_one_app_apply_in_order_in_one_transaction(platform, make_tenant, tenant_objects):
    from portal.extensions import db
    from portal.models import Audit
    from portal.services.code.audit import apply_audit_events
    from portal.wechat.callbacks import AuditDelayEvent, AuditFailEvent, AuditSuccessEvent

    first, second = tenant_objects(make_tenant()), tenant_objects(make_tenant())
    now = int(time.time())
    with platform.app.app_context():
        older = Audit(appid=first["appid"], auditid="800000001", miniprogram_id=first["miniprogram"],
                      create_time=db.session.get(Audit, first["audit"]).create_time.replace(year=2020))
        db.session.add(older)
        db.session.commit()
        outcomes = apply_audit_events([
            AuditDelayEvent(kind="weapp_audit_delay", appid=first["appid"], create_time=now, reason="busy"),
            AuditSuccessEvent(kind="weapp_audit_success", appid=first["appid"], create_time=now + 1, succ_time=now),
            AuditFailEvent(kind="weapp_audit_fail", appid=first["appid"], create_time=now + 2, reason="bad",
                           fail_time=now, screenshots=("m1", "m2")),
            AuditFailEvent(kind="weapp_audit_fail", appid=first["appid"], create_time=now + 3, reason="late"),
            AuditSuccessEvent(kind="weapp_audit_success", appid=second["appid"], create_time=now, succ_time=now)])
        db.session.commit()
        newest, oldest = db.session.get(Audit, first["audit"]), db.session.get(Audit, older.id)
        assert (newest.status, newest.reason, newest.auditresult_time is not None) == (0, None, True)
        assert (oldest.status, oldest.reason, oldest.screenshot) == (1, "bad", "m1|m2")
        assert db.session.get(Audit, second["audit"]).status == 0
    assert [o[0] for o in outcomes] == ["applied", "applied", "applied", "ignored", "applied"]
    assert outcomes[1][1] == f"audit {newest.auditid} -> 0" and outcomes[2][1] == "audit 800000001 -> 1"
    assert _scalar(platform, "SELECT COUNT(*) FROM activity_log WHERE action LIKE 'audit.%'") == 4


def test_group_committer_gives_each_thread_its_own_result_and_writes_together():
    """Six threads: the first writes alone (slowly), the five that queued meanwhile go in the second group."""
    batches, release = [], threading.Event()

    def write_all(items):
        batches.append(list(items))
        if len(batches) == 1:
            release.wait(5)  # the first write is slow: the others queue up behind it
        return [ValueError(i) if i == 3 else i * 10 for i in items]

    idle = []
    committer = GroupCommitter(write_all, on_idle=lambda: idle.append(len(batches)))
    results = {}

    def submit(i):
        try:
            results[i] = committer.submit(i)
        except ValueError as exc:
            results[i] = f"error {exc}"

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    threads[0].start()
    while not batches:
        time.sleep(0.001)
    for thread in threads[1:]:
        thread.start()
    while len(committer._queue) < 5:
        time.sleep(0.001)
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == {0: 0, 1: 10, 2: 20, 3: "error 3", 4: 40, 5: 50}
    assert batches[0] == [0] and sorted(batches[1]) == [1, 2, 3, 4, 5] and len(batches) == 2
    assert idle == [2]  # the shared connection goes back once nothing waits, not between the two groups


def test_push_stored_after_the_writers_connection_was_killed(platform):
    from portal.extensions import db

    with platform.app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("killing a connection from another one needs a database server")
    ts, before = int(time.time()), _scalar(platform, "SELECT COUNT(*) FROM callback_events")
    first = _sealed(platform, TICKET_XML.format(appid=platform.component_appid, ts=ts, ticket="before-kill"))
    assert _post(platform, "/wechat/auth-events", first) == (200, "success")
    with platform.app.app_context(), db.engine.connect() as conn:  # what a database restart does to them
        others = conn.execute(sa.text("SELECT id FROM information_schema.processlist "
                                      "WHERE db = DATABASE() AND id <> CONNECTION_ID()")).scalars().all()
        for thread_id in others:
            conn.execute(sa.text(f"KILL {int(thread_id)}"))
    second = _sealed(platform, TICKET_XML.format(appid=platform.component_appid, ts=ts + 1, ticket="after-kill"))
    assert _post(platform, "/wechat/auth-events", second) == (200, "success")
    assert _scalar(platform, "SELECT COUNT(*) FROM callback_events") == before + 2
    from portal.models import ComponentAccount

    with platform.app.app_context():
        assert ComponentAccount.query.filter_by(component_appid=platform.component_appid).one() \
            .component_verify_ticket == "after-kill"


def test_two_writers_with_a_result_each_for_one_app_close_two_audits(platform, make_tenant, tenant_objects):
    from portal.extensions import db
    from portal.models import Audit
    from portal.services.code.audit import apply_audit_events
    from portal.wechat.callbacks import AuditSuccessEvent

    with platform.app.app_context():
        if db.engine.dialect.name != "mysql":
            pytest.skip("row locks need a database server")
    objects = tenant_objects(make_tenant())
    with platform.app.app_context():
        older = Audit(appid=objects["appid"], auditid="800000002", miniprogram_id=objects["miniprogram"],
                      create_time=db.session.get(Audit, objects["audit"]).create_time.replace(year=2020))
        db.session.add(older)
        db.session.commit()
        older_id = older.id
    now, first_applied, outcomes = int(time.time()), threading.Event(), {}

    def writer(name, hold):
        with platform.app.app_context(), db.engine.connect() as conn:
            event = AuditSuccessEvent(kind="weapp_audit_success", appid=objects["appid"], create_time=now,
                                      succ_time=now)
            outcomes[name] = apply_audit_events([event], conn)
            if hold:
                first_applied.set()
                time.sleep(0.5)  # the other writer is waiting for this one's locks meanwhile
            conn.commit()

    first = threading.Thread(target=writer, args=("first", True))
    first.start()
    assert first_applied.wait(10)
    second = threading.Thread(target=writer, args=("second", False))
    second.start()
    first.join(10)
    second.join(10)
    assert outcomes["first"][0][1] != outcomes["second"][0][1]
    with platform.app.app_context():
        assert db.session.get(Audit, objects["audit"]).status == 0 and db.session.get(Audit, older_id).status == 0
