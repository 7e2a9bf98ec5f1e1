"""Things that happen by themselves as sandbox time passes: ticket pushes and audits.

A ticker thread calls ``run_due`` every ``tick_interval`` real seconds; ``POST /sandbox/clock`` calls it
right after moving the clock, so advancing time has immediate, observable effects. Due work is collected
under the state lock, and pushes are sent after it is released.
"""

from __future__ import annotations

import logging
import threading

from . import audits
from .registry import push_ticket

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, sb):
        self.sb = sb
        self._stop = threading.Event()
        self._run_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="sandbox-ticker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: bool = False) -> None:
        self._stop.set()
        if wait and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.sb.options.tick_interval):
            try:
                self.run_due()
                self.sb.autosave()
            except Exception:  # the ticker must survive anything a single job does
                log.exception("sandbox scheduler tick failed")

    def run_due(self, wait: bool = False) -> int:
        """Run every job whose sandbox time has come; return how many ran."""
        with self._run_lock:
            done = 0
            for component_appid in self._due_tickets():
                push_ticket(self.sb, component_appid, wait=wait)
                done += 1
            while True:
                audit_ids = audits.due_audits(self.sb)
                if not audit_ids:
                    return done
                for auditid in audit_ids:
                    audits.decide_due(self.sb, auditid, wait=wait)
                    done += 1

    def _due_tickets(self) -> list[str]:
        now = self.sb.now()
        with self.sb.state.lock:
            return [c.component_appid for c in self.sb.state.components.values()
                    if c.ticket_interval and c.ticket_interval > 0 and c.next_ticket_at
                    and c.next_ticket_at <= now]
