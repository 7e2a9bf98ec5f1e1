"""Named mutual exclusion across threads and processes, through the app's coordination: a Redis lock
(`SET NX PX`, released by compare-and-delete) when Redis is configured, else a per-name thread lock
(embedded mode is one process).
"""

from contextlib import contextmanager

from portal.coordination import LockBusy, coordination


@contextmanager
def named_lock(name, ttl_ms=20_000, wait_seconds=25.0, this_process_only=False):
    """Hold lock `name` for the block. :raise LockBusy: not free within `wait_seconds`.

    `this_process_only`: a thread lock of this process only (a caller whose shared store is down and that
    can live with that)."""
    with coordination().lock(name, ttl_ms=ttl_ms, wait_seconds=wait_seconds,
                             this_process_only=this_process_only):
        yield


__all__ = ["LockBusy", "named_lock"]
