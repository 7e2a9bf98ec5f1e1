"""RQ entry points. Job functions take ids only, load rows, call one service and return a small dict.

No import-time side effects: `worker.py` imports this package once before forking workers.
"""
