"""Stand-ins for an operator's own systems: named HTTP receivers that record what the portal forwards to them.

Not a WeChat endpoint: the portal's push forwarding sends pushes on to URLs the operator names, and tests and
the demo point those at ``/sandbox/receiver/<name>``. Each receiver records every request (headers and
body, and what it answered) and can be told to fail its next N requests (HTTP 500 by default) or to hang
for a while on its next N requests before answering 504, so retries and timeouts can be exercised. Imports
the standard library only.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

RECORDED_HEADERS = ("Content-Type", "X-Portal-Timestamp", "X-Portal-Signature", "X-Portal-Push-Id",
                    "User-Agent")


@dataclass
class ReceiverConfig:
    fail_first: int = 0  # answer `fail_status` to the next N requests
    fail_status: int = 500
    hang_first: int = 0  # hold the next N requests for `hang_seconds`, then answer 504
    hang_seconds: float = 0.0
    delay_seconds: float = 0.0  # answer every other request after this long


@dataclass
class Receiver:
    name: str
    config: ReceiverConfig = field(default_factory=ReceiverConfig)
    received: list = field(default_factory=list)
    in_flight: int = 0  # requests being answered now


class ReceiverBook:
    """The receivers of one sandbox, made on first use; `reset` forgets them all."""

    def __init__(self):
        self._lock = threading.Lock()
        self._receivers: dict[str, Receiver] = {}

    def _get(self, name: str) -> Receiver:
        receiver = self._receivers.get(name)
        if receiver is None:
            receiver = self._receivers[name] = Receiver(name)
        return receiver

    def configure(self, name: str, values: dict) -> dict:
        with self._lock:
            receiver = self._get(name)
            config = ReceiverConfig(**{**asdict(receiver.config), **values})
            if min(config.fail_first, config.hang_first, config.hang_seconds, config.delay_seconds) < 0:
                raise ValueError("fail_first, hang_first, hang_seconds and delay_seconds cannot be negative")
            if not 400 <= config.fail_status <= 599:
                raise ValueError("fail_status must be an HTTP error status (400-599)")
            receiver.config = config
            return asdict(config)

    def receive(self, name: str, body: bytes, headers) -> tuple[int, str]:
        """Record one request and return the (status, text) to answer, after the hang if one is due."""
        with self._lock:
            receiver = self._get(name)
            config = receiver.config
            if config.hang_first:
                config.hang_first -= 1
                status, outcome, pause = 504, "hung", config.hang_seconds
            elif config.fail_first:
                config.fail_first -= 1
                status, outcome, pause = config.fail_status, "failed", 0.0
            else:
                status, outcome, pause = 200, "accepted", config.delay_seconds
            record = {
                "seq": len(receiver.received) + 1, "at": time.time(), "status": status, "outcome": outcome,
                "in_flight": receiver.in_flight, "answered_at": None,
                "headers": {h: headers.get(h) for h in RECORDED_HEADERS if headers.get(h) is not None},
                "body": body.decode("utf-8", "replace")}
            receiver.received.append(record)
            receiver.in_flight += 1
        try:
            if pause:
                time.sleep(pause)
        finally:
            with self._lock:
                receiver.in_flight -= 1
                record["answered_at"] = time.time()
        return status, "ok" if status == 200 else outcome

    def show(self, name: str) -> dict:
        with self._lock:
            receiver = self._get(name)
            return {"name": name, "config": asdict(receiver.config),
                    "received": [dict(r) for r in receiver.received]}

    def clear(self, name: str) -> None:
        with self._lock:
            self._receivers.pop(name, None)

    def reset(self) -> None:
        with self._lock:
            self._receivers.clear()
