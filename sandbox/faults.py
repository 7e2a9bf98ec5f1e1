"""Fault injection: latency, errors, hangs, outages and lost pushes, per endpoint and appid.

A ``Fault`` matches an endpoint name (or ``*``) and optionally one appid. On a matching call it can add
latency, answer an errcode (HTTP 200) or a bare HTTP status with a given probability, hang for longer than
a client timeout, or fail everything during an outage window (sandbox time). ``drop_pushes`` faults make
pushes vanish (recorded as dropped) for "lost push" tests. ``count`` limits a fault to its next N hits.
``after_call`` makes an ``http_status`` or a hang come *after* the call was carried out: WeChat acted, the
answer was lost on the way back (what makes a resent write visible as a double).
Imports only the standard library.
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import asdict, dataclass, field


@dataclass
class Fault:
    id: int
    endpoint: str = "*"
    appid: str | None = None
    latency_ms: float = 0.0
    error_rate: float = 1.0
    errcode: int | None = None
    errmsg: str | None = None
    http_status: int | None = None
    timeout_seconds: float = 0.0
    outage_start: float | None = None
    outage_end: float | None = None
    count: int | None = None
    drop_pushes: bool = False
    push_type: str = "*"
    after_call: bool = False
    hits: int = field(default=0)

    def matches(self, endpoint: str, appid: str | None) -> bool:
        return self.endpoint in ("*", endpoint) and (not self.appid or self.appid == appid)

    def in_outage(self, now: float) -> bool:
        if self.outage_start is None and self.outage_end is None:
            return False
        return (self.outage_start or 0) <= now < (self.outage_end or float("inf"))

    @property
    def is_outage(self) -> bool:
        return self.outage_start is not None or self.outage_end is not None


@dataclass
class FaultEffect:
    latency: float = 0.0
    hang: float = 0.0
    errcode: int | None = None
    errmsg: str | None = None
    http_status: int | None = None
    after_call: bool = False  # the call runs first; latency, hang and http_status replace its answer
    labels: list = field(default_factory=list)

    @property
    def label(self) -> str | None:
        return ",".join(self.labels) or None


class FaultBook:
    def __init__(self, seed: int | None = None):
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._random = random.Random(seed)
        self._faults: list[Fault] = []

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def add(self, spec: dict, now: float) -> Fault:
        spec = dict(spec)
        outage_seconds = spec.pop("outage_seconds", None)
        window = spec.pop("outage", None)
        if outage_seconds is not None:
            spec["outage_start"], spec["outage_end"] = now, now + float(outage_seconds)
        elif isinstance(window, dict):
            spec["outage_start"], spec["outage_end"] = window.get("start", now), window.get("end")
        elif window is True:
            spec["outage_start"] = now
        if "error_rate" not in spec and spec.get("errcode") is None and spec.get("http_status") is None:
            spec["error_rate"] = 0.0
        spec.pop("id", None)
        spec.pop("hits", None)
        fault = Fault(id=next(self._ids), **spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def list(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def _spend(self, fault: Fault) -> None:
        fault.hits += 1
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)

    def effect_for(self, endpoint: str, appid: str | None, now: float) -> FaultEffect | None:
        if not self._faults:
            return None
        effect = FaultEffect()
        with self._lock:
            for fault in list(self._faults):
                if fault.drop_pushes or not fault.matches(endpoint, appid):
                    continue
                if fault.is_outage:
                    if fault.in_outage(now):
                        effect.http_status = fault.http_status or (None if fault.errcode else 503)
                        effect.errcode, effect.errmsg = fault.errcode, fault.errmsg
                        effect.labels.append(f"outage#{fault.id}")
                    continue
                if not self._apply(fault, effect):
                    continue
                self._spend(fault)
        return effect if effect.labels else None

    def _apply(self, fault: Fault, effect: FaultEffect) -> bool:
        applied = False
        if fault.latency_ms:
            effect.latency += fault.latency_ms / 1000.0
            applied = True
        if fault.timeout_seconds:
            effect.hang = max(effect.hang, fault.timeout_seconds)
            applied = True
        failing = fault.errcode is not None or fault.http_status is not None
        if failing and self._random.random() < fault.error_rate and effect.errcode is None \
                and effect.http_status is None:
            effect.errcode, effect.errmsg, effect.http_status = fault.errcode, fault.errmsg, fault.http_status
            applied = True
        if applied:
            effect.after_call = effect.after_call or fault.after_call
            effect.labels.append(f"fault#{fault.id}")
        return applied

    def should_drop_push(self, push_type: str, appid: str | None) -> bool:
        with self._lock:
            for fault in list(self._faults):
                if fault.drop_pushes and fault.push_type in ("*", push_type) \
                        and (not fault.appid or fault.appid == appid):
                    self._spend(fault)
                    return True
        return False
