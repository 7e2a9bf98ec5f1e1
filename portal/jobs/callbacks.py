"""Callback jobs: the periodic drain of pushes acknowledged before the database write (the Redis push stream
with CALLBACK_ACKNOWLEDGE=queued, the push spool of the worker's host with =spooled)."""

from flask import current_app

from portal.services import push_queue, push_spool


def drain_queued_pushes():
    """Store pushes acknowledged from the Redis stream and forget consumers of processes long gone; store
    what waits in this host's push spool (web processes on the same host whose drainers are gone)."""
    result = push_queue.drain_periodically()
    app = current_app._get_current_object()
    if push_spool.has_work(app):
        result["stored"] += push_spool.drain_all(app)
    return result
