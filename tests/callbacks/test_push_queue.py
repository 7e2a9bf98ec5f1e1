"""CALLBACK_ACKNOWLEDGE=queued: a checked push is acknowledged once it is in the Redis stream and stored by a
drainer; bad pushes are still refused at once; nothing is lost when the portal is killed (SIGKILL) with
pushes queued and a drainer dead mid-batch; without a persistent Redis pushes are stored before success."""

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.callbacks.test_group_commit import AUDIT_XML, TICKET_XML, _sealed

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the push stream needs Redis")
ROOT = Path(__file__).resolve().parents[2]
STREAM = "callbacks:pushes"


def _count(platform, sql):
    from portal.extensions import db

    with platform.app.app_context():
        return db.session.execute(sa.text(sql)).scalar()


def _audit_push(platform, appid, ts):
    return f"/wechat/events/{appid}", _sealed(platform, AUDIT_XML.format(
        ts=ts, event="weapp_audit_success", extra=f"<SuccTime>{ts}</SuccTime>"))


def _ticket_push(platform, ts, ticket):
    return "/wechat/auth-events", _sealed(platform, TICKET_XML.format(appid=platform.component_appid, ts=ts,
                                                                       ticket=ticket))


def _queued(platform, **extra):
    platform.app.config.update(dict({"CALLBACK_ACKNOWLEDGE": "queued", "CALLBACK_QUEUE_REQUIRE_AOF": False,
                                     "CALLBACK_DRAIN_IN_PROCESS": False}, **extra))
    return platform.app.extensions["redis"]


def _post_in_process(platform, path, sealed):
    body, query = sealed
    response = platform.client().post(path, query_string=query, data=body, content_type="text/xml")
    return response.status_code, response.get_data(as_text=True)


def send_retry_and_forgery(platform, appid, ticket_text):
    """An audit push, a ticket push and the audit push again (WeChat's retry), all answered `success`; a
    forged copy of the ticket refused with 403."""
    ts = int(time.time())
    audit, ticket = _audit_push(platform, appid, ts), _ticket_push(platform, ts, ticket_text)
    for push in (audit, ticket, audit):
        assert _post_in_process(platform, *push) == (200, "success")
    forged = (ticket[1][0], dict(ticket[1][1], msg_signature="0" * 40))
    assert _post_in_process(platform, ticket[0], forged)[0] == 403


def staff_client(platform, make_user, login_as):
    make_user(role="staff", email="staff@example.com")
    staff = platform.client()
    login_as("staff@example.com", test_client=staff)
    return staff


def drain_and_check_stored_once(platform, before):
    """`flask drain-pushes` stores what `send_retry_and_forgery` sent: two rows, the retry counted once, the
    audit closed, the ticket kept."""
    result = platform.app.test_cli_runner().invoke(args=["drain-pushes"])
    assert result.exit_code == 0 and '"stored": 3' in result.output
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + 2
    assert _count(platform, "SELECT SUM(duplicates) FROM callback_events") == 1
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 1
    assert _count(platform, "SELECT COUNT(*) FROM weixin_account WHERE component_verify_ticket IS NOT NULL") == 1


def test_queued_push_is_acknowledged_then_stored_once_by_the_drainer(platform, make_tenant, tenant_objects,
                                                                    make_user, login_as):
    redis = _queued(platform)
    appid = tenant_objects(make_tenant())["appid"]
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    send_retry_and_forgery(platform, appid, "ticket-queued")
    assert redis.xlen(STREAM) == 3 and _count(platform, "SELECT COUNT(*) FROM callback_events") == before
    staff = staff_client(platform, make_user, login_as)
    assert "3 条推送已应答，正在 Redis 推送流中等待入库" in staff.get("/staff/platform/pushes").get_data(as_text=True)
    drain_and_check_stored_once(platform, before)
    assert redis.xlen(STREAM) == 0 and redis.xpending(STREAM, "portal")["pending"] == 0
    assert "Redis 推送流为空" in staff.get("/staff/platform/pushes").get_data(as_text=True)


def test_without_a_persistent_redis_pushes_are_stored_before_success(platform):
    redis = _queued(platform, CALLBACK_QUEUE_REQUIRE_AOF=True)
    if redis.config_get("appendonly").get("appendonly") == "yes":
        pytest.skip("this Redis persists its data")
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    assert _post_in_process(platform, *_ticket_push(platform, int(time.time()), "t-aof")) == (200, "success")
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + 1 and redis.xlen(STREAM) == 0


class Portal:
    """The portal under gunicorn in its own process group, configured from the environment like wsgi.py."""

    def __init__(self, env):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                requests.get(self.url + "/healthz", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError("the portal did not start")

    def post(self, path, sealed):
        body, query = sealed
        response = requests.post(self.url + path, params=query, data=body.encode(), timeout=30,
                                 headers={"Content-Type": "text/xml"})
        return response.status_code, response.text

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)  # master and worker at once, no clean shutdown
        self.proc.wait(10)


def _portal_env(platform, **extra):
    app = platform.app
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "CALLBACK_"))}
    env.update(platform.credentials, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               REDIS_URL=app.config["REDIS_URL"], SECRET_KEY=app.config["SECRET_KEY"],
               DATA_KEY=app.config["DATA_KEY"], WECHAT_API_BASE=app.config["WECHAT_API_BASE"],
               WECHAT_MP_BASE=app.config["WECHAT_MP_BASE"], WECHAT_OPEN_BASE=app.config["WECHAT_OPEN_BASE"],
               CALLBACK_ACKNOWLEDGE="queued", CALLBACK_QUEUE_REQUIRE_AOF="false",
               CALLBACK_RATE_LIMIT="100000 per minute", CALLBACK_CLAIM_IDLE_SECONDS="1")
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}  # no REDIS_URL: the portal runs embedded


def test_killed_portal_and_dead_drainer_lose_nothing(platform, make_tenant, tenant_objects):
    redis = platform.app.extensions["redis"]
    tenant_id = make_tenant()
    apps = [tenant_objects(tenant_id)["appid"] for _ in range(8)]
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    ts = int(time.time())
    pushes = [_audit_push(platform, appid, ts) for appid in apps]
    pushes += [_ticket_push(platform, ts + i, f"ticket-kill-{i}") for i in range(8)]
    first = Portal(_portal_env(platform, CALLBACK_DRAIN_IN_PROCESS="false"))
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda p: first.post(*p), pushes * 2))  # each one retried once
    finally:
        first.kill()
    assert answers == [(200, "success")] * len(pushes) * 2
    # A drainer that read part of the stream and died before storing it: its entries stay pending.
    taken = redis.xreadgroup("portal", "drainer-that-died", {STREAM: ">"}, count=10)
    assert len(taken[0][1]) == 10
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before
    second = Portal(_portal_env(platform))
    try:
        assert second.post(*_ticket_push(platform, ts + 100, "ticket-after-restart")) == (200, "success")
        deadline = time.time() + 30
        while time.time() < deadline and (redis.xlen(STREAM) or redis.xpending(STREAM, "portal")["pending"]):
            time.sleep(0.2)
    finally:
        second.kill()
    assert redis.xlen(STREAM) == 0 and redis.xpending(STREAM, "portal")["pending"] == 0
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + len(pushes) + 1
    assert _count(platform, "SELECT SUM(duplicates) FROM callback_events") == len(pushes)
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == len(apps)
    assert _count(platform, "SELECT COUNT(*) FROM activity_log WHERE action = 'audit.success'") == len(apps)


def test_the_workers_schedule_drains_the_stream_and_forgets_consumers_long_gone(platform, make_tenant,
                                                                                tenant_objects):
    """No web process left to drain (restarted, nothing pushed since): the periodic job stores what waits,
    and drops consumers that hold nothing, so the group does not keep one per process ever started; a
    consumer still holding an entry stays until its entry is claimed."""
    from portal.queueing import enqueue
    from portal.queueing.schedule import PERIODIC
    from tests.conftest import drain_jobs

    redis = _queued(platform, CALLBACK_CONSUMER_IDLE_SECONDS=0)
    appid = tenant_objects(make_tenant())["appid"]
    name, job, _interval, queue, _offset = next(p for p in PERIODIC if p.name == "drain-pushes")

    def periodic_run(slot):
        with platform.app.app_context():
            enqueue(job, queue=queue, job_id=f"periodic:{name}:{slot}")
        drain_jobs(platform.app)

    def consumers():
        return {c["name"].decode() if isinstance(c["name"], bytes) else c["name"]: c["pending"]
                for c in redis.xinfo_consumers(STREAM, "portal")}

    assert _post_in_process(platform, *_audit_push(platform, appid, int(time.time()))) == (200, "success")
    redis.xgroup_createconsumer(STREAM, "portal", "gone-host:123")
    periodic_run(1)
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 1
    assert redis.xlen(STREAM) == 0 and "gone-host:123" not in consumers()

    assert _post_in_process(platform, *_audit_push(platform, appid, int(time.time()) + 1)) == (200, "success")
    redis.xreadgroup("portal", "busy-host:456", {STREAM: ">"}, count=1)  # a drainer that died holding it
    periodic_run(2)
    assert consumers().get("busy-host:456") == 1 and redis.xlen(STREAM) == 1


def test_a_push_after_redis_dropped_the_connection_is_still_queued(platform):
    redis = _queued(platform)
    ts = int(time.time())
    assert _post_in_process(platform, *_ticket_push(platform, ts, "before-kill")) == (200, "success")
    db_index = redis.connection_pool.connection_kwargs.get("db", 0)
    killed = [client["id"] for client in redis.client_list()
              if int(client.get("db", -1)) == db_index and client.get("cmd") == "xadd"]
    assert killed, "the XADD connection should be listed"
    for client_id in killed:
        redis.client_kill_filter(_id=client_id)
    assert _post_in_process(platform, *_ticket_push(platform, ts, "after-kill")) == (200, "success")
    assert redis.xlen(STREAM) == 2
