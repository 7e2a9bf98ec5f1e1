"""The operator's system in the forwarding benchmark: a bare WSGI app (run under gunicorn) that answers 200
to every forwarded push and records its arrival: one line per push, "<arrival epoch seconds>\t<push id>\t
<Content>", appended to a file of its own process in BENCH_RECEIVER_DIR (one write per push, O_APPEND, so
threads never interleave lines). It checks nothing: it stands for a target that is never the bottleneck,
and the benchmark measures its capacity alone to show it."""

import json
import os
import time

_DIR = os.environ.get("BENCH_RECEIVER_DIR", ".")
_files = {}  # pid -> fd: gunicorn forks the workers after import, each writes its own file


def _fd():
    pid = os.getpid()
    fd = _files.get(pid)
    if fd is None:
        fd = _files[pid] = os.open(os.path.join(_DIR, f"received-{pid}.tsv"),
                                   os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    return fd


def app(environ, start_response):
    arrived = time.time()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    try:
        content = str(json.loads(body).get("Content", ""))
    except ValueError:
        content = ""
    push_id = environ.get("HTTP_X_PORTAL_PUSH_ID", "")
    os.write(_fd(), f"{arrived:.6f}\t{push_id}\t{content}\n".encode())
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
