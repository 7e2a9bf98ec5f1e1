"""Running the sandbox: a waitress server, in the foreground or on a background thread.

``start_background(host="127.0.0.1", port=0, **options)`` is what test fixtures and the demo use: it binds
(port 0 = any free port), serves on a daemon thread and returns a ``SandboxServer`` handle with ``url``,
``app``, ``sandbox`` and ``stop()``.

Like WeChat's servers, it keeps HTTP/1.1 connections open between calls, so the portal's connection pool is
used as in production (and a call costs no new connection: werkzeug's development server closes every one).
Slow (fault-injected) calls never hold others up: each runs in one of THREADS worker threads, far more than
the portal ever has calls in flight. A connection left idle for IDLE_SECONDS is closed, as servers do.
"""

from __future__ import annotations

import logging
import threading

from waitress.server import create_server

from . import create_app
from .options import SandboxOptions

THREADS = 64
IDLE_SECONDS = 15
log = logging.getLogger("sandbox.http")


def _logged(app):
    """The app, writing one line per request (``--verbose``)."""

    def logging_app(environ, start_response):
        def start(status, headers, exc_info=None):
            log.info("%s %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logging_app


class SandboxServer:
    """Handle of a running sandbox server."""

    def __init__(self, app, server, thread: threading.Thread | None = None):
        self.app = app
        self.server = server
        self.thread = thread
        self.sandbox = app.extensions["sandbox"]
        self.host, self.port = server.effective_host, server.effective_port
        self.url = f"http://{self.host}:{self.port}"
        self._stopped = False

    def serve(self) -> None:
        """Serve until ``stop()`` (from another thread) or Ctrl-C."""
        try:
            self.server.run()
        except (OSError, ValueError):  # the loop's sockets were closed under it by stop()
            if not self._stopped:
                raise

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # waitress' own test servers stop this way: close every socket of the loop (listener, trigger and open
        # connections, which ends the loop), then let the worker threads finish what they run
        for channel in list(self.server._map.values()):
            try:
                channel.close()
            except OSError:
                pass
        self.server.task_dispatcher.shutdown(timeout=5)
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.sandbox.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def make_sandbox_server(host: str = "127.0.0.1", port: int = 0, options: SandboxOptions | dict | None = None,
                        **kwargs) -> SandboxServer:
    app = create_app(options, **kwargs)
    quiet = app.extensions["sandbox"].options.quiet
    server = create_server(app if quiet else _logged(app), host=host, port=port, threads=THREADS,
                           connection_limit=10_000, channel_timeout=IDLE_SECONDS, cleanup_interval=5,
                           asyncore_use_poll=True, ident="sandbox")
    return SandboxServer(app, server)


def start_background(host: str = "127.0.0.1", port: int = 0, options: SandboxOptions | dict | None = None,
                     **kwargs) -> SandboxServer:
    """Start a sandbox on a daemon thread; returns the handle (``handle.url``, ``handle.stop()``)."""
    handle = make_sandbox_server(host, port, options, **kwargs)
    handle.thread = threading.Thread(target=handle.serve, name="sandbox-server", daemon=True)
    handle.thread.start()
    return handle


def serve_forever(host: str, port: int, options: SandboxOptions | dict | None = None, **kwargs) -> None:
    handle = make_sandbox_server(host, port, options, **kwargs)
    try:
        handle.serve()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
