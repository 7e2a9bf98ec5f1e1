"""The sandbox's own WXBizMsgCrypt reproduces every published vector and agrees with wechatpy."""

import base64
import json
from pathlib import Path

import pytest
from wechatpy.crypto import WeChatCrypto

from sandbox.crypto import CryptoError, MessageCrypto

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "wechat" / "data" / "crypto-vectors.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["kind"] in ("decrypt", "decrypt_raw")],
                         ids=lambda v: v["id"])
def test_decrypt_vectors(vector):
    crypto = MessageCrypto(vector["token"], vector["encoding_aes_key"], vector["appid"])
    assert crypto.signature(vector["timestamp"], vector["nonce"], vector["encrypt"]) == vector["msg_signature"]
    assert crypto.verify(vector["msg_signature"], vector["timestamp"], vector["nonce"], vector["encrypt"])
    plaintext, appid = crypto.decrypt(vector["encrypt"])
    assert appid == vector["appid"]
    if "expected_plaintext" in vector:
        assert plaintext == vector["expected_plaintext"]
    for name, value in vector.get("expected_fields", {}).items():
        assert f"<{name}><![CDATA[{value}]]></{name}>" in plaintext
    if "url_signature" in vector:
        assert crypto.signature(vector["timestamp"], vector["nonce"]) == vector["url_signature"]
    if "negative_nonce" in vector:
        assert not crypto.verify(vector["msg_signature"], vector["timestamp"], vector["negative_nonce"],
                                 vector["encrypt"])


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["kind"] == "encrypt"], ids=lambda v: v["id"])
def test_encrypt_vectors(vector):
    crypto = MessageCrypto(vector["token"], vector["encoding_aes_key"], vector["appid"])
    encrypt = crypto.encrypt(vector["plaintext"], random_prefix=vector["random_prefix"].encode())
    assert encrypt == vector["encrypt"]
    assert crypto.signature(vector["timestamp"], vector["nonce"], encrypt) == vector["msg_signature"]


def test_round_trip_matches_wechatpy():
    key = base64.b64encode(bytes(range(32))).decode()[:43]
    ours = MessageCrypto("tok", key, "wxcomponent00001")
    theirs = WeChatCrypto("tok", key, "wxcomponent00001")
    sealed = ours.seal("<xml><A><![CDATA[中文]]></A></xml>", "1700000000", "42")
    body = f"<xml><AppId>x</AppId><Encrypt><![CDATA[{sealed['encrypt']}]]></Encrypt></xml>"
    assert theirs.decrypt_message(body, sealed["msg_signature"], "1700000000", "42") == \
        "<xml><A><![CDATA[中文]]></A></xml>"


def test_wrong_appid_and_tampering_are_rejected():
    key = "A" * 43
    encrypt = MessageCrypto("t", key, "wxaaaa").encrypt("<xml/>")
    with pytest.raises(CryptoError):
        MessageCrypto("t", key, "wxbbbb").decrypt(encrypt)
    with pytest.raises(CryptoError):
        MessageCrypto("t", "B" * 43, "wxaaaa").decrypt(encrypt)
    with pytest.raises(CryptoError):
        MessageCrypto("t", "short", "wxaaaa")
