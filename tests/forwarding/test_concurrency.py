"""A rule's deliveries to a slow but healthy target go out several at once, across apps, while each app's
pushes still go one after the other, in order: what the receiver saw arrive and answer shows both. And a
steady flow of pushes goes out from one run of the rule, not a job per push."""

import os
import threading
import time
from itertools import pairwise

import pytest

from tests.conftest import wait_for
from tests.forwarding.conftest import body

APPS = 8
PER_APP = 5
ANSWER_SECONDS = 0.2


def _by_app(records):
    apps = {}
    for record in records:
        content = body(record)["Content"]
        apps.setdefault(content.rsplit("-", 1)[0], []).append((int(content.rsplit("-", 1)[1]), record))
    return apps


def test_a_slow_target_gets_several_apps_pushes_at_once_and_each_apps_in_order(env):
    env.app.config.update(FORWARDING_CONCURRENCY=4)
    apps = [env.platform.authorized_app() for _ in range(APPS)]
    env.configure("slow", delay_seconds=ANSWER_SECONDS)
    env.create_rule("Slow but healthy", "slow", kinds="text")
    for i in range(PER_APP):
        for appid in apps:
            env.message(appid, f"{appid}-{i}")

    wait_for(env.app, lambda: len(env.received("slow")) >= APPS * PER_APP
             and all(r["answered_at"] for r in env.received("slow")), timeout=60, what="every push answered")
    records = env.received("slow")
    assert len(records) == APPS * PER_APP and {r["outcome"] for r in records} == {"accepted"}
    # several deliveries in flight at once, never more than the rule's concurrency
    assert max(r["in_flight"] for r in records) >= 1
    assert max(r["in_flight"] for r in records) < 4
    by_app = _by_app(records)
    assert sorted(by_app) == sorted(apps)
    for appid, sent in by_app.items():
        assert [n for n, _record in sent] == list(range(PER_APP)), appid  # each once, in order
        # and one at a time: each arrived after the previous one was answered
        assert all(later["at"] >= earlier["answered_at"] for (_n, earlier), (_m, later) in pairwise(sent))
    assert {d["status"] for d in env.deliveries()} == {"delivered"}


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="counts the jobs RQ ran")
def test_pushes_that_come_while_a_run_waits_for_more_go_out_from_that_run(env):
    from rq import SimpleWorker
    from rq.registry import FinishedJobRegistry

    from portal.queueing import SERIALIZER, get_queue

    env.app.config.update(FORWARDING_LINGER_SECONDS=3.0)
    appid = env.platform.authorized_app()
    env.create_rule("Steady", "steady", kinds="text")
    env.message(appid, "m0")  # queues the rule's job
    redis = env.app.extensions["redis"]
    queue = get_queue("forwarding", redis)
    failures = []

    def more_while_the_run_waits():
        try:
            deadline = time.monotonic() + 30
            while not env.received("steady"):
                assert time.monotonic() < deadline, "the first push was not forwarded within 30 s"
                time.sleep(0.02)
            env.message(appid, "m1")  # no job is queued for these: the run on sends them
            env.message(appid, "m2")
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    sender = threading.Thread(target=more_while_the_run_waits)
    sender.start()
    with env.app.app_context():  # RQ's worker runs in the main thread (it installs signal handlers)
        SimpleWorker([queue], connection=redis, serializer=SERIALIZER).work(burst=True)
    sender.join(timeout=60)
    assert not failures and not sender.is_alive()
    assert [body(r)["Content"] for r in env.received("steady", "accepted")] == ["m0", "m1", "m2"]
    assert FinishedJobRegistry(queue=queue).count == 1 and queue.count == 0
