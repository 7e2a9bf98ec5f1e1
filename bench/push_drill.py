"""The kill -9 drill of the default deployment (`bench.production.Deployment`): while a sender posts unique
signed pushes without pause, one process after another is killed with SIGKILL - a gunicorn worker (the
master replaces it), the gunicorn master (started again, as systemd would; its workers exit on their own),
`worker.py` (started again) and the push drainer `worker.py` runs (a child whose command line holds
`drain-pushes`; "no drainer process" when the code that runs has none) - then sending stops and the drill
waits until every push that was answered `success` is stored. Lost = acknowledged and never stored: must be 0.

Pushes: component_verify_ticket to /wechat/auth-events and users' text messages to /wechat/events/<appid>,
alternately, each carrying a unique marker (the ticket, the message's Content) by which its stored row is
found (the stored payload, decrypted with the portal's own model). A push that gets no `success` is sent
again, as WeChat does, up to three times; every tenth acknowledged push is sent once more (a retry after a
lost answer), and must still be stored once. Pushes never acknowledged may or may not be stored (WeChat
would retry them later); they are counted.

`tests/drills/test_push_kill.py` runs the drill at about 30 pushes/s; `make bench` (`BENCH_ONLY=drill`) as
fast as 8 sending threads go, on the bench database, with the portal of `bench.portal_wsgi` (the callback
rate limit raised: the sender is one address).
"""

from __future__ import annotations

import collections
import re
import secrets
import threading
import time
from pathlib import Path

import requests

from bench.common import Row
from bench.load import PushFactory

MARKER_RE = re.compile(r"drill-[0-9a-f]{8}-\d+")
ANSWER_TIMEOUT = 5.0  # WeChat waits five seconds for an answer, then retries
RETRIES = 3
KINDS = ("component_verify_ticket", "text")


class Sender:
    """Threads posting pushes; `acknowledged` holds the marker of each push answered 200 `success`."""

    def __init__(self, url: str, factory: PushFactory, apps: list[tuple[str, str]], threads: int = 4,
                 rate: float | None = None, addresses: int = 0):
        self.url, self.factory, self.apps, self.threads, self.rate = url, factory, apps, threads, rate
        self.run_id = secrets.token_hex(4)
        # WeChat's servers seen through nginx (X-Forwarded-For, with TRUSTED_PROXY_HOPS=1); none: our own address
        self.addresses = [f"101.226.{n // 250}.{n % 250 + 1}" for n in range(addresses)]
        self.lock, self.stop_event = threading.Lock(), threading.Event()
        self.sent, self.acknowledged, self.unanswered = {}, set(), set()
        self.failures = collections.Counter()  # failed attempts by reason
        self.resent = 0
        self.counter = 0
        self.pool = [threading.Thread(target=self._loop, args=(n,), daemon=True) for n in range(threads)]

    def start(self) -> Sender:
        for thread in self.pool:
            thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.pool:
            thread.join(ANSWER_TIMEOUT * (RETRIES + 2))

    def acked(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def _next(self):
        with self.lock:
            self.counter += 1
            n = self.counter
        marker = f"drill-{self.run_id}-{n}"
        if n % 2:
            path, body = self.factory.ticket_push(ticket=f"ticket@@@{marker}")
            kind = "component_verify_ticket"
        else:
            appid, user_name = self.apps[n % len(self.apps)]
            path, body = self.factory.text_push(appid, user_name, content=marker)
            kind = "text"
        with self.lock:
            self.sent[marker] = kind
        return n, marker, path, body

    def _loop(self, index: int) -> None:
        session = requests.Session()
        interval = self.threads / self.rate if self.rate else 0.0
        due = time.monotonic() + index * interval / self.threads
        while not self.stop_event.is_set():
            if interval:
                due += interval
                pause = due - time.monotonic()
                if pause > 0 and self.stop_event.wait(pause):
                    break
            n, marker, path, body = self._next()
            headers = {"Content-Type": "text/xml"}
            if self.addresses:
                headers["X-Forwarded-For"] = self.addresses[n % len(self.addresses)]
            answered = self._deliver(session, path, body, headers)
            with self.lock:
                (self.acknowledged if answered else self.unanswered).add(marker)
            if answered and n % 10 == 0 and self._deliver(session, path, body, headers, tries=1):
                with self.lock:
                    self.resent += 1

    def _deliver(self, session, path, body, headers, tries=RETRIES + 1) -> bool:
        """Post until answered 200 `success` (True), at most `tries` times."""
        for attempt in range(tries):
            if attempt:
                time.sleep(0.2 * attempt)
            try:
                response = session.post(self.url + path, data=body.encode(), headers=headers,
                                        timeout=ANSWER_TIMEOUT)
            except requests.RequestException as exc:
                reason = exc.__class__.__name__
                session.close()  # a connection to a killed process: start afresh
            else:
                if response.status_code == 200 and response.text == "success":
                    return True
                reason = f"HTTP {response.status_code}"
            with self.lock:
                self.failures[reason] += 1
        return False


class StoredPushes:
    """The drill's pushes stored in the portal's database, found by their markers (read incrementally)."""

    def __init__(self, app):
        self.app, self.last_id, self.rows = app, 0, collections.Counter()

    def read(self) -> collections.Counter:
        from portal.extensions import db
        from portal.models import CallbackEvent

        with self.app.app_context():
            query = (db.session.query(CallbackEvent).filter(CallbackEvent.id > self.last_id,
                                                            CallbackEvent.kind.in_(KINDS))
                     .order_by(CallbackEvent.id))
            for event in query.yield_per(1000):
                self.last_id = event.id
                found = MARKER_RE.search(event.payload or "")
                if found:
                    self.rows[found.group(0)] += 1
            db.session.remove()
        return self.rows

    def wait_for(self, markers: set, timeout: float) -> tuple[float, set]:
        """Seconds until every marker in `markers` is stored, and the markers still missing at the end."""
        started = time.monotonic()
        while True:
            missing = markers - set(self.read())
            if not missing or time.monotonic() - started > timeout:
                return time.monotonic() - started, missing
            time.sleep(0.5)


def kill_in_turn(deployment, sender: Sender, between: int, log=print) -> list[tuple[str, str]]:
    """Kill each process in turn while `sender` sends; after each, wait until `between` more pushes were
    acknowledged (the deployment serves again). Returns (what was killed, pid or what happened)."""
    def sending(count):
        target = sender.acked() + count
        deadline = time.monotonic() + 120
        while sender.acked() < target:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {count} pushes acknowledged within 120 s")
            time.sleep(0.05)

    sending(between)
    done = []
    for name, kill in (("a gunicorn worker", deployment.kill_web_worker), ("the gunicorn master",
                                                                            deployment.kill_master),
                       ("worker.py", deployment.kill_worker), ("the push drainer", deployment.kill_drainer)):
        pid = kill()
        done.append((name, f"pid {pid}" if pid else "no drainer process"))
        log(f"  killed {name}: {done[-1][1]}")
        sending(between)
    return done


def summary(sender: Sender, stored: collections.Counter, missing: set, waited: float) -> dict:
    acknowledged = sender.acknowledged
    return {"sent": len(sender.sent), "acknowledged": len(acknowledged), "unanswered": len(sender.unanswered),
            "stored": sum(1 for marker in acknowledged if stored.get(marker)),
            "stored_unanswered": sum(1 for marker in sender.unanswered if stored.get(marker)),
            "lost": len(missing), "stored_twice": sum(1 for count in stored.values() if count > 1),
            "resent": sender.resent, "failures": dict(sender.failures), "waited": waited}


def run(workdir: Path, log=print) -> list[Row]:
    from bench.deployment import Bench

    with Bench(workdir, log, name="portal_bench_drill", apps=50, audits=1) as bench:
        deployment = bench.deployment()
        try:
            stored = StoredPushes(bench.app)
            stored.read()
            sender = Sender(deployment.url, bench.factory, bench.apps(50), threads=8).start()
            try:
                kills = kill_in_turn(deployment, sender, between=200, log=log)
            finally:
                sender.stop()
            waited, missing = stored.wait_for(set(sender.acknowledged), timeout=300)
        finally:
            deployment.stop()
    result = summary(sender, stored.rows, missing, waited)
    failures = ", ".join(f"{count} {reason}" for reason, count in sorted(result["failures"].items())) or "none"
    return [Row("Push drill: kill -9 of a gunicorn worker, the master, worker.py and the drainer while pushes "
                "arrive (default deployment, 8 sending threads)",
                f"sent {result['sent']}, acknowledged {result['acknowledged']}, stored {result['stored']} of them "
                f"(all found stored {result['waited']:.1f} s after sending stopped), lost {result['lost']}; stored twice "
                f"{result['stored_twice']} ({result['resent']} acknowledged pushes sent again); never answered "
                f"{result['unanswered']} ({result['stored_unanswered']} of them stored anyway); failed attempts: "
                f"{failures}; kills: " + "; ".join(f"{name} {what}" for name, what in kills),
                target="lost 0, stored twice 0",
                verdict="ok" if result["lost"] == 0 and result["stored_twice"] == 0 else "FAIL")]
