"""WeChat's pushes, from the callback URL to the rows they change.

`receive` checks a push and stores it (several at once through `group_commit`), or with
CALLBACK_ACKNOWLEDGE=spooled/queued writes it to the `spool` (a local file) or the `stream` (Redis) for a
drainer to store later with `store_queued`. The spool and the stream are given that function; they import
nothing back from here.
"""

from portal.services.pushes.receiving import (
    CallbackRejected,
    Receipt,
    is_deferred,
    log_push,
    receive,
    recent_events,
    store_queued,
    waiting_pushes,
)

__all__ = ["CallbackRejected", "Receipt", "is_deferred", "log_push", "receive", "recent_events", "store_queued", "waiting_pushes"]
