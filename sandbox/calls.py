"""Records every API call and enforces the per-endpoint call quotas (daily 45009, per-minute 45011).

``CallRecorder`` keeps exact counters keyed by (endpoint, appid, errcode) for the whole run plus the
last N calls in detail, so tests can prove "exactly one token refresh". ``QuotaBook`` counts successful
token checks per (endpoint, appid, sandbox day) and raises 45009 past the limit; ``clear_quota`` resets
one appid. Imports ``clock``, ``errors`` and the standard library only.
"""

from __future__ import annotations

import collections
import threading
import time

from .clock import beijing_day, beijing_month
from .errors import ApiError


class CallRecorder:
    def __init__(self, history: int = 5000):
        self._lock = threading.Lock()
        self._history = history
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._counts: collections.Counter = collections.Counter()
            self._in_flight: collections.Counter = collections.Counter()
            self._recent: collections.deque = collections.deque(maxlen=self._history)
            self._seq = 0

    def arrived(self, endpoint: str, appid: str | None) -> None:
        """A call is being carried out (until ``left``): what a test waits for to know a request reached
        WeChat, e.g. before it kills the client that sent it."""
        with self._lock:
            self._in_flight[(endpoint, appid or "")] += 1

    def left(self, endpoint: str, appid: str | None) -> None:
        with self._lock:
            key = (endpoint, appid or "")
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]

    def record(self, endpoint: str, appid: str | None, errcode: int, http_status: int,
               sandbox_time: float, duration_ms: float, fault: str | None = None,
               action: str | None = None) -> None:
        with self._lock:
            self._seq += 1
            self._counts[(endpoint, appid or "", errcode)] += 1
            self._recent.append({"seq": self._seq, "endpoint": endpoint, "appid": appid or "",
                                 "errcode": errcode, "http_status": http_status, "time": time.time(),
                                 "sandbox_time": sandbox_time, "duration_ms": round(duration_ms, 2),
                                 "fault": fault, "action": action})

    def query(self, endpoint: str | None = None, appid: str | None = None,
              errcode: int | None = None, limit: int = 50) -> dict:
        def keep(ep, app, code):
            return ((endpoint is None or ep == endpoint) and (appid is None or app == appid)
                    and (errcode is None or code == errcode))

        with self._lock:
            counts: collections.Counter = collections.Counter()
            errcodes: collections.Counter = collections.Counter()
            for (ep, app, code), n in self._counts.items():
                if keep(ep, app, code):
                    counts[ep] += n
                    errcodes[str(code)] += n
            recent = [c for c in self._recent if keep(c["endpoint"], c["appid"], c["errcode"])]
            in_flight: collections.Counter = collections.Counter()
            for (ep, app), n in self._in_flight.items():
                if keep(ep, app, None):
                    in_flight[ep] += n
        return {"total": sum(counts.values()), "counts": dict(sorted(counts.items())),
                "errcodes": dict(errcodes), "in_flight": dict(sorted(in_flight.items())),
                "calls": recent[-limit:] if limit else []}


class QuotaBook:
    """Daily call quotas per (endpoint, appid), limits from the component or the defaults (45009 past them),
    and per-minute limits a test sets (45011 past them; none by default, as WeChat publishes no numbers)."""

    def __init__(self, default_limit: int):
        self._lock = threading.Lock()
        self.default_limit = default_limit
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._used: collections.Counter = collections.Counter()
            self._limits: dict[tuple[str, str], int] = {}
            self._clears: collections.Counter = collections.Counter()
            self._minute_used: dict[tuple[str, str], collections.deque] = {}
            self._minute_limits: dict[tuple[str, str], int] = {}

    def set_limit(self, endpoint: str, limit: int, appid: str = "*") -> None:
        with self._lock:
            self._limits[(endpoint, appid or "*")] = int(limit)

    def set_minute_limit(self, endpoint: str, limit: int, appid: str = "*") -> None:
        with self._lock:
            self._minute_limits[(endpoint, appid or "*")] = int(limit)

    def _minute_limit(self, endpoint: str, appid: str) -> int | None:
        for key in ((endpoint, appid), (endpoint, "*"), ("*", appid), ("*", "*")):
            if key in self._minute_limits:
                return self._minute_limits[key]
        return None

    def limit_for(self, endpoint: str, appid: str, overrides: dict | None = None) -> int:
        for key in ((endpoint, appid), (endpoint, "*"), ("*", appid), ("*", "*")):
            if key in self._limits:
                return self._limits[key]
        if overrides and endpoint in overrides:
            return int(overrides[endpoint])
        return self.default_limit

    def consume(self, endpoint: str, appid: str, now: float, overrides: dict | None = None) -> None:
        day = beijing_day(now)  # WeChat's days begin at 00:00 Beijing time, like its months
        with self._lock:
            self._consume_minute(endpoint, appid or "", now)
            key = (endpoint, appid or "", day)
            if self._used[key] >= self.limit_for(endpoint, appid or "", overrides):
                raise ApiError(45009)
            self._used[key] += 1

    def _consume_minute(self, endpoint: str, appid: str, now: float) -> None:
        """45011 past a per-minute limit: calls counted over the last 60 s (a sliding window)."""
        limit = self._minute_limit(endpoint, appid)
        if limit is None:
            return
        recent = self._minute_used.setdefault((endpoint, appid), collections.deque())
        while recent and recent[0] <= now - 60:
            recent.popleft()
        if len(recent) >= limit:
            raise ApiError(45011)
        recent.append(now)

    def clear(self, appid: str, now: float, monthly_limit: int = 10) -> None:
        """clear_quota: reset one account's counters; 10 resets per calendar month, Beijing time
        ("每个账号每月共10次清零操作机会"), 48006 after that."""
        month = beijing_month(now)
        with self._lock:
            if self._clears[(appid, month)] >= monthly_limit:
                raise ApiError(48006)
            self._clears[(appid, month)] += 1
            for key in [k for k in self._used if k[1] == appid]:
                del self._used[key]

    def usage(self, appid: str | None = None) -> list[dict]:
        with self._lock:
            return [{"endpoint": ep, "appid": app, "day": day, "used": n}
                    for (ep, app, day), n in self._used.items() if appid in (None, app)]
