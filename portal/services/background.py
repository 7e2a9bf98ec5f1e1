"""Bookkeeping a worker process does beside its jobs, in one daemon thread with its own app context:
the coordinator tick a fleet step asks for as it ends, and WeChat call-log rows. A job hands these over
and returns, so the worker's next job (and its next WeChat call) starts at once instead of after a few
database round trips that need not hold it up.

Only `python worker.py` turns it on (BACKGROUND_BOOKKEEPING); elsewhere `run_later` answers False and the
caller does the work itself. The bookkeeper belongs to the app (kept by its coordination). Losing what is
pending (the process is killed) costs nothing lasting: the periodic tick hands out what a lost tick would
have, and the call log is best effort. Imports no service.
"""

import logging
import queue
import threading

from flask import current_app

from portal.coordination import coordination

log = logging.getLogger("portal.background")


class Bookkeeper:
    """One thread running submitted calls in order; a call submitted again with the same `key` while the
    first is still waiting runs once."""

    def __init__(self, app):
        self.app, self.queue, self.waiting, self.guard = app, queue.SimpleQueue(), set(), threading.Lock()
        self.thread = None  # started with the first call submitted

    def submit(self, key, func, *args):
        with self.guard:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="bookkeeper", daemon=True)
                self.thread.start()
            if key is not None:
                if key in self.waiting:
                    return
                self.waiting.add(key)
        self.queue.put((key, func, args))

    def _run(self):
        while True:
            key, func, args = self.queue.get()
            with self.guard:
                self.waiting.discard(key)
            try:
                with self.app.app_context():
                    func(*args)
            except Exception:  # noqa: BLE001 - bookkeeping must never stop the thread
                log.exception("background %s failed", getattr(func, "__name__", func))


def run_later(key, func, *args):
    """Run `func(*args)` in this process's bookkeeping thread, in an app context of its own; True if it was
    handed over, False when this process does no background bookkeeping (the caller runs it itself)."""
    app = current_app._get_current_object()
    if not app.config.get("BACKGROUND_BOOKKEEPING"):
        return False
    coordination(app).here("bookkeeper", lambda: Bookkeeper(app)).submit(key, func, *args)
    return True
