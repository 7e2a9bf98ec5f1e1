"""Delivers pushes to the platform exactly like WeChat: encrypted, signed, retried, recorded.

``PushDispatcher.send`` seals the inner XML with the component's token/EncodingAESKey (appid suffix = the
component appid), wraps it in the outer XML, and POSTs it with ``signature, timestamp, nonce,
encrypt_type=aes, msg_signature``. A delivery counts only if the platform answers ``success``; otherwise it
is retried ``push_retries`` times. Deliveries run on worker threads so no API request waits for them,
unless the caller asks for ``wait=True``. ``timestamp`` is wall-clock time, never the sandbox clock.
Imports ``crypto`` and ``faults``; uses ``requests`` for the outgoing HTTP.
"""

from __future__ import annotations

import collections
import itertools
import os
import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from xml.sax.saxutils import escape

import requests

from .crypto import MessageCrypto


@dataclass
class PushTarget:
    """What the dispatcher needs from a component, copied so no lock is held while delivering."""

    component_appid: str
    token: str
    encoding_aes_key: str
    url: str


@dataclass
class Push:
    id: int
    push_type: str
    kind: str
    url: str
    component_appid: str
    appid: str
    plaintext: str
    created_at: float
    sandbox_time: float
    state: str = "queued"
    answer: str | None = None
    attempts: list = field(default_factory=list)
    to_user: str = ""
    query: dict = field(default_factory=dict)
    body: str = ""


def xml_element(name: str, value) -> str:
    if isinstance(value, dict):
        return f"<{name}>" + "".join(xml_element(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"<{name}>{int(value)}</{name}>"
    text = str(value).replace("]]>", "]]]]><![CDATA[>")
    return f"<{name}><![CDATA[{text}]]></{name}>"


def build_xml(fields: dict) -> str:
    return "<xml>" + "".join(xml_element(k, v) for k, v in fields.items()) + "</xml>"


class PushDispatcher:
    def __init__(self, options, faults):
        self.options = options
        self.faults = faults
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._records: collections.deque = collections.deque(maxlen=options.push_history)
        self._queue: queue.Queue = queue.Queue()
        self._generation = 0
        self._local = threading.local()
        self._workers = [threading.Thread(target=self._work, name=f"sandbox-push-{i}", daemon=True)
                         for i in range(max(1, options.push_workers))]
        for worker in self._workers:
            worker.start()

    # ---- public ----------------------------------------------------------------------------
    def send(self, target: PushTarget, push_type: str, kind: str, appid: str, inner: dict,
             sandbox_time: float, wait: bool = False, to_user: str = "") -> Push:
        """Queue (or with wait=True deliver now) one push; return its record."""
        plaintext = build_xml(inner)
        push = Push(id=next(self._ids), push_type=push_type, kind=kind, url=target.url,
                    component_appid=target.component_appid, appid=appid, plaintext=plaintext,
                    created_at=time.time(), sandbox_time=sandbox_time, to_user=to_user)
        with self._lock:
            self._records.append(push)
            generation = self._generation
        if not target.url:
            push.state = "no_url"
        elif self.faults.should_drop_push(push_type, appid):
            push.state = "dropped"
        elif wait:
            self._deliver(push, target)
        else:
            self._queue.put((generation, push, target))
        return push

    def records(self, push_type: str | None = None, appid: str | None = None,
                limit: int = 100) -> list[dict]:
        with self._lock:
            items = [p for p in self._records
                     if push_type in (None, p.push_type) and appid in (None, p.appid, p.component_appid)]
        return [asdict(p) for p in items[-limit:]] if limit else []

    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def reset(self) -> None:
        with self._lock:
            self._generation += 1
            self._records.clear()

    def stop(self) -> None:
        for _ in self._workers:
            self._queue.put(None)

    # ---- delivery --------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                generation, push, target = item
                if generation == self._generation:
                    self._deliver(push, target)
                else:
                    push.state = "cancelled"
            finally:
                self._queue.task_done()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _seal(self, push: Push, target: PushTarget) -> None:
        crypto = MessageCrypto(target.token, target.encoding_aes_key, target.component_appid)
        timestamp = str(int(time.time()))
        nonce = str(int.from_bytes(os.urandom(4), "big"))
        sealed = crypto.seal(push.plaintext, timestamp, nonce)
        query = {"signature": sealed["signature"], "timestamp": timestamp, "nonce": nonce}
        if push.kind == "message":
            query["openid"] = "o" + push.appid[2:] if push.appid else ""
        query.update({"encrypt_type": "aes", "msg_signature": sealed["msg_signature"]})
        outer_name, outer_value = ("AppId", target.component_appid) if push.kind == "auth" \
            else ("ToUserName", push.to_user)
        push.query = query
        push.body = (f"<xml><{outer_name}><![CDATA[{escape(outer_value)}]]></{outer_name}>"
                     f"<Encrypt><![CDATA[{sealed['encrypt']}]]></Encrypt></xml>")

    def _deliver(self, push: Push, target: PushTarget) -> None:
        self._seal(push, target)
        push.state = "delivering"
        for attempt in range(1 + max(0, self.options.push_retries)):
            if attempt:
                time.sleep(self.options.push_retry_delay)
            if self._attempt(push):
                push.state = "success"
                return
        push.state = "failed"

    def _attempt(self, push: Push) -> bool:
        started = time.monotonic()
        record = {"at": time.time(), "status": None, "answer": None, "error": None}
        try:
            resp = self._session().post(push.url, params=push.query, data=push.body.encode(),
                                        headers={"Content-Type": "text/xml"},
                                        timeout=self.options.push_timeout)
            record["status"] = resp.status_code
            record["answer"] = resp.text[:500]
        except requests.RequestException as exc:
            record["error"] = type(exc).__name__
        record["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        push.attempts.append(record)
        push.answer = record["answer"]
        return record["status"] == 200 and (record["answer"] or "").strip() == "success"
