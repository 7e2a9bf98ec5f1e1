"""Fixtures for the WeChat client tests: a scripted local HTTP server, a token store and a fast client."""

from __future__ import annotations

import pytest
import requests

from portal.wechat import WeChatClient, WeChatConfig
from tests.wechat.testkit import MemoryTokenStore, ScriptedServer

COMPONENT_APPID = "wx0000component01"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def server():
    srv = ScriptedServer()
    yield srv
    srv.close()


@pytest.fixture
def tokens():
    return MemoryTokenStore()


@pytest.fixture
def calls():
    """Observer records of the client made by `make_client`."""
    return []


@pytest.fixture
def sleeps():
    """Backoff delays the client asked for (recorded instead of slept, so tests stay fast)."""
    return []


@pytest.fixture
def make_client(server, tokens, calls, sleeps):
    sessions = []

    def factory(**overrides):
        settings = dict(component_appid=COMPONENT_APPID, component_appsecret="test-appsecret-value",
                        token="callbacktoken", encoding_aes_key=AES_KEY, api_base=server.url,
                        mp_base="https://mp.example.test", open_base="https://open.example.test",
                        connect_timeout=1.0, read_timeout=2.0, max_retries=2, backoff_base=0.01,
                        backoff_max=0.05)
        settings.update(overrides)
        session = requests.Session()
        sessions.append(session)
        return WeChatClient(WeChatConfig(**settings), session, tokens, observer=calls.append,
                            sleep=sleeps.append)

    yield factory
    for session in sessions:
        session.close()


@pytest.fixture
def client(make_client):
    return make_client()
