"""The sandbox's own implementation of WeChat's message crypto ("WXBizMsgCrypt").

Signature = sha1 of the sorted, concatenated [token, timestamp, nonce(, encrypt)]. Payload = AES-256-CBC
with key = b64decode(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding to 32-byte blocks, over
16 random bytes + 4-byte big-endian length + XML + appid. Deliberately shares no code with the portal
(style guide B5) so a bug on one side cannot hide behind the other. Imports pycryptodome and stdlib only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from Crypto.Cipher import AES

BLOCK_SIZE = 32


class CryptoError(ValueError):
    """Bad key, bad padding, bad signature or wrong appid."""


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(str(p) for p in parts)).encode()).hexdigest()


def _pkcs7_pad(data: bytes) -> bytes:
    amount = BLOCK_SIZE - len(data) % BLOCK_SIZE
    return data + bytes([amount]) * amount


def _pkcs7_unpad(data: bytes) -> bytes:
    amount = data[-1] if data else 0
    if not 1 <= amount <= BLOCK_SIZE or data[-amount:] != bytes([amount]) * amount:
        raise CryptoError("bad padding")
    return data[:-amount]


class MessageCrypto:
    """Encrypt, decrypt and sign messages for one (token, EncodingAESKey, appid) triple."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str):
        if len(encoding_aes_key) != 43:
            raise CryptoError("EncodingAESKey must be 43 characters")
        try:
            self.key = base64.b64decode(encoding_aes_key + "=")
        except ValueError as exc:
            raise CryptoError("EncodingAESKey is not base64") from exc
        if len(self.key) != 32:
            raise CryptoError("EncodingAESKey must decode to 32 bytes")
        self.token = token
        self.appid = appid

    def signature(self, timestamp: str, nonce: str, encrypt: str | None = None) -> str:
        parts = [self.token, timestamp, nonce] + ([encrypt] if encrypt is not None else [])
        return sha1_signature(*parts)

    def encrypt(self, plaintext: str, random_prefix: bytes | None = None) -> str:
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        if len(prefix) != 16:
            raise CryptoError("random prefix must be 16 bytes")
        body = plaintext.encode()
        raw = prefix + struct.pack(">I", len(body)) + body + self.appid.encode()
        cipher = AES.new(self.key, AES.MODE_CBC, self.key[:16])
        return base64.b64encode(cipher.encrypt(_pkcs7_pad(raw))).decode()

    def decrypt(self, encrypt: str, check_appid: bool = True) -> tuple[str, str]:
        """Return (plaintext, appid found after it); raise CryptoError on any mismatch."""
        try:
            data = base64.b64decode(encrypt)
        except ValueError as exc:
            raise CryptoError("ciphertext is not base64") from exc
        if not data or len(data) % 16:
            raise CryptoError("ciphertext length is not a multiple of the block size")
        raw = _pkcs7_unpad(AES.new(self.key, AES.MODE_CBC, self.key[:16]).decrypt(data))
        if len(raw) < 20:
            raise CryptoError("payload too short")
        (length,) = struct.unpack(">I", raw[16:20])
        body, appid = raw[20:20 + length], raw[20 + length:].decode()
        if check_appid and appid != self.appid:
            raise CryptoError(f"appid mismatch: {appid!r}")
        return body.decode(), appid

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bool:
        return hmac.compare_digest(self.signature(timestamp, nonce, encrypt), msg_signature or "")

    def seal(self, plaintext: str, timestamp: str, nonce: str) -> dict:
        """Everything a push carries: encrypt, msg_signature and the plain URL signature."""
        encrypt = self.encrypt(plaintext)
        return {"encrypt": encrypt, "msg_signature": self.signature(timestamp, nonce, encrypt),
                "signature": self.signature(timestamp, nonce)}
