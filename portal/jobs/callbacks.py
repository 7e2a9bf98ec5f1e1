"""Callback jobs: the periodic drain of the push stream (CALLBACK_ACKNOWLEDGE=queued)."""

from portal.services import push_queue


def drain_queued_pushes():
    """Store pushes acknowledged from the Redis stream and forget consumers of processes long gone."""
    return push_queue.drain_periodically()
