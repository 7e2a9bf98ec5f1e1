"""The WeChat client reads the proxy variables of the environment once, when it is built, for WeChat's host:
a proxy set there carries the calls, and NO_PROXY naming the host sends them straight to it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.services.wechat import build_client


def _answering(name):
    """A loopback HTTP server answering every GET with {"errcode": 0, "via": name, "path": <request target>}."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            body = json.dumps({"errcode": 0, "via": name, "path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers():
    wechat, proxy = _answering("wechat"), _answering("proxy")
    yield f"http://127.0.0.1:{wechat.server_port}", f"http://127.0.0.1:{proxy.server_port}"
    for server in (wechat, proxy):
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_a_proxy_of_the_environment_carries_the_calls(make_app, servers, proxy_env):
    wechat, proxy = servers
    proxy_env.setenv("HTTP_PROXY", proxy)
    client = build_client(make_app(WECHAT_API_BASE=wechat))

    answer = client.http.call("GET", "/cgi-bin/check", api="check", idempotent=True)

    assert answer["via"] == "proxy"
    assert answer["path"] == wechat + "/cgi-bin/check"  # a proxy is sent the absolute URL


def test_no_proxy_naming_wechats_host_goes_straight_to_it(make_app, servers, proxy_env):
    wechat, proxy = servers
    proxy_env.setenv("HTTP_PROXY", proxy)
    proxy_env.setenv("NO_PROXY", "127.0.0.1")
    client = build_client(make_app(WECHAT_API_BASE=wechat))

    answer = client.http.call("GET", "/cgi-bin/check", api="check", idempotent=True)

    assert answer == {"errcode": 0, "via": "wechat", "path": "/cgi-bin/check"}
