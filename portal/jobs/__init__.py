"""RQ entry points, and nothing else. Job functions take ids only, load rows, call one service and return
a small dict. They are enqueued by dotted name (`portal.queueing.enqueue("portal.jobs.releases.commit_job",
...)`), so nothing but `worker.py` imports this package.

No import-time side effects: `worker.py` imports this package once before forking workers.
"""

from portal.jobs import audits, authorization, callbacks, fleet, forwarding, registrations, releases, tokens  # noqa: E402,F401 - job modules, loaded before forking
