"""RQ entry points. Job functions take ids only, load rows, call one service and return a small dict.

No import-time side effects: `worker.py` imports this package once before forking workers.
"""

from portal.jobs import audits, authorization, callbacks, fleet, releases, tokens  # noqa: E402,F401 - job modules, loaded before forking
