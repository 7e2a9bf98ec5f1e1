"""Failed logins slow down instead of locking an account.

Failures are counted per (account, IP) pair and per IP, in the rate limiter's own storage (Redis when
there is one, else this process's memory), never per account alone: a stranger who guesses at an
account from elsewhere only slows their own attempts, and the owner still logs in. Past a number of free
failures each further failure makes the next attempt from that pair (or IP) wait, 2 s and doubling up to a
ceiling; a wait is answered at once ("try again in N seconds") rather than by holding a worker thread.

Takes plain arguments (email, IP, settings); reads no request.
"""

import hashlib
import time

from portal.extensions import limiter

_FIRST_DELAY_SECONDS = 2


def _subject(email, ip):
    """(pair key, IP key); the email is hashed so the storage holds no addresses."""
    digest = hashlib.sha256((email or "").strip().lower().encode("utf-8")).hexdigest()[:32]
    return f"{digest}:{ip or '-'}", ip or "-"


def _keys(email, ip, settings):
    pair, addr = _subject(email, ip)
    return (("pair:" + pair, int(settings["LOGIN_FREE_FAILURES"])),
            ("ip:" + addr, int(settings["LOGIN_IP_FREE_FAILURES"])))


def seconds_to_wait(email, ip, settings):
    """Whole seconds before this pair may try again (0: now)."""
    storage, now = limiter.storage, time.time()
    waits = [storage.get_expiry("login-wait:" + key) - now
             for key, _ in _keys(email, ip, settings) if storage.get("login-wait:" + key) > 0]
    # Redis reports whole seconds left, memory storage fractions: round, but never to zero while waiting
    return max([0] + [max(1, round(w)) for w in waits if w > 0])


def delay_after(failures, free, ceiling):
    """The wait after the `failures`-th failure in a row: none while free, then 2, 4, 8 … seconds."""
    if failures < free:
        return 0
    return min(int(ceiling), _FIRST_DELAY_SECONDS * 2 ** min(failures - free, 30))


def record_failure(email, ip, settings):
    """Count one failed login; returns the seconds the next attempt must wait (0: none)."""
    storage, window = limiter.storage, int(settings["LOGIN_FAILURE_WINDOW_SECONDS"])
    longest = 0
    for key, free in _keys(email, ip, settings):
        failures = storage.incr("login-fail:" + key, window)
        delay = delay_after(failures, free, settings["LOGIN_MAX_DELAY_SECONDS"])
        if delay:
            # the wait key's lifetime is the wait: set afresh, as incr keeps the expiry of a live key
            storage.clear("login-wait:" + key)
            storage.incr("login-wait:" + key, delay)
            longest = max(longest, delay)
    return longest


def record_success(email, ip, settings):
    """A successful login forgets the pair's failures (the IP's stay counted)."""
    pair_key = _keys(email, ip, settings)[0][0]
    limiter.storage.clear("login-fail:" + pair_key)
    limiter.storage.clear("login-wait:" + pair_key)
