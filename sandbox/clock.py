"""The sandbox clock: WeChat time as the emulator sees it.

Token expiry, ticket intervals and audit decisions all read ``SandboxClock.now()``. Tests move it forward
with ``advance`` (the control API ``POST /sandbox/clock``) instead of sleeping, and ``--clock-speed`` makes
it run faster than wall time. The ``timestamp`` carried by pushes deliberately stays wall-clock time, so
this clock is never used for that. Imports only the standard library.
"""

from __future__ import annotations

import threading
import time

BEIJING_OFFSET = 8 * 3600  # WeChat's days and months begin at 00:00 Beijing time (UTC+8)


def beijing_day(t: float) -> str:
    """The Beijing calendar day of sandbox time ``t``, e.g. ``2026-12-06``."""
    return time.strftime("%Y-%m-%d", time.gmtime(t + BEIJING_OFFSET))


def beijing_month(t: float) -> str:
    """The Beijing calendar month of sandbox time ``t``, e.g. ``2026-12``."""
    return beijing_day(t)[:7]


class SandboxClock:
    """Monotonic-based clock = wall time at start + elapsed * speed + manual offset."""

    def __init__(self, speed: float = 1.0):
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self._lock = threading.Lock()
        self._base = time.time()
        self._mono = time.monotonic()
        self._speed = float(speed)
        self._offset = 0.0

    def now(self) -> float:
        return self._base + (time.monotonic() - self._mono) * self._speed + self._offset

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    def set_speed(self, speed: float) -> None:
        """Change speed without jumping: rebase so that now() is continuous."""
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        with self._lock:
            current = self.now()
            self._base, self._mono, self._offset = current, time.monotonic(), 0.0
            self._speed = float(speed)

    def reset(self) -> None:
        with self._lock:
            self._base, self._mono, self._offset = time.time(), time.monotonic(), 0.0

    def describe(self) -> dict:
        now = self.now()
        return {"now": now, "now_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                "wall": time.time(), "offset": self._offset, "speed": self._speed}
