"""CALLBACK_ACKNOWLEDGE=spooled: a checked push is acknowledged once it is written to this host's push spool
and stored by a drainer; bad pushes are still refused at once; pushes are answered while the database is
down and stored once it is back; nothing is lost when the portal is killed (SIGKILL) with a segment open; a
torn line is skipped; a spool that cannot be written falls back to storing before success."""

import base64
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.callbacks.test_push_queue import (
    Portal,
    _audit_push,
    _count,
    _portal_env,
    _post_in_process,
    _ticket_push,
    drain_and_check_stored_once,
    send_retry_and_forgery,
    staff_client,
)


def _spooled(platform, spool, **extra):
    platform.app.config.update(dict({"CALLBACK_ACKNOWLEDGE": "spooled", "CALLBACK_SPOOL_DIR": str(spool),
                                     "CALLBACK_DRAIN_IN_PROCESS": False, "CALLBACK_SPOOL_SEGMENT_SECONDS": 0.05},
                                    **extra))


def _segments(spool):
    return sorted(p.name for p in spool.iterdir() if p.suffix in (".open", ".ready")) if spool.is_dir() else []


def _wait_ready(spool, timeout=10):
    """Until the writer has closed its segments (about SEGMENT_SECONDS after their first push)."""
    deadline = time.time() + timeout
    while time.time() < deadline and any(name.endswith(".open") for name in _segments(spool)):
        time.sleep(0.05)
    return _segments(spool)


def test_spooled_push_is_acknowledged_then_stored_once_by_the_drainer(platform, make_tenant, tenant_objects,
                                                                      tmp_path, make_user, login_as):
    spool = tmp_path / "spool"
    _spooled(platform, spool)
    appid = tenant_objects(make_tenant())["appid"]
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    send_retry_and_forgery(platform, appid, "ticket-spooled")
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before
    ready = _wait_ready(spool)
    assert ready and all(name.endswith(".ready") for name in ready)
    lines = [json.loads(line) for name in ready for line in (spool / name).read_text().splitlines() if line]
    assert len(lines) == 3 and {line["s"] for line in lines} == {"auth", "message"}
    assert all(b"ticket-spooled" not in base64.b64decode(line["b"]) for line in lines)  # still encrypted
    staff = staff_client(platform, make_user, login_as)
    page = staff.get("/staff/platform/pushes").get_data(as_text=True)
    assert "3 条推送已应答，正在本机缓存中等待入库（1 个文件" in page, page[:3000]
    assert "本机没有 worker 排空推送缓存" in page  # nothing but this test's app drains here
    drain_and_check_stored_once(platform, before)
    assert _segments(spool) == []
    assert "本机推送缓存为空" in staff.get("/staff/platform/pushes").get_data(as_text=True)


def test_a_spooled_pushs_log_line_is_written_when_it_is_stored_with_its_requests_id(
        platform, make_tenant, tenant_objects, tmp_path, caplog):
    """Acknowledging writes no line of its own (gunicorn's access line has the request); the drainer writes
    the push's one line with what storing did and the id of the request that brought it."""
    import logging

    spool = tmp_path / "spool"
    _spooled(platform, spool)
    appid = tenant_objects(make_tenant())["appid"]
    ts = int(time.time())
    sent = [("req-audit-1", _audit_push(platform, appid, ts)), ("req-ticket-1", _ticket_push(platform, ts, "t-log")),
            ("req-audit-retry", _audit_push(platform, appid, ts))]
    caplog.set_level(logging.INFO, logger="portal.callbacks")
    client = platform.client()
    for request_id, (path, (body, query)) in sent:
        response = client.post(path, query_string=query, data=body, content_type="text/xml",
                               headers={"X-Request-Id": request_id})
        assert (response.status_code, response.get_data(as_text=True)) == (200, "success")
        assert response.headers["X-Request-Id"] == request_id
    assert [r for r in caplog.records if r.getMessage().startswith("push ")] == []
    _wait_ready(spool)
    with platform.app.app_context():
        from portal.services.pushes import spool_drainer, store_queued

        assert spool_drainer.drain_all(platform.app, store_queued) == 3
    lines = {r.request_id: r.getMessage() for r in caplog.records if r.getMessage().startswith("push ")}
    assert lines == {
        "req-audit-1": f"push message weapp_audit_success for {appid}: applied",
        "req-ticket-1": f"push auth component_verify_ticket for {platform.component_appid}: applied",
        "req-audit-retry": f"push message weapp_audit_success for {appid}: duplicate"}, lines


def test_pushes_are_answered_while_the_database_and_redis_are_down_and_stored_when_back(
        platform, make_app, make_tenant, tenant_objects, tmp_path):
    """The same portal, its database and Redis unreachable (ports nothing listens on): pushes still get
    `success` and wait in the spool; a drainer that cannot reach the database either keeps them; one that
    can stores them."""
    spool = tmp_path / "spool"
    appid = tenant_objects(make_tenant())["appid"]
    down = make_app(**{k: platform.app.config[k] for k in (
        "WECHAT_COMPONENT_APPID", "WECHAT_COMPONENT_APPSECRET", "WECHAT_COMPONENT_TOKEN", "WECHAT_COMPONENT_AES_KEY",
        "WECHAT_API_BASE", "WECHAT_MP_BASE", "WECHAT_OPEN_BASE")},
        SQLALCHEMY_DATABASE_URI="mysql+mysqldb://portal:none@127.0.0.1:9/portal?connect_timeout=2",
        CALLBACK_ACKNOWLEDGE="spooled", CALLBACK_SPOOL_DIR=str(spool), CALLBACK_DRAIN_IN_PROCESS=False,
        CALLBACK_SPOOL_SEGMENT_SECONDS=0.05, REDIS_URL="redis://127.0.0.1:9/0")
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    ts = int(time.time())
    pushes = [_audit_push(platform, appid, ts), _ticket_push(platform, ts, "ticket-db-down")]
    client = down.test_client()
    for path, (body, query) in pushes:
        response = client.post(path, query_string=query, data=body, content_type="text/xml")
        assert (response.status_code, response.get_data(as_text=True)) == (200, "success")
    assert len(_wait_ready(spool)) == 1

    with down.app_context():
        from portal.services.pushes import spool_drainer as push_spool
        from portal.services.pushes import store_queued

        assert push_spool.drain_all(down, store_queued) == 0  # nothing stored, nothing lost
    assert len(_segments(spool)) == 1 and _count(platform, "SELECT COUNT(*) FROM callback_events") == before

    _spooled(platform, spool)
    with platform.app.app_context():
        from portal.services.pushes import spool_drainer as push_spool
        from portal.services.pushes import store_queued

        assert push_spool.drain_all(platform.app, store_queued) == 2
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + 2
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 1
    assert _segments(spool) == []


def test_killed_portal_loses_nothing_and_its_open_segment_is_drained_after_restart(
        platform, make_tenant, tenant_objects, tmp_path):
    spool = tmp_path / "spool"
    tenant_id = make_tenant()
    apps = [tenant_objects(tenant_id)["appid"] for _ in range(8)]
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    ts = int(time.time())
    pushes = [_audit_push(platform, appid, ts) for appid in apps]
    pushes += [_ticket_push(platform, ts + i, f"ticket-kill-{i}") for i in range(8)]
    env = dict(CALLBACK_ACKNOWLEDGE="spooled", CALLBACK_SPOOL_DIR=str(spool))
    # Segments stay open for a minute: the kill leaves one behind, still locked by no one.
    first = Portal(_portal_env(platform, CALLBACK_DRAIN_IN_PROCESS="false", CALLBACK_SPOOL_SEGMENT_SECONDS="60",
                               **env))
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda p: first.post(*p), pushes * 2))  # each one retried once
    finally:
        first.kill()
    assert answers == [(200, "success")] * len(pushes) * 2
    assert [name.endswith(".open") for name in _segments(spool)] == [True]
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before
    second = Portal(_portal_env(platform, CALLBACK_SPOOL_SEGMENT_SECONDS="0.2", **env))
    try:
        assert second.post(*_ticket_push(platform, ts + 100, "ticket-after-restart")) == (200, "success")
        deadline = time.time() + 30
        while time.time() < deadline and (_segments(spool) or _count(
                platform, "SELECT COUNT(*) FROM callback_events") < before + len(pushes) + 1):
            time.sleep(0.2)
    finally:
        second.kill()
    assert _segments(spool) == []
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + len(pushes) + 1
    assert _count(platform, "SELECT SUM(duplicates) FROM callback_events") == len(pushes)
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == len(apps)
    assert _count(platform, "SELECT COUNT(*) FROM activity_log WHERE action = 'audit.success'") == len(apps)


def test_a_torn_line_is_skipped_and_the_other_pushes_are_stored(platform, make_tenant, tenant_objects, tmp_path):
    """A writer killed in the middle of a write leaves a partial last line (never acknowledged)."""
    spool = tmp_path / "spool"
    spool.mkdir()
    _spooled(platform, spool)
    appid = tenant_objects(make_tenant())["appid"]
    body, query = _audit_push(platform, appid, int(time.time()))[1]
    record = json.dumps({"s": "message", "a": appid, "q": query, "b": base64.b64encode(body.encode()).decode()})
    (spool / f"{time.time_ns():020d}-999999-1.open").write_text("\n" + record + "\n" + record[:40])
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    result = platform.app.test_cli_runner().invoke(args=["drain-pushes"])
    assert result.exit_code == 0 and '"stored": 1' in result.output
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + 1
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 1
    assert _segments(spool) == []


def test_a_spool_that_cannot_be_written_falls_back_to_storing_before_success(platform, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    _spooled(platform, blocker / "spool")
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    assert _post_in_process(platform, *_ticket_push(platform, int(time.time()), "t-fallback")) == (200, "success")
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + 1


def test_the_workers_schedule_drains_the_spool(platform, make_tenant, tenant_objects, tmp_path):
    from portal.queueing import enqueue
    from portal.queueing.schedule import PERIODIC
    from tests.conftest import drain_jobs

    spool = tmp_path / "spool"
    _spooled(platform, spool)
    appid = tenant_objects(make_tenant())["appid"]
    name, job, _interval, queue, _offset = next(p for p in PERIODIC if p.name == "drain-pushes")
    assert _post_in_process(platform, *_audit_push(platform, appid, int(time.time()))) == (200, "success")
    assert _wait_ready(spool)
    with platform.app.app_context():
        enqueue(job, queue=queue, job_id=f"periodic:{name}:spool")
    drain_jobs(platform.app)
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 1
    assert _segments(spool) == []


def test_the_in_process_drainer_stores_spooled_pushes_within_seconds(platform, make_tenant, tenant_objects,
                                                                      tmp_path):
    spool = tmp_path / "spool"
    _spooled(platform, spool, CALLBACK_DRAIN_IN_PROCESS=True)
    appid = tenant_objects(make_tenant())["appid"]
    assert _post_in_process(platform, *_audit_push(platform, appid, int(time.time()))) == (200, "success")
    # the drainer commits the row, then deletes the segment: wait for both, since both are asserted
    deadline = time.time() + 10
    while time.time() < deadline and (_segments(spool) or _count(
            platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") < 1):
        time.sleep(0.05)
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 1
    assert _segments(spool) == []


@pytest.mark.parametrize("value, ok", [("spooled", True), ("kept", False)])
def test_check_config_names_the_spool_and_refuses_an_unknown_mode(app, tmp_path, value, ok):
    app.config.update(CALLBACK_ACKNOWLEDGE=value, CALLBACK_SPOOL_DIR=str(tmp_path / "spool"))
    result = app.test_cli_runner().invoke(args=["check-config"])
    assert (result.exit_code == 0) is ok
    assert (str(tmp_path / "spool") in result.output) is ok
    assert os.path.isdir(tmp_path / "spool") is ok


def test_racing_writers_and_drainers_store_each_push_exactly_once(platform, tmp_path):
    """Eight request threads spool pushes while three drainers take segments as they close: every push is
    stored once, none counted as a retry, none left behind (segments are taken by one drainer at a time)."""
    import threading

    from portal.services.pushes import spool_drainer as push_spool
    from portal.services.pushes import store_queued

    spool = tmp_path / "spool"
    _spooled(platform, spool, CALLBACK_SPOOL_SEGMENT_SECONDS=0.02, CALLBACK_RATE_LIMIT="100000 per minute")
    ts = int(time.time())
    pushes = [_ticket_push(platform, ts + i, f"ticket-race-{i}") for i in range(160)]
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    stop, settled = threading.Event(), []

    def drainer():
        with platform.app.app_context():
            while not stop.is_set():
                settled.append(push_spool.drain_all(platform.app, store_queued))
                time.sleep(0.01)

    drainers = [threading.Thread(target=drainer) for _ in range(3)]
    for thread in drainers:
        thread.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda p: _post_in_process(platform, *p), pushes))
        _wait_ready(spool)
        deadline = time.time() + 30
        while time.time() < deadline and _segments(spool):
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in drainers:
            thread.join(30)
    assert answers == [(200, "success")] * len(pushes)
    assert _segments(spool) == [] and sum(settled) == len(pushes)
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + len(pushes)
    assert _count(platform, "SELECT COALESCE(SUM(duplicates), 0) FROM callback_events") == 0


def test_flushing_before_each_answer_still_spools_and_drains(platform, tmp_path):
    """CALLBACK_SPOOL_SYNC_SECONDS=0: every push is flushed to disk (and a new segment's directory entry)
    before `success`."""
    spool = tmp_path / "spool"
    _spooled(platform, spool, CALLBACK_SPOOL_SYNC_SECONDS=0)
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    ts = int(time.time())
    for i in range(3):
        assert _post_in_process(platform, *_ticket_push(platform, ts + i, f"t-sync-{i}")) == (200, "success")
    assert len(_wait_ready(spool)) == 1
    result = platform.app.test_cli_runner().invoke(args=["drain-pushes"])
    assert result.exit_code == 0 and '"stored": 3' in result.output
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + 3
