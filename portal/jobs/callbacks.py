"""Callback jobs: the periodic drain of pushes acknowledged before the database write (the Redis push stream
with CALLBACK_ACKNOWLEDGE=queued, the push spool of the worker's host with =spooled)."""

from flask import current_app

from portal.services.pushes import spool_drainer, store_queued, stream


def drain_queued_pushes():
    """Store pushes acknowledged from the Redis stream and forget consumers of processes long gone; store
    what waits in this host's push spool (web processes on the same host whose drainers are gone)."""
    result = stream.drain_periodically(store_queued)
    app = current_app._get_current_object()
    if spool_drainer.has_work(app):
        result["stored"] += spool_drainer.drain_all(app, store_queued)
    return result
