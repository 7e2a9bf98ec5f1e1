"""Use counts of API keys: tallied in each process and written to `api_keys` at most once a second.

A served call adds to the tally its process keeps (`coordination().here`). The first call after a write
starts a one-shot timer; when it fires, the tally is taken and written with one UPDATE per key
(`use_count + n`, and `last_used_at` the later of the stored and the tallied time). A burst of calls thus
costs one write, and calls never wait on the key's row lock or on a commit. A killed process loses at most
the last `API_USAGE_FLUSH_SECONDS` of counts (a count, never a credential); one that stops normally writes
what it holds at exit. Rows are matched by id and key hash, so a tally never lands on another key.
"""

import atexit
import logging
import threading

from flask import current_app
from sqlalchemy import case, update

from portal.coordination import coordination
from portal.extensions import db
from portal.models import ApiKey
from portal.timeutil import utcnow

log = logging.getLogger("portal.api")


class _Tally:
    """Calls per key not yet written: {(key id, key hash): (count, last use)}."""

    def __init__(self, app):
        self.app, self.guard, self.uses, self.timer = app, threading.Lock(), {}, None
        atexit.register(self.write)

    def add(self, row, count, when, delay):
        with self.guard:
            before, _last = self.uses.get(row, (0, when))
            self.uses[row] = (before + count, max(when, _last))
            if self.timer is None:
                self.timer = threading.Timer(delay, self.write)
                self.timer.daemon = True
                self.timer.start()

    def write(self):
        with self.guard:
            uses, self.uses, self.timer = self.uses, {}, None
        if not uses:
            return
        try:
            with self.app.app_context(), db.engine.begin() as conn:
                for (key_id, key_hash), (count, when) in sorted(uses.items()):  # one lock order everywhere
                    conn.execute(update(ApiKey).where(ApiKey.id == key_id, ApiKey.key_hash == key_hash).values(
                        use_count=ApiKey.use_count + count,
                        last_used_at=case((ApiKey.last_used_at.is_(None) | (ApiKey.last_used_at < when), when),
                                          else_=ApiKey.last_used_at)))
        except Exception:  # noqa: BLE001 - kept for the next write; a count must never fail a call
            log.warning("could not write the use counts of %d API key(s); trying again", len(uses), exc_info=True)
            for row, (count, when) in uses.items():
                self.add(row, count, when, self.app.config.get("API_USAGE_FLUSH_SECONDS", 1.0))


def record_use(caller):
    """Count one served call of `caller`'s key (written within API_USAGE_FLUSH_SECONDS)."""
    app = current_app._get_current_object()
    tally = coordination(app).here("api_key_uses", lambda: _Tally(app))
    tally.add((caller.id, caller.key_hash), 1, utcnow(), float(app.config.get("API_USAGE_FLUSH_SECONDS", 1.0)))
