"""Background work below the services: queues and the one `enqueue` (by dotted job name), the periodic
schedule, and the worker's run loop.

Services enqueue `"portal.jobs.<module>.<function>"` through `enqueue`/`enqueue_in` and never import
`portal.jobs`; the worker (RQ) or the embedded runner (`portal.coordination`) imports the entry point when
the job runs.
"""

from portal.queueing.queues import (
    QUEUE_ORDER,
    SERIALIZER,
    enqueue,
    enqueue_in,
    get_queue,
    is_live,
    job_state,
    safe_job_id,
)

__all__ = ["QUEUE_ORDER", "SERIALIZER", "enqueue", "enqueue_in", "get_queue", "is_live", "job_state", "safe_job_id"]
