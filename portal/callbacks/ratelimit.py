"""The callback URLs' rate limit, kept in this process's memory.

The callback routes are exempt from Flask-Limiter: its storage (Redis in production) costs two or more round
trips per request, more than the rest of a push. Each worker process counts instead, per source address and
per URL, in a sliding window counter (the previous fixed window's count weighted by how much of it still
overlaps the moving window, plus the current window's count): O(1) memory per address, no I/O, no thread.

The limit is per process: with N gunicorn workers an address can get up to N x CALLBACK_RATE_LIMIT through.
That is enough for its purpose (a flood from one address is cut off quickly, WeChat's own pushes - a ticket
every ten minutes and one per event - stay far below it).
"""

import threading
import time

from limits import parse

MAX_KEYS = 10_000  # addresses remembered before stale ones are dropped


class SlidingWindowLimiter:
    """`hit(key)` is True while `key` stays within `amount` per `seconds`, False once it is over."""

    def __init__(self, amount, seconds, clock=time.monotonic):
        if amount < 1 or seconds <= 0:
            raise ValueError("a rate limit needs a positive amount and period")
        self.amount, self.seconds, self._clock = amount, float(seconds), clock
        self._windows = {}  # key -> [window number, hits in it, hits in the window before]
        self._lock = threading.Lock()

    @classmethod
    def from_string(cls, text, **kwargs):
        """From Flask-Limiter's notation, e.g. "600 per minute" (the first limit if several are given)."""
        item = parse(text)
        return cls(item.amount, item.get_expiry(), **kwargs)

    def hit(self, key):
        now = self._clock()
        number, into = divmod(now, self.seconds)
        with self._lock:
            entry = self._windows.get(key)
            if entry is None or number - entry[0] > 1:
                entry = self._windows[key] = [number, 0, 0]
            elif number != entry[0]:
                entry[0], entry[1], entry[2] = number, 0, entry[1]
            if entry[2] * (1.0 - into / self.seconds) + entry[1] >= self.amount:
                return False
            entry[1] += 1
            if len(self._windows) > MAX_KEYS:
                self._forget_stale(number)
            return True

    def _forget_stale(self, number):
        for key in [k for k, entry in self._windows.items() if number - entry[0] > 1]:
            del self._windows[key]
