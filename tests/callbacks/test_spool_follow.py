"""The push spool is drained as it is written: a push is stored while its segment is still open, a drainer
stopped midway is resumed at its position (no push stored twice), a push that cannot be stored is set
aside without holding back the ones behind it, and `worker.py` runs the host's drainer (started again when
killed, stopped with the worker). CALLBACK_ACKNOWLEDGE=spooled is the shipped default."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.callbacks.test_push_queue import _audit_push, _count, _post_in_process, _ticket_push, staff_client

ROOT = Path(__file__).resolve().parents[2]
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="worker.py needs Redis")


def _spooled(platform, spool, **extra):
    platform.app.config.update(dict({"CALLBACK_ACKNOWLEDGE": "spooled", "CALLBACK_SPOOL_DIR": str(spool),
                                     "CALLBACK_DRAIN_IN_PROCESS": False, "CALLBACK_SPOOL_SEGMENT_SECONDS": 60},
                                    **extra))


def _files(spool, suffix):
    return sorted(p.name for p in spool.iterdir() if p.name.endswith(suffix)) if spool.is_dir() else []


def _wait_for(condition, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_shipped_default_acknowledges_from_the_spool(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBACK_")}
    out = subprocess.run([sys.executable, "-c", "from config import Config; print(Config.CALLBACK_ACKNOWLEDGE)"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "spooled"


def test_a_push_is_stored_while_its_segment_is_still_open(platform, make_tenant, tenant_objects, tmp_path):
    spool = tmp_path / "spool"
    _spooled(platform, spool, CALLBACK_DRAIN_IN_PROCESS=True)
    appid = tenant_objects(make_tenant())["appid"]
    assert _post_in_process(platform, *_audit_push(platform, appid, int(time.time()))) == (200, "success")
    _wait_for(lambda: _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 1,
              what="the audit result to be stored")
    assert len(_files(spool, ".open")) == 1 and _files(spool, ".ready") == []  # its writer keeps it for 60 s


def test_a_drainer_stopped_midway_is_resumed_at_its_position(platform, tmp_path):
    from portal.services.pushes import spool_drainer, store_queued

    spool = tmp_path / "spool"
    _spooled(platform, spool)
    ts = int(time.time())
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    for i in range(3):
        assert _post_in_process(platform, *_ticket_push(platform, ts + i, f"t-midway-{i}")) == (200, "success")
    with platform.app.app_context():
        assert spool_drainer.drain_all(platform.app, store_queued) == 3  # then it lets go of the segment
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + 3
    assert len(_files(spool, ".open")) == 1 and len(_files(spool, ".pos")) == 1
    for i in range(3, 5):
        assert _post_in_process(platform, *_ticket_push(platform, ts + i, f"t-midway-{i}")) == (200, "success")
    with platform.app.app_context():
        assert spool_drainer.drain_all(platform.app, store_queued) == 2
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + 5
    assert _count(platform, "SELECT COALESCE(SUM(duplicates), 0) FROM callback_events") == 0


def test_a_push_that_cannot_be_stored_is_set_aside_and_the_others_go_on(platform, make_tenant, tenant_objects,
                                                                         tmp_path):
    """`store` settles what it could store; one it could not (here: the second, refused by the store given
    to the drainer) is written to a segment of its own, and stored by a later drain."""
    from portal.services.pushes import spool_drainer, store_queued

    spool = tmp_path / "spool"
    _spooled(platform, spool, CALLBACK_SPOOL_SEGMENT_SECONDS=0.05)
    tenant_id = make_tenant()
    apps = [tenant_objects(tenant_id)["appid"] for _ in range(3)]
    ts = int(time.time())
    for appid in apps:
        assert _post_in_process(platform, *_audit_push(platform, appid, ts)) == (200, "success")
    _wait_for(lambda: _files(spool, ".ready") and not _files(spool, ".open"), what="the segment to close")

    def all_but_the_second(items):
        return store_queued([item for index, item in enumerate(items) if index != 1])

    with platform.app.app_context():
        assert spool_drainer.SpoolDrainer(platform.app, all_but_the_second).drain_pass() == 2
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 2
    kept = _files(spool, ".ready")
    assert len(kept) == 1 and "-k" in kept[0] and len((spool / kept[0]).read_text().split()) == 1
    with platform.app.app_context():
        assert spool_drainer.drain_all(platform.app, store_queued) == 1
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 3
    assert _count(platform, "SELECT COALESCE(SUM(duplicates), 0) FROM callback_events") == 0
    assert _files(spool, ".ready") == [] and _files(spool, ".pos") == []


def _drainer_children(worker):
    """The worker's children running `drain-pushes` (started from one of its threads: each thread's task
    lists the children it started)."""
    pids = []
    for children in Path(f"/proc/{worker.pid}/task").glob("*/children"):
        try:
            pids += children.read_text().split()
        except FileNotFoundError:
            continue
    found = []
    for pid in pids:
        try:
            if b"drain-pushes" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except FileNotFoundError:
            continue
    return found


def _nice(pid):
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@needs_redis
def test_worker_runs_the_host_drainer_starts_it_again_and_stops_it(platform, make_tenant, tenant_objects,
                                                                     tmp_path, make_user, login_as):
    from portal.services.pushes import spool_drainer
    from tests.fleet.conftest import worker_env

    spool = tmp_path / "spool"
    _spooled(platform, spool)  # the test's own app only writes: the worker's drainer stores
    tenant_id = make_tenant()
    apps = [tenant_objects(tenant_id)["appid"] for _ in range(2)]
    env = dict(worker_env(platform.app), CALLBACK_ACKNOWLEDGE="spooled", CALLBACK_SPOOL_DIR=str(spool))
    worker = subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "maintenance"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=open(tmp_path / "worker.log", "ab"))
    try:
        _wait_for(lambda: _drainer_children(worker), what="the worker's drainer")
        first = _drainer_children(worker)[0]
        _wait_for(lambda: spool_drainer.host_drainer_running(platform.app), what="the drainer to hold the spool")
        assert _nice(first) == 10
        if Path("/proc/self/autogroup").exists():  # a session, and so a scheduling group, of its own at nice 10
            assert os.getsid(first) == first and Path(f"/proc/{first}/autogroup").read_text().endswith(" nice 10\n")
        staff = staff_client(platform, make_user, login_as)
        assert "本机的 worker 正在将缓存中的推送入库" in staff.get("/staff/platform/pushes").get_data(as_text=True)
        assert _post_in_process(platform, *_audit_push(platform, apps[0], int(time.time()))) == (200, "success")
        _wait_for(lambda: _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 1,
                  what="the first push to be stored by the worker's drainer")

        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: _drainer_children(worker) and _drainer_children(worker)[0] != first,
                  what="a new drainer")
        second = _drainer_children(worker)[0]
        assert _post_in_process(platform, *_audit_push(platform, apps[1], int(time.time()))) == (200, "success")
        _wait_for(lambda: _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == 2,
                  what="the second push to be stored by the new drainer")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    assert worker.returncode == 0
    assert not Path(f"/proc/{second}").exists() or b"drain-pushes" not in Path(f"/proc/{second}/cmdline").read_bytes()


def test_a_backlog_larger_than_one_read_is_stored_whole(platform, tmp_path):
    """A segment holding more than the drainer reads at a time (a burst the drainer could not follow) is
    stored a part at a time, every push once."""
    from portal.services.pushes import spool, spool_drainer, store_queued

    directory = tmp_path / "spool"
    directory.mkdir()
    _spooled(platform, directory)
    ts = int(time.time())
    lines, size = [], 0
    while size <= 2 * spool_drainer.READ_BYTES:
        path, (body, query) = _ticket_push(platform, ts, f"t-backlog-{len(lines)}")
        lines.append(spool.record("auth", None, query, body.encode()))
        size += len(lines[-1]) + 1
    (directory / f"{time.time_ns():020d}-999999-1.ready").write_text("\n" + "\n".join(lines) + "\n")
    before = _count(platform, "SELECT COUNT(*) FROM callback_events")
    with platform.app.app_context():
        assert spool_drainer.drain_all(platform.app, store_queued) == len(lines)
    assert _count(platform, "SELECT COUNT(*) FROM callback_events") == before + len(lines)
    assert _count(platform, "SELECT COALESCE(SUM(duplicates), 0) FROM callback_events") == 0
    assert _files(directory, ".ready") == [] and _files(directory, ".pos") == []


def test_a_batch_of_audit_results_closes_every_audit(platform, make_tenant, tenant_objects, tmp_path):
    """131 audit results stored in one transaction (the drainer's batch): the audits are updated in chunks of
    128, 2 and 1, each closed once."""
    from portal.services.pushes import spool_drainer, store_queued

    spool = tmp_path / "spool"
    _spooled(platform, spool, CALLBACK_SPOOL_SEGMENT_SECONDS=0.05, CALLBACK_RATE_LIMIT="100000 per minute")
    tenant_id = make_tenant()
    apps = [tenant_objects(tenant_id)["appid"] for _ in range(131)]
    ts = int(time.time())
    for appid in apps:
        assert _post_in_process(platform, *_audit_push(platform, appid, ts)) == (200, "success")
    _wait_for(lambda: _files(spool, ".ready") and not _files(spool, ".open"), what="the segment to close")
    with platform.app.app_context():
        assert spool_drainer.drain_all(platform.app, store_queued) == len(apps)
    assert _count(platform, "SELECT COUNT(*) FROM wxminiprogram_audit WHERE status = 0") == len(apps)
    assert _count(platform, "SELECT COUNT(*) FROM activity_log WHERE action = 'audit.success'") == len(apps)
