"""Running the sandbox: a threaded werkzeug server, in the foreground or on a background thread.

``start_background(host="127.0.0.1", port=0, **options)`` is what test fixtures and the demo use: it binds
(port 0 = any free port), serves on a daemon thread and returns a ``SandboxServer`` handle with ``url``,
``app``, ``sandbox`` and ``stop()``. The server is threaded so slow (fault-injected) calls never block others.
"""

from __future__ import annotations

import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from . import create_app
from .options import SandboxOptions


class QuietRequestHandler(WSGIRequestHandler):
    """Keeps access logs out of test output and benchmarks; HTTP/1.1 for keep-alive clients."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code="-", size="-"):
        if not self.server.quiet:
            super().log_request(code, size)


class SandboxServer:
    """Handle of a running sandbox server."""

    def __init__(self, app, server, thread: threading.Thread | None = None):
        self.app = app
        self.server = server
        self.thread = thread
        self.sandbox = app.extensions["sandbox"]
        self.host, self.port = server.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.sandbox.close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def make_sandbox_server(host: str = "127.0.0.1", port: int = 0, options: SandboxOptions | dict | None = None,
                        **kwargs) -> SandboxServer:
    app = create_app(options, **kwargs)
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    server.quiet = app.extensions["sandbox"].options.quiet
    server.daemon_threads = True
    return SandboxServer(app, server)


def start_background(host: str = "127.0.0.1", port: int = 0, options: SandboxOptions | dict | None = None,
                     **kwargs) -> SandboxServer:
    """Start a sandbox on a daemon thread; returns the handle (``handle.url``, ``handle.stop()``)."""
    handle = make_sandbox_server(host, port, options, **kwargs)
    handle.thread = threading.Thread(target=handle.server.serve_forever, name="sandbox-server", daemon=True)
    handle.thread.start()
    return handle


def serve_forever(host: str, port: int, options: SandboxOptions | dict | None = None, **kwargs) -> None:
    handle = make_sandbox_server(host, port, options, **kwargs)
    try:
        handle.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        handle.server.server_close()
        handle.sandbox.close()
