"""Test helpers for the WeChat client layer: a scripted HTTP server on 127.0.0.1 and an in-memory TokenStore.

The server is a real werkzeug server in a thread, so the client under test goes through requests, urllib3 and
sockets exactly as in production; responses are scripted per path. Nothing here is used by the portal.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Reply:
    """One scripted answer; ``body`` may be a dict (JSON), bytes or str."""

    body: Any = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    status: int = 200
    content_type: str = "application/json; charset=utf-8"
    delay: float = 0.0

    def render(self) -> Response:
        if self.delay:
            time.sleep(self.delay)
        body = self.body
        if isinstance(body, dict | list):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return Response(body, status=self.status, content_type=self.content_type)


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    args: dict[str, str]
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        pass


class ScriptedServer:
    """HTTP server answering each path from a queue of `Reply` objects (default: errcode 0)."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._scripts: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    def on(self, path: str, *replies: Any) -> None:
        """Queue replies for ``path``: `Reply`, a dict (JSON 200) or a callable(Seen) -> Reply/dict."""
        with self._lock:
            self._scripts[path].extend(replies)

    def seen(self, path: str | None = None) -> list[Seen]:
        return [r for r in self.requests if path is None or r.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        seen = Seen(request.method, request.path, dict(request.args), request.get_data(),
                    dict(request.headers))
        with self._lock:
            self.requests.append(seen)
            queue = self._scripts.get(request.path)
            reply = queue.popleft() if queue else Reply()
        if callable(reply) and not isinstance(reply, Reply):
            reply = reply(seen)
        if isinstance(reply, dict):
            reply = Reply(reply)
        return reply.render()(environ, start_response)


class MemoryTokenStore:
    """TokenStore for tests: hands out ``<prefix>-<n>`` tokens and records invalidations.

    ``invalidate_*`` is compare-and-invalidate: it drops the cached token only if it equals the failed one.
    """

    def __init__(self) -> None:
        self.component: str | None = None
        self.authorizer: dict[str, str] = {}
        self.issued = 0
        self.invalidations: list[tuple[str | None, str]] = []

    def _issue(self, prefix: str) -> str:
        self.issued += 1
        return f"{prefix}-secret-token-{self.issued}"

    def get_component_token(self) -> str:
        if self.component is None:
            self.component = self._issue("component")
        return self.component

    def get_authorizer_token(self, appid: str) -> str:
        if appid not in self.authorizer:
            self.authorizer[appid] = self._issue(f"authorizer-{appid}")
        return self.authorizer[appid]

    def invalidate_component_token(self, failed_token: str) -> None:
        self.invalidations.append((None, failed_token))
        if self.component == failed_token:
            self.component = None

    def invalidate_authorizer_token(self, appid: str, failed_token: str) -> None:
        self.invalidations.append((appid, failed_token))
        if self.authorizer.get(appid) == failed_token:
            del self.authorizer[appid]
