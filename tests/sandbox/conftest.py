"""Fixtures for the sandbox's own tests: one sandbox server per session over real HTTP (port 0), reset
before every test through the control API, a push receiver that decrypts with wechatpy (an independent
implementation), and a ``platform`` helper that registers a component pointing at that receiver.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from wechatpy.crypto import WeChatCrypto  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

from sandbox.server import start_background  # noqa: E402
from tests.sandbox.helpers import random_key  # noqa: E402

SANDBOX_OPTIONS = {"ticket_interval": 600, "push_timeout": 0.5, "push_retries": 3, "push_retry_delay": 0.02,
                   "audit_delay": 60, "privacy_scan_seconds": 30, "tick_interval": 0.05}


@pytest.fixture(scope="session")
def sandbox_server():
    handle = start_background(host="127.0.0.1", port=0, **SANDBOX_OPTIONS)
    yield handle
    handle.stop()


class Api:
    """requests with the sandbox base URL; ``call`` returns the decoded JSON."""

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()

    def post(self, url_path, json=None, **params):
        return self.session.post(self.base + url_path, json=json, params=params or None, timeout=10)

    def get(self, url_path, **params):
        return self.session.get(self.base + url_path, params=params or None, timeout=10)

    def call(self, url_path, json=None, method="POST", **params):
        resp = self.post(url_path, json, **params) if method == "POST" else self.get(url_path, **params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def calls(self, **filters) -> dict:
        return self.call("/sandbox/calls", method="GET", **filters)

    def advance(self, seconds, wait=True):
        return self.call("/sandbox/clock", {"advance": seconds, "wait": wait})


@pytest.fixture
def api(sandbox_server):
    client = Api(sandbox_server.url)
    client.call("/sandbox/reset", {})
    return client


class Receiver:
    """A tiny platform server: records pushes, decrypts them with wechatpy, answers as told."""

    def __init__(self):
        self.lock = threading.Lock()
        self.crypto: dict[str, WeChatCrypto] = {}
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.clear()

    def clear(self):
        with self.lock:
            self.requests: list[dict] = []
            self.answer, self.delay, self.fail_first = "success", 0.0, 0

    def wsgi(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            failing = self.fail_first > 0
            self.fail_first -= 1 if failing else 0
            answer, delay = ("error" if failing else self.answer), self.delay
        entry = {"path": request.path, "query": {k: v[0] for k, v in parse_qs(request.query_string.decode()).items()},
                 "body": request.get_data(as_text=True), "time": time.time()}
        entry["xml"] = self._decrypt(entry)
        with self.lock:
            self.requests.append(entry)
        if delay:
            time.sleep(delay)
        return Response(answer)(environ, start_response)

    def _decrypt(self, entry) -> dict | None:
        from xml.etree import ElementTree

        from wechatpy.utils import to_text

        query = entry["query"]
        for crypto in list(self.crypto.values()):
            try:
                plain = crypto.decrypt_message(entry["body"], query["msg_signature"], query["timestamp"],
                                               query["nonce"])
            except Exception:
                continue
            root = ElementTree.fromstring(to_text(plain))
            return {child.tag: child.text for child in root}
        return None

    def events(self, kind=None) -> list[dict]:
        with self.lock:
            items = [r["xml"] for r in self.requests if r["xml"]]
        return [x for x in items if kind in (None, x.get("InfoType"), x.get("Event"))]

    def wait_for(self, kind, count=1, timeout=5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(kind)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} {kind} push(es), got {self.events(kind)}")


@pytest.fixture(scope="session")
def _receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def receiver(_receiver):
    _receiver.clear()
    return _receiver


class Platform:
    """A registered component plus shortcuts for the usual WeChat handshakes."""

    def __init__(self, api: Api, receiver: Receiver, **options):
        self.api, self.receiver = api, receiver
        self.appid = "wx" + secrets.token_hex(8)
        self.secret, self.token, self.aes_key = secrets.token_hex(16), random_key(12), random_key()
        receiver.crypto[self.appid] = WeChatCrypto(self.token, self.aes_key, self.appid)
        spec = {"component_appid": self.appid, "component_appsecret": self.secret, "token": self.token,
                "encoding_aes_key": self.aes_key, "auth_event_url": receiver.url + "/wechat/auth",
                "message_url": receiver.url + "/wechat/msg/$APPID$", "name": "Test Platform",
                "authorized_domains": ["portal.example.com"], "rotate_refresh_tokens": True, **options}
        self.registration = api.call("/sandbox/components", spec)
        self.ticket = self.registration["ticket"]

    def component_token(self) -> str:
        data = self.api.call("/cgi-bin/component/api_component_token",
                             {"component_appid": self.appid, "component_appsecret": self.secret,
                              "component_verify_ticket": self.ticket})
        assert "component_access_token" in data, data
        return data["component_access_token"]

    @property
    def own(self) -> dict:
        """The body field component-token calls carry: ``component_appid`` naming this platform."""
        return {"component_appid": self.appid}

    def new_miniprogram(self, **fields) -> str:
        return self.api.call("/sandbox/miniprograms", fields)["appid"]

    def authorize(self, appid: str, wait=True) -> dict:
        return self.api.call("/sandbox/authorize", {"component_appid": self.appid, "authorizer_appid": appid,
                                                    "wait": wait})

    def authorized_miniprogram(self, **fields) -> tuple[str, dict]:
        """Create + authorize a mini-program; return (appid, authorization_info)."""
        appid = self.new_miniprogram(**fields)
        code = self.authorize(appid)["auth_code"]
        info = self.api.call("/cgi-bin/component/api_query_auth",
                             {"component_appid": self.appid, "authorization_code": code},
                             component_access_token=self.component_token())
        return appid, info["authorization_info"]


@pytest.fixture
def platform(api, receiver):
    return Platform(api, receiver)


@pytest.fixture
def make_platform(api, receiver):
    return lambda **options: Platform(api, receiver, **options)


@pytest.fixture
def mp(platform):
    """An authorized mini-program: (appid, authorizer access token)."""
    appid, info = platform.authorized_miniprogram(nick_name="测试小程序")
    return appid, info["authorizer_access_token"]
