"""Encryption of secrets at rest (refresh tokens, access tokens, app secrets) with AES-256-GCM.

Ciphertext is text of the form ``enc1:<key id>:<base64(nonce | ciphertext | tag)>``. The key id is derived
from the key, so rows written under an older key still decrypt while `DATA_KEY_PREVIOUS` lists it, and
`needs_reencryption` tells a rotation job which rows to rewrite. Pure module: no Flask, no database.
"""

import base64
import hashlib

from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes

PREFIX = "enc1"


class SecretDecryptError(Exception):
    """A stored secret could not be decrypted: unknown key id, or tampered/garbled ciphertext."""


def _derive(key_text):
    material = hashlib.sha256(("portal-data-key:" + key_text).encode("utf-8")).digest()
    key_id = hashlib.sha256(material).hexdigest()[:8]
    return key_id, material


class SecretBox:
    """Encrypts with the current key; decrypts with the current or any previous key."""

    def __init__(self, current_key, previous_keys=()):
        if not current_key:
            raise ValueError("DATA_KEY must not be empty")
        self.key_id, self._key = _derive(current_key)
        self._keys = {self.key_id: self._key}
        for old in previous_keys:
            if old:
                kid, material = _derive(old)
                self._keys.setdefault(kid, material)

    def encrypt(self, plaintext):
        if plaintext is None:
            return None
        nonce = get_random_bytes(12)
        cipher = AES.new(self._key, AES.MODE_GCM, nonce=nonce)
        cipher.update(self.key_id.encode("ascii"))
        body, tag = cipher.encrypt_and_digest(plaintext.encode("utf-8"))
        return f"{PREFIX}:{self.key_id}:" + base64.b64encode(nonce + body + tag).decode("ascii")

    def decrypt(self, stored):
        if stored is None:
            return None
        parts = stored.split(":", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            raise SecretDecryptError("not an encrypted value")
        key = self._keys.get(parts[1])
        if key is None:
            raise SecretDecryptError(f"unknown key id {parts[1]}: add the old key to DATA_KEY_PREVIOUS")
        try:
            raw = base64.b64decode(parts[2], validate=True)
            cipher = AES.new(key, AES.MODE_GCM, nonce=raw[:12])
            cipher.update(parts[1].encode("ascii"))
            return cipher.decrypt_and_verify(raw[12:-16], raw[-16:]).decode("utf-8")
        except (ValueError, KeyError) as exc:
            raise SecretDecryptError("ciphertext is corrupt or was tampered with") from exc

    def needs_reencryption(self, stored):
        return stored is not None and not stored.startswith(f"{PREFIX}:{self.key_id}:")
