"""The named job queues, with each one's timeouts and the job serializer: what both implementations and
the RQ worker agree on. Imports RQ only."""

from dataclasses import dataclass
from types import MappingProxyType

from rq import Queue
from rq.serializers import JSONSerializer


@dataclass(frozen=True)
class QueueSpec:
    name: str
    job_timeout: int  # seconds a job may run
    result_ttl: int  # seconds a finished job's result is kept


QUEUES = MappingProxyType({
    "wechat": QueueSpec("wechat", job_timeout=300, result_ttl=7 * 86400),  # commit, audit, release
    "fleet": QueueSpec("fleet", job_timeout=600, result_ttl=7 * 86400),  # fleet-release steps
    "maintenance": QueueSpec("maintenance", job_timeout=900, result_ttl=86400),  # token refresh, polls
    # pushes sent on to the operator's systems: a slow target holds up only this queue's workers
    "forwarding": QueueSpec("forwarding", job_timeout=900, result_ttl=3600),
})
QUEUE_ORDER = ("wechat", "fleet", "maintenance", "forwarding")

# RQ pickles jobs by default, and unpickling runs whatever the bytes say: anyone who could write to Redis
# could then run code in every worker. Jobs carry ids and strings only, so JSON holds them; every queue,
# worker and fetch names this serializer (a worker given a pickled job fails it without reading it).
SERIALIZER = JSONSerializer


def get_queue(name, connection):
    spec = QUEUES[name]
    return Queue(spec.name, connection=connection, default_timeout=spec.job_timeout, serializer=SERIALIZER)
