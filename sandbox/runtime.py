"""One running sandbox: options, clock, state, call records, quotas, faults, pushes, the receivers standing
in for the operator's systems, and the scheduler.

``Sandbox`` is created by ``create_app`` and stored in ``app.extensions["sandbox"]``; views reach it through
``current_sandbox()``. It owns the background threads (push workers, ticker) and stops them in ``close``.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import current_app

from .calls import CallRecorder, QuotaBook
from .clock import SandboxClock
from .faults import FaultBook
from .options import SandboxOptions
from .pushes import PushDispatcher
from .receivers import ReceiverBook
from .scheduler import Scheduler
from .state import SandboxState

log = logging.getLogger(__name__)


class Sandbox:
    def __init__(self, options: SandboxOptions):
        self.options = options
        self.clock = SandboxClock(options.clock_speed)
        self.state = SandboxState()
        self.calls = CallRecorder(options.call_history)
        self.quotas = QuotaBook(options.default_daily_quota)
        self.faults = FaultBook()
        self.pushes = PushDispatcher(options, self.faults)
        self.receivers = ReceiverBook()
        self.scheduler = Scheduler(self)
        self._saved_at = 0.0
        self._save_lock = threading.Lock()  # the ticker and close() may both save
        if options.state_file and self.state.load(options.state_file):
            log.info("sandbox state loaded from %s", options.state_file)

    def now(self) -> float:
        return self.clock.now()

    @staticmethod
    def wall_time() -> int:
        return int(time.time())

    def start(self) -> None:
        self.scheduler.start()

    def reset(self) -> None:
        """Back to empty: state, records, quotas, faults, clock; queued pushes are cancelled."""
        self.state.clear()
        self.calls.reset()
        self.quotas.reset()
        self.faults.clear()
        self.pushes.reset()
        self.receivers.reset()
        self.clock.reset()
        if self.clock.speed != self.options.clock_speed:
            self.clock.set_speed(self.options.clock_speed)

    def autosave(self, force: bool = False) -> None:
        """Write the state file at most every 2 s (and on close)."""
        if not self.options.state_file or not (self.state.dirty or force):
            return
        with self._save_lock:
            if force or time.monotonic() - self._saved_at >= 2.0:
                self.state.save(self.options.state_file)
                self._saved_at = time.monotonic()

    def close(self) -> None:
        self.scheduler.stop(wait=True)
        self.pushes.stop()
        self.autosave(force=True)


def current_sandbox() -> Sandbox:
    return current_app.extensions["sandbox"]
