"""Message crypto: the published vectors, a cross-check against wechatpy, and every rejection path."""

from __future__ import annotations

import base64
import json
import os
import random
import time
from pathlib import Path

import pytest
from Crypto.Cipher import AES
from wechatpy.crypto import WeChatCrypto

from portal.wechat.crypto import MessageCrypto, decode_aes_key, parse_envelope, sha1_signature
from portal.wechat.errors import (
    AppIdMismatch,
    CallbackError,
    DecryptError,
    InvalidAESKey,
    MalformedMessage,
    SignatureMismatch,
)

# Published WXBizMsgCrypt vectors (official WeChat samples and wechatpy's tests), kept with the tests.
VECTORS_PATH = Path(os.environ.get("WECHAT_CRYPTO_VECTORS", Path(__file__).parent / "data" / "crypto-vectors.json"))
VECTORS = json.loads(VECTORS_PATH.read_text("utf-8"))["vectors"]
TOKEN, KEY, APPID = "callbacktoken", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"


def _of(kind):
    return [pytest.param(v, id=v["id"]) for v in VECTORS if v["kind"] == kind]


def test_every_vector_kind_is_covered():
    assert {v["kind"] for v in VECTORS} == {"decrypt", "encrypt", "decrypt_raw"}
    assert len(_of("decrypt")) >= 3 and len(_of("encrypt")) >= 2


def _crypto(v):
    return MessageCrypto(v["token"], v["encoding_aes_key"], v["appid"])


@pytest.mark.parametrize("vector", _of("decrypt"))
def test_decrypt_vectors(vector):
    crypto = _crypto(vector)
    assert crypto.signature(vector["timestamp"], vector["nonce"], vector["encrypt"]) == vector["msg_signature"]
    outer = vector.get("outer_body") or f"<xml><Encrypt><![CDATA[{vector['encrypt']}]]></Encrypt></xml>"
    plain = crypto.decrypt_message(outer, vector["msg_signature"], vector["timestamp"], vector["nonce"])
    if "expected_plaintext" in vector:
        assert plain == vector["expected_plaintext"]
    for name, value in vector.get("expected_fields", {}).items():
        assert f"<{name}><![CDATA[{value}]]></{name}>" in plain
    if "msg_len" in vector:
        assert len(plain.encode("utf-8")) == vector["msg_len"]
    if "url_signature" in vector:
        crypto.verify_url_signature(vector["url_signature"], vector["timestamp"], vector["nonce"])


@pytest.mark.parametrize("vector", _of("encrypt"))
def test_encrypt_vectors_with_fixed_random_prefix(vector):
    crypto = _crypto(vector)
    encrypt = crypto.encrypt(vector["plaintext"], random_prefix=vector["random_prefix"].encode("ascii"))
    assert encrypt == vector["encrypt"]
    reply = crypto.encrypt_reply(vector["plaintext"], vector["nonce"], vector["timestamp"],
                                 random_prefix=vector["random_prefix"].encode("ascii"))
    assert f"<MsgSignature><![CDATA[{vector['msg_signature']}]]></MsgSignature>" in reply
    assert parse_envelope(reply).encrypt == vector["encrypt"]
    assert crypto.decrypt(encrypt) == vector["plaintext"]


@pytest.mark.parametrize("vector", _of("decrypt_raw"))
def test_decrypt_raw_echostr_vectors(vector):
    crypto = _crypto(vector)
    text = crypto.decrypt_echostr(vector["msg_signature"], vector["timestamp"], vector["nonce"], vector["encrypt"])
    assert text and text.isdigit()
    if "negative_nonce" in vector:
        with pytest.raises(SignatureMismatch):
            crypto.decrypt_echostr(vector["msg_signature"], vector["timestamp"], vector["negative_nonce"],
                                   vector["encrypt"])


def test_signature_is_sha1_of_sorted_parts():
    import hashlib

    parts = ["token", "1409735669", "1320562132", "payload"]
    assert sha1_signature(*parts) == hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _payloads():
    rng = random.Random(20240601)
    alphabet = "abcXYZ0123<>&' 中文字符测试审核发布小程序"
    cases = ["", "a", "<xml/>", "中", "审核通过"]
    # Every message length whose padded payload lands on, just before or just after a 32-byte block edge.
    cases += ["x" * n for n in range(0, 80)]
    cases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300))) for _ in range(40)]
    return cases


def test_cross_check_with_wechatpy_both_directions():
    ours = MessageCrypto(TOKEN, KEY, APPID)
    theirs = WeChatCrypto(TOKEN, KEY, APPID)
    for index, text in enumerate(_payloads()):
        message = f"<xml><Content><![CDATA[{text}]]></Content></xml>"
        nonce, ts = str(1000 + index), str(1411525903 + index)
        # wechatpy -> ours
        xml = theirs.encrypt_message(message, nonce, ts)
        envelope = parse_envelope(xml)
        signature = xml.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        assert ours.decrypt_message(xml, signature, ts, nonce) == message
        assert ours.signature(ts, nonce, envelope.encrypt) == signature
        # ours -> wechatpy
        reply = ours.encrypt_reply(message, nonce, ts)
        signature = reply.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        assert theirs.decrypt_message(reply, signature, ts, nonce) == message


def test_ciphertext_is_padded_to_32_byte_blocks():
    crypto = MessageCrypto(TOKEN, KEY, APPID)
    for n in range(0, 70):
        raw = base64.b64decode(crypto.encrypt("y" * n))
        body = 16 + 4 + n + len(APPID)
        assert len(raw) == body + (32 - body % 32)


# --- rejections ---


@pytest.fixture
def crypto():
    return MessageCrypto(TOKEN, KEY, APPID)


def _seal(payload: bytes) -> str:
    """Encrypt an arbitrary (possibly malicious) payload with the test key and valid 32-byte padding."""
    key = decode_aes_key(KEY)
    pad = 32 - len(payload) % 32
    body = payload + bytes([pad]) * pad
    return base64.b64encode(AES.new(key, AES.MODE_CBC, iv=key[:16]).encrypt(body)).decode()


def test_wrong_signature(crypto):
    encrypt = crypto.encrypt("<xml/>")
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    good = crypto.signature("1", "2", encrypt)
    for bad in ("0" * 40, good[:-1] + ("0" if good[-1] != "0" else "1"), "", None, "不是签名"):
        with pytest.raises(SignatureMismatch):
            crypto.decrypt_message(body, bad, "1", "2")
    with pytest.raises(SignatureMismatch):
        crypto.decrypt_message(body, good, "1", "3")  # nonce changed
    assert crypto.decrypt_message(body, good.upper(), "1", "2") == "<xml/>"  # hex case is irrelevant


def test_wrong_appid(crypto):
    other = MessageCrypto(TOKEN, KEY, "wx1111111111111111")
    with pytest.raises(AppIdMismatch):
        crypto.decrypt(other.encrypt("<xml/>"))


@pytest.mark.parametrize("encrypt", ["!!!not-base64!!!", "abc", "", "   ", "YWJj\x00ZGVm"])
def test_bad_base64(crypto, encrypt):
    with pytest.raises(DecryptError):
        crypto.decrypt(encrypt)


def test_length_not_multiple_of_16(crypto):
    with pytest.raises(DecryptError, match="multiple of 16"):
        crypto.decrypt(base64.b64encode(os.urandom(20)).decode())


def test_truncated(crypto):
    raw = base64.b64decode(crypto.encrypt("<xml><a>" + "z" * 100 + "</a></xml>"))
    for cut in (16, 32, len(raw) - 16):
        with pytest.raises((DecryptError, AppIdMismatch)):
            crypto.decrypt(base64.b64encode(raw[:cut]).decode())
    with pytest.raises(DecryptError):
        crypto.decrypt(base64.b64encode(raw).decode()[:-5])


def test_length_field_too_large(crypto):
    payload = os.urandom(16) + (10**6).to_bytes(4, "big") + b"<xml/>" + APPID.encode()
    with pytest.raises(DecryptError, match="length field"):
        crypto.decrypt(_seal(payload))
    with pytest.raises(DecryptError, match="shorter than its header"):
        crypto.decrypt(_seal(b"short"))


@pytest.mark.parametrize("pad", [0, 33, 200])
def test_bad_padding(crypto, pad):
    payload = os.urandom(16) + (6).to_bytes(4, "big") + b"<xml/>" + APPID.encode()
    payload += b"\x00" * (31 - len(payload) % 32)  # leave exactly one byte for the bad pad value
    key = decode_aes_key(KEY)
    sealed = AES.new(key, AES.MODE_CBC, iv=key[:16]).encrypt(payload + bytes([pad]))
    with pytest.raises(DecryptError, match="padding"):
        crypto.decrypt(base64.b64encode(sealed).decode())


def test_random_ciphertexts_only_raise_typed_errors(crypto):
    rng = random.Random(7)
    for _ in range(300):
        blob = rng.randbytes(16 * rng.randint(1, 12))
        with pytest.raises((DecryptError, AppIdMismatch)):
            crypto.decrypt(base64.b64encode(blob).decode())


def test_invalid_utf8_message(crypto):
    payload = os.urandom(16) + (2).to_bytes(4, "big") + b"\xff\xfe" + APPID.encode()
    with pytest.raises(DecryptError, match="UTF-8"):
        crypto.decrypt(_seal(payload))


@pytest.mark.parametrize("key", ["", "short", KEY + "A", KEY[:-1], KEY[:-1] + "!", KEY[:-1] + "=", 43 * "é", None])
def test_aes_key_format_checked_up_front(key):
    with pytest.raises(InvalidAESKey):
        MessageCrypto(TOKEN, key, APPID)


def test_reply_rejects_unsafe_nonce(crypto):
    with pytest.raises(ValueError):
        crypto.encrypt_reply("<xml/>", "]]><evil/>", "1")


# --- hostile XML ---

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
              for i in range(1, 10))
    + ']><xml><Encrypt>&lol9;</Encrypt></xml>'
)
XXE = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>'
PARAM_ENTITY = '<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><xml><Encrypt>a</Encrypt></xml>'
DTD_ONLY = '<!DOCTYPE xml><xml><Encrypt>abc</Encrypt></xml>'


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, PARAM_ENTITY, DTD_ONLY], ids=["laughs", "xxe", "param", "dtd"])
def test_hostile_outer_xml(crypto, body):
    started = time.monotonic()
    with pytest.raises(MalformedMessage):
        crypto.decrypt_message(body, "0" * 40, "1", "2")
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("body", ["", "not xml", "<xml>", "<root><Encrypt>a</Encrypt></root>",
                                  "<xml><Encrypt></Encrypt></xml>", "<xml><ToUserName>x</ToUserName></xml>",
                                  b"\xff\xfe<xml/>"])
def test_malformed_outer_xml(crypto, body):
    with pytest.raises(MalformedMessage):
        crypto.decrypt_message(body, "0" * 40, "1", "2")


def test_oversized_outer_xml(crypto):
    with pytest.raises(MalformedMessage, match="larger"):
        parse_envelope("<xml><Encrypt>" + "A" * 300_000 + "</Encrypt></xml>")


@pytest.mark.parametrize("inner", [BILLION_LAUGHS, XXE, DTD_ONLY], ids=["laughs", "xxe", "dtd"])
def test_hostile_inner_xml_is_rejected_by_the_event_parser(crypto, inner):
    from portal.wechat.callbacks import parse_event

    encrypt = crypto.encrypt(inner)
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    started = time.monotonic()
    plain = crypto.decrypt_message(body, crypto.signature("1", "2", encrypt), "1", "2")
    with pytest.raises(MalformedMessage):
        parse_event(plain)
    assert time.monotonic() - started < 1.0


def test_all_callback_errors_share_a_base():
    for cls in (SignatureMismatch, DecryptError, AppIdMismatch, MalformedMessage):
        assert issubclass(cls, CallbackError)
        assert cls("x").human("zh") and cls("x").human("en")
        assert cls("x").retryable is False


# The same verdicts as defusedxml (the reference for safe XML parsing in Python) on hostile and ordinary
# input: what it refuses, parse_xml refuses; what it accepts, parse_xml parses into the same tree.
XML_CORPUS = [
    BILLION_LAUGHS, XXE, PARAM_ENTITY, DTD_ONLY,
    '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/x.dtd"><xml/>',
    '<!DOCTYPE xml PUBLIC "-//x//y" "file:///etc/passwd"><xml/>',
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e "x">]><xml>&e;</xml>',
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY u SYSTEM "x" NDATA png>]><xml/>',
    '<xml>&undefined;</xml>', '<xml><a>1</a><a>2</a></xml>', '<xml>1 &amp; 2 &lt; &#x41;&#66;</xml>',
    '<xml><A><![CDATA[<b>&amp;</b>]]></A><B attr="v">t</B><!-- c --><?pi x?></xml>',
    '<?xml version="1.0" encoding="UTF-8"?><xml><中文>值</中文></xml>', '<xml/>', '<xml><a></xml>',
    '<x:xml xmlns:x="urn:x"/>', "\ufeff<xml><a>bom</a></xml>", '<?xml version="1.0" encoding="latin-1"?><xml/>',
]


def _tree(element):
    return (element.tag, dict(element.attrib), (element.text or ""), [_tree(child) for child in element],
            (element.tail or ""))


@pytest.mark.parametrize("text", XML_CORPUS)
def test_parse_xml_agrees_with_defusedxml(text):
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    from portal.wechat.crypto import parse_xml

    data = text.encode("utf-8")
    try:
        reference = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError):
        reference = None
    if reference is None or reference.tag != "xml":
        with pytest.raises(MalformedMessage):
            parse_xml(data)
    else:
        assert _tree(parse_xml(data)) == _tree(reference)
