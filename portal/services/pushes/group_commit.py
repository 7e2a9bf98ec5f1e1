"""Group commit: pushes that arrive at the same time in one process are stored in one transaction.

Every push must be stored before WeChat gets `success`, and a transaction per push costs a connection
check-out (with its ping), one round trip per statement and a commit each. Here the first request thread
that finds no write in progress becomes the writer: it takes every push waiting at that moment, writes them
with the function it is given (one transaction), wakes their threads, and passes the writer's role to the
oldest push that queued meanwhile, so no thread writes for others for long. Each thread answers only once
its own push is committed (or its error is known). With a single request at a time this is one push per
transaction, and a lone push waits for no one. Nothing here knows about WeChat or the database; the
write function does.
"""

import threading


class _Waiting:
    __slots__ = ("item", "woken", "leads", "result", "error")

    def __init__(self, item):
        self.item, self.woken, self.leads = item, threading.Event(), False
        self.result = self.error = None


class GroupCommitter:
    """`submit(item)` returns `write_all([...items])`'s result for `item`, written together with whatever
    other threads submit meanwhile. `write_all` returns one (result or exception) per item, in order.
    `on_idle()` runs, still in the writer's role, when a writer finds nothing more queued (to give back a
    connection the writers shared while pushes kept coming)."""

    def __init__(self, write_all, max_batch=64, on_idle=None):
        self._write_all, self.max_batch, self._on_idle = write_all, max_batch, on_idle
        self._lock = threading.Lock()
        self._queue = []
        self._writing = False

    def submit(self, item):
        waiting = _Waiting(item)
        with self._lock:
            self._queue.append(waiting)
            leads = waiting.leads = not self._writing
            self._writing = True
        if not leads:
            waiting.woken.wait()
        if waiting.leads:
            self._lead()
        if waiting.error is not None:
            raise waiting.error
        return waiting.result

    def _lead(self):
        with self._lock:
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
        try:
            outcomes = self._write_all([w.item for w in batch])
        except BaseException as exc:  # noqa: BLE001 - every waiting thread learns of it, then it goes on up
            outcomes = [exc] * len(batch)
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                waiting.error = outcome
            else:
                waiting.result = outcome
        for waiting in batch:
            waiting.woken.set()
        successor = self._hand_over()
        if successor is not None:
            successor.woken.set()

    def _hand_over(self):
        """The next writer (the oldest push queued), or None once nothing waits and the role is given up."""
        with self._lock:
            if self._queue:
                self._queue[0].leads = True
                return self._queue[0]
        if self._on_idle is not None:
            try:
                self._on_idle()
            except Exception:  # noqa: BLE001 - only a clean-up; the pushes are written already
                pass
        with self._lock:
            if self._queue:
                self._queue[0].leads = True
                return self._queue[0]
            self._writing = False
            return None
