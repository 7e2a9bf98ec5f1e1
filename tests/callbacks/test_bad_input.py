"""The callback URLs under hostile or broken input: every bad push gets a 4xx fast, changes nothing,
and a valid push right after still works. Valid pushes are built with wechatpy, an implementation
independent of ours."""

import base64
import hashlib
import os
import struct
import time

import pytest
from Crypto.Cipher import AES
from wechatpy.crypto import WeChatCrypto

TICKET_XML = ("<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>{ts}</CreateTime>"
              "<InfoType><![CDATA[component_verify_ticket]]></InfoType>"
              "<ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>")


@pytest.fixture
def push(platform):
    creds = platform.credentials
    crypto = WeChatCrypto(creds["WECHAT_COMPONENT_TOKEN"], creds["WECHAT_COMPONENT_AES_KEY"], platform.component_appid)
    client = platform.client()

    def send(body=None, ticket="ticket-ok", ts=None, path="/wechat/auth-events", params=None, **override):
        ts = str(ts or int(time.time()))
        nonce = "n" + os.urandom(4).hex()
        if body is None:
            inner = TICKET_XML.format(appid=platform.component_appid, ts=ts, ticket=ticket)
            envelope = crypto.encrypt_message(inner, nonce, ts)
            encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
            signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
            body = f"<xml><AppId><![CDATA[{platform.component_appid}]]></AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            query = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "msg_signature": signature}
        else:
            query = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "msg_signature": "0" * 40}
        query.update(params or {})
        query.update(override)
        started = time.monotonic()
        response = client.post(path, query_string={k: v for k, v in query.items() if v is not None}, data=body,
                                content_type="text/xml")
        return response, time.monotonic() - started, body, query

    return send


def _state(platform):
    from portal.models import CallbackEvent, ComponentAccount

    with platform.app.app_context():
        account = ComponentAccount.query.filter_by(component_appid=platform.component_appid).one_or_none()
        return CallbackEvent.query.count(), account.component_verify_ticket if account else None


def _signed(platform, encrypt, ts, nonce="nonce1"):
    parts = sorted([platform.credentials["WECHAT_COMPONENT_TOKEN"], ts, nonce, encrypt])
    return hashlib.sha1("".join(parts).encode()).hexdigest()


def _raw_encrypt(platform, plaintext: bytes):
    key = base64.b64decode(platform.credentials["WECHAT_COMPONENT_AES_KEY"] + "=")
    pad = 32 - len(plaintext) % 32
    return base64.b64encode(AES.new(key, AES.MODE_CBC, key[:16]).encrypt(plaintext + bytes([pad]) * pad)).decode()


def _hostile_cases(platform):
    appid = platform.component_appid
    now = str(int(time.time()))
    cases = {
        "empty": ("", {}),
        "json": ('{"Encrypt": "abc"}', {}),
        "malformed xml": ("<xml><Encrypt>abc</Encrypt", {}),
        "no encrypt": ("<xml><AppId>x</AppId></xml>", {}),
        "xxe": ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>', {}),
        "billion laughs": ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                           '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
                           "<xml><Encrypt>&d;</Encrypt></xml>", {}),
        "oversize": ("<xml><Encrypt>" + "A" * 70_000 + "</Encrypt></xml>", {}),
    }
    for name, encrypt in {
        "bad base64": "!!!not-base64!!!",
        "random ciphertext": base64.b64encode(os.urandom(96)).decode(),
        "length too large": _raw_encrypt(platform, os.urandom(16) + struct.pack(">I", 10_000) + b"<xml/>" + appid.encode()),
        "other appid": _raw_encrypt(platform, os.urandom(16) + struct.pack(">I", 6) + b"<xml/>" + b"wx0000000000000000"),
    }.items():
        body = f"<xml><AppId>{appid}</AppId><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        cases[name] = (body, {"msg_signature": _signed(platform, encrypt, now), "nonce": "nonce1", "timestamp": now})
    return cases


def test_hostile_pushes_get_4xx_fast_and_change_nothing(platform, push):
    assert push()[0].status_code == 200  # a first valid ticket
    before = _state(platform)
    for name, (body, params) in _hostile_cases(platform).items():
        response, elapsed, _body, _query = push(body=body, params=params)
        assert 400 <= response.status_code < 500, (name, response.status_code)
        assert elapsed < 1.0, (name, elapsed)
        assert _state(platform) == before, name
    response, _elapsed, _body, _query = push(ticket="ticket-after-attacks")
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert _state(platform)[1] == "ticket-after-attacks"


@pytest.mark.parametrize("case", ["missing signature", "wrong signature", "signature param instead",
                                  "stale", "future", "other token"])
def test_signature_and_timestamp_checks(platform, push, case):
    push()
    before = _state(platform)
    old = int(time.time()) - 3600
    if case == "missing signature":
        response = push(ticket="t2", msg_signature=None)[0]
    elif case == "wrong signature":
        response = push(ticket="t2", msg_signature="f" * 40)[0]
    elif case == "signature param instead":  # only the plain URL `signature`, which proves nothing
        response = push(ticket="t2", msg_signature=None, params={"signature": "a" * 40})[0]
    elif case == "stale":
        response = push(ticket="t2", ts=old)[0]
    elif case == "future":
        response = push(ticket="t2", ts=int(time.time()) + 3600)[0]
    else:
        other = WeChatCrypto("other-token", platform.credentials["WECHAT_COMPONENT_AES_KEY"], platform.component_appid)
        ts, nonce = str(int(time.time())), "abc"
        env = other.encrypt_message(TICKET_XML.format(appid=platform.component_appid, ts=ts, ticket="t2"), nonce, ts)
        encrypt = env.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        sig = env.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        response = platform.client().post("/wechat/auth-events", data=f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
                                          query_string={"timestamp": ts, "nonce": nonce, "msg_signature": sig})
    assert 400 <= response.status_code < 500
    assert _state(platform) == before


def test_replayed_push_is_acknowledged_once(platform, push):
    response, _elapsed, body, query = push(ticket="replayed")
    count = _state(platform)[0]
    again = platform.client().post("/wechat/auth-events", query_string=query, data=body, content_type="text/xml")
    assert again.status_code == 200 and again.get_data(as_text=True) == "success"
    assert _state(platform)[0] == count
    from portal.models import CallbackEvent

    with platform.app.app_context():
        assert CallbackEvent.query.order_by(CallbackEvent.id.desc()).first().duplicates == 1


def test_message_url_checks_the_appid_in_the_path(platform, push):
    assert push(path="/wechat/events/not-an-appid")[0].status_code == 404
