"""WeChat message crypto ("WXBizMsgCrypt") for the authorization-event and message callback URLs.

Verifies ``msg_signature = sha1(sorted(token, timestamp, nonce, Encrypt))`` with `hmac.compare_digest`, decrypts
AES-256-CBC (key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding to 32-byte blocks, payload =
16 random bytes + 4-byte big-endian length + message + appid), checks the trailing appid, and encrypts replies
the same way. Untrusted XML (the outer ``<xml><Encrypt>`` envelope and the decrypted message) is parsed by
`parse_xml`, which refuses DTDs, entity declarations and external references. Every check raises a typed
`CallbackError` subclass; nothing relies on ``assert``. Imports pycryptodome and the standard library only (no
Flask, requests or ``portal.*`` outside this package).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from Crypto.Cipher import AES

from .errors import AppIdMismatch, DecryptError, InvalidAESKey, MalformedMessage, SignatureMismatch

BLOCK_SIZE = 32  # WeChat pads to 32 bytes, not AES's 16
RANDOM_PREFIX_LEN = 16
DEFAULT_MAX_XML_BYTES = 256 * 1024
_KEY_RE = re.compile(r"^[A-Za-z0-9+/]{43}$")
_SAFE_TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")  # timestamps and nonces we put into reply XML


class _Forbidden(Exception):
    """A DTD, an entity declaration or an external reference: refused before expat acts on it."""


def _refuse_doctype(name, *_rest):
    raise _Forbidden(f"DTD <!DOCTYPE {name}>")


def _refuse_entity(name, *_rest):
    raise _Forbidden(f"entity declaration {name}")


def _refuse_external(*_args):
    raise _Forbidden("external reference")


def parse_xml(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_XML_BYTES) -> Element:
    """Parse untrusted XML safely: DTDs, entities and external references are refused.

    The guard is the one defusedxml installs (handlers that raise on a DOCTYPE, on an entity declaration and
    on an external reference, before expat expands or fetches anything), set on a bare expat parser that
    feeds the C `TreeBuilder`: defusedxml swaps ElementTree's C parser for the pure-Python one, which costs
    two to three times as much per push. Without a DTD no entity can be declared, so only the five predefined
    ones and character references are expanded, and any other ``&name;`` is an expat error.

    :raise MalformedMessage: too large, not well-formed, has a DTD/entity, or the root is not ``<xml>``.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise MalformedMessage(f"XML larger than {max_bytes} bytes")
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(raw, True)
        root = builder.close()
    except _Forbidden as exc:
        raise MalformedMessage(f"forbidden XML construct: {exc}") from None
    except (expat.ExpatError, ValueError) as exc:
        raise MalformedMessage(f"XML not well-formed: {exc}") from None
    finally:
        parser.StartElementHandler = parser.EndElementHandler = parser.CharacterDataHandler = None
    if root.tag != "xml":
        raise MalformedMessage(f"unexpected root element <{root.tag}>")
    return root


@dataclass(frozen=True)
class Envelope:
    """The outer, still encrypted callback body."""

    encrypt: str
    to_user_name: str | None = None  # message URL: the mini-program's original id (gh_...)
    appid: str | None = None  # authorization URL: the component appid


def parse_envelope(body: bytes | str, *, max_bytes: int = DEFAULT_MAX_XML_BYTES) -> Envelope:
    """Read ``<xml><Encrypt>…</Encrypt>…</xml>`` from a callback POST body.

    :raise MalformedMessage: unsafe or malformed XML, or no non-empty ``Encrypt`` element.
    """
    root = parse_xml(body, max_bytes=max_bytes)
    encrypt = (root.findtext("Encrypt") or "").strip()
    if not encrypt:
        raise MalformedMessage("no Encrypt element")
    return Envelope(encrypt=encrypt, to_user_name=root.findtext("ToUserName"), appid=root.findtext("AppId"))


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 hex of the sorted parts concatenated."""
    return hashlib.sha1("".join(sorted(str(p) for p in parts)).encode("utf-8")).hexdigest()


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """Turn the 43-character EncodingAESKey into the 32-byte AES key.

    :raise InvalidAESKey: wrong length or alphabet.
    """
    if not isinstance(encoding_aes_key, str) or not _KEY_RE.match(encoding_aes_key):
        raise InvalidAESKey("EncodingAESKey must be 43 characters of [A-Za-z0-9+/]")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise InvalidAESKey("EncodingAESKey is not valid base64") from None
    if len(key) != 32:  # cannot happen for 43 valid characters; kept as an explicit check
        raise InvalidAESKey("EncodingAESKey must decode to 32 bytes")
    return key


class MessageCrypto:
    """Encrypt/decrypt and sign callback messages for one (token, EncodingAESKey, appid).

    ``appid`` is the third-party platform's (component) appid: WeChat encrypts pushes to both the
    authorization URL and the message URL with it, not with the authorizer's appid.
    """

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        if not token:
            raise ValueError("token must not be empty")
        if not appid:
            raise ValueError("appid must not be empty")
        self.token = token
        self.appid = appid
        self._key = decode_aes_key(encoding_aes_key)
        # CBC decryption done by hand over one ECB cipher built here: pycryptodome's CBC objects carry the
        # chaining state, so one would have to be built per message (the costliest step of a decryption).
        # ECB keeps no state between calls, so threads can share it.
        self._ecb = AES.new(self._key, AES.MODE_ECB)

    # --- signatures ---

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """msg_signature for an Encrypt payload."""
        return sha1_signature(self.token, timestamp, nonce, encrypt)

    def verify_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        """:raise SignatureMismatch: ``msg_signature`` is not sha1(sorted(token, timestamp, nonce, encrypt))."""
        self._compare(msg_signature, self.signature(timestamp, nonce, encrypt))

    def verify_url_signature(self, signature: str, timestamp: str, nonce: str) -> None:
        """Check the plain ``signature`` query parameter (sha1 of token, timestamp, nonce).

        :raise SignatureMismatch: it does not match.
        """
        self._compare(signature, sha1_signature(self.token, timestamp, nonce))

    @staticmethod
    def _compare(given: str | None, expected: str) -> None:
        given_b = (given or "").strip().lower().encode("ascii", "replace")
        if not given_b or not hmac.compare_digest(given_b, expected.encode("ascii")):
            raise SignatureMismatch("signature mismatch")

    # --- AES payload ---

    def encrypt(self, plaintext: str | bytes, random_prefix: bytes | None = None) -> str:
        """Encrypt ``plaintext`` into the base64 Encrypt payload (``random_prefix`` fixed only in tests)."""
        msg = plaintext.encode("utf-8") if isinstance(plaintext, str) else bytes(plaintext)
        prefix = os.urandom(RANDOM_PREFIX_LEN) if random_prefix is None else bytes(random_prefix)
        if len(prefix) != RANDOM_PREFIX_LEN:
            raise ValueError("random_prefix must be 16 bytes")
        body = prefix + len(msg).to_bytes(4, "big") + msg + self.appid.encode("utf-8")
        pad = BLOCK_SIZE - len(body) % BLOCK_SIZE
        body += bytes([pad]) * pad
        cipher = AES.new(self._key, AES.MODE_CBC, iv=self._key[:16])
        return base64.b64encode(cipher.encrypt(body)).decode("ascii")

    def decrypt(self, encrypt: str) -> str:
        """Decrypt an Encrypt payload and check its trailing appid; returns the message text.

        :raise DecryptError: bad base64, length not a multiple of 16, bad padding, bad length field, not UTF-8.
        :raise AppIdMismatch: the payload names another appid.
        """
        message, appid = self._open(encrypt)
        if not hmac.compare_digest(appid, self.appid.encode("utf-8")):
            raise AppIdMismatch("payload appid does not match")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptError("message is not UTF-8") from None

    def _open(self, encrypt: str) -> tuple[bytes, bytes]:
        try:
            data = base64.b64decode((encrypt or "").strip(), validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("Encrypt is not valid base64") from None
        if not data or len(data) % AES.block_size:
            raise DecryptError("ciphertext length is not a positive multiple of 16")
        chained = self._key[:16] + data[:-AES.block_size]  # each block XORs with the previous ciphertext one
        plain = (int.from_bytes(self._ecb.decrypt(data), "big") ^ int.from_bytes(chained, "big")).to_bytes(
            len(data), "big")
        pad = plain[-1]
        if not 1 <= pad <= BLOCK_SIZE or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptError("bad PKCS#7 padding")
        content = plain[:-pad]
        header = RANDOM_PREFIX_LEN + 4
        if len(content) < header:
            raise DecryptError("payload shorter than its header")
        length = int.from_bytes(content[RANDOM_PREFIX_LEN:header], "big")
        if length > len(content) - header:
            raise DecryptError("length field larger than the payload")
        return content[header:header + length], content[header + length:]

    # --- whole callbacks ---

    def decrypt_message(self, body: bytes | str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Verify and decrypt a callback POST body; returns the inner XML text (parse it with `callbacks`).

        :raise MalformedMessage: the outer XML is unsafe or malformed.
        :raise SignatureMismatch, DecryptError, AppIdMismatch: see `verify_signature` and `decrypt`.
        """
        envelope = parse_envelope(body)
        self.verify_signature(msg_signature, timestamp, nonce, envelope.encrypt)
        return self.decrypt(envelope.encrypt)

    def decrypt_echostr(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Verify and decrypt an encrypted ``echostr`` (URL verification in the encrypted mode)."""
        self.verify_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def encrypt_reply(self, plaintext: str, nonce: str, timestamp: str | int | None = None,
                      random_prefix: bytes | None = None) -> str:
        """Build the encrypted reply XML (``Encrypt``, ``MsgSignature``, ``TimeStamp``, ``Nonce``).

        Callback pushes need no reply beyond the plain string ``success``; this is for passive replies.
        """
        ts = str(int(time.time()) if timestamp is None else timestamp)
        if not _SAFE_TOKEN_RE.match(ts) or not _SAFE_TOKEN_RE.match(str(nonce)):
            raise ValueError("timestamp and nonce must be short alphanumeric strings")
        encrypt = self.encrypt(plaintext, random_prefix=random_prefix)
        signature = self.signature(ts, nonce, encrypt)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{ts}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )
