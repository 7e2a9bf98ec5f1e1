"""Encryption of secrets at rest (refresh tokens, access tokens, the ticket, push payloads) with AES-256-GCM,
each ciphertext bound to the one place it belongs. Pure module: no Flask, no database.

Format: ``enc2:<key id>:<base64(nonce | ciphertext | tag)>``. The key id is derived from the key, so rows
written under an older key still decrypt while `DATA_KEY_PREVIOUS` lists it. The associated data (checked by
GCM's tag, never stored) is the prefix, the key id and a *binding*: ``binding(table, column, row key)``. A
ciphertext copied into another row, another column or another table therefore does not decrypt: the row key
differs, and so does the tag.

The row key is the row's identity as the application knows it *before* the INSERT, because the id of a new
row is only known after it, and pushes are inserted in bulk by Core statements where a second UPDATE once the
id is known would cost a round trip per group on the busiest path. Each sealed table has a unique natural key
that is written in the same INSERT and never changes afterwards: `weixin_account.component_appid`,
`wxminiprograms.authorizer_appid`, `unclaimed_authorizers.authorizer_appid` and `callback_events.dedup_key`
(appid, type, CreateTime and a digest of the push). Unique means no two rows share a binding, so "moved to
another row" and "does not decrypt" stay the same statement; a row deleted and created again for the same
app reads the same app's secret, which is the one it should hold. The binding is applied where the row is
seen: `portal.models.types.Sealed` (ORM attributes, sealed at flush when the row key is final) and the few
Core writers, which seal with the same descriptor.

The earlier format ``enc1`` (associated data: the key id only, bound to nothing) is still read, so an
upgrade needs no downtime; `flask rotate-data-key` rewrites every enc1 and every older-key value as enc2 under
the current key. To make old unbound values worthless as well, rotate to a new `DATA_KEY` in the same run and
then drop the old key from `DATA_KEY_PREVIOUS`: no enc1 value is ever written under a key made after this
format.

AES-GCM comes from `cryptography` (OpenSSL): about 5 us per value where pycryptodome's GCM, which builds
its GHASH tables for every nonce, takes about 100 us; every push stored seals its payload, every forwarded
push unseals it. The format is GCM's own (12-byte nonce, 16-byte tag), so either library reads the other's.
"""

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc2"
LEGACY_PREFIX = "enc1"
PREFIXES = (PREFIX + ":", LEGACY_PREFIX + ":")


class SecretDecryptError(Exception):
    """A stored secret could not be decrypted: unknown key id, a ciphertext bound to another place, or
    tampered/garbled ciphertext."""


def binding(table, column, row_key):
    """The place a ciphertext belongs to. Table and column are identifiers of the code (no NUL), so only the
    last part varies and the joined text is unambiguous."""
    return f"{table}\x00{column}\x00{row_key}"


def is_sealed(stored):
    """Whether a stored value has the form of a ciphertext (a guard against writing plaintext, not a check)."""
    return isinstance(stored, str) and stored.startswith(PREFIXES)


def _derive(key_text):
    material = hashlib.sha256(("portal-data-key:" + key_text).encode("utf-8")).digest()
    key_id = hashlib.sha256(material).hexdigest()[:8]
    return key_id, material


def _associated(key_id, bound_to):
    return f"{PREFIX}\x00{key_id}\x00{bound_to}".encode()


class SecretBox:
    """Encrypts with the current key; decrypts with the current or any previous key."""

    def __init__(self, current_key, previous_keys=()):
        if not current_key:
            raise ValueError("DATA_KEY must not be empty")
        self.key_id, material = _derive(current_key)
        self._cipher = AESGCM(material)
        self._keys = {self.key_id: self._cipher}
        for old in previous_keys:
            if old:
                kid, material = _derive(old)
                self._keys.setdefault(kid, AESGCM(material))

    def encrypt(self, plaintext, bound_to):
        """`bound_to`: the `binding` of the place the ciphertext is written to."""
        if plaintext is None:
            return None
        nonce = os.urandom(12)
        sealed = self._cipher.encrypt(nonce, plaintext.encode("utf-8"), _associated(self.key_id, bound_to))
        return f"{PREFIX}:{self.key_id}:" + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, stored, bound_to):
        """:raise SecretDecryptError: unknown key, another place's ciphertext, or tampered with."""
        if stored is None:
            return None
        parts = stored.split(":", 2)
        if len(parts) != 3 or parts[0] not in (PREFIX, LEGACY_PREFIX):
            raise SecretDecryptError("not an encrypted value")
        cipher = self._keys.get(parts[1])
        if cipher is None:
            raise SecretDecryptError(f"unknown key id {parts[1]}: add the old key to DATA_KEY_PREVIOUS")
        associated = _associated(parts[1], bound_to) if parts[0] == PREFIX else parts[1].encode("ascii")
        try:
            raw = base64.b64decode(parts[2], validate=True)
            if len(raw) < 12 + 16:
                raise ValueError("shorter than a nonce and a tag")
            return cipher.decrypt(raw[:12], raw[12:], associated).decode("utf-8")
        except (ValueError, InvalidTag) as exc:
            raise SecretDecryptError("the ciphertext belongs to another row or column, or was tampered "
                                     "with") from exc

    def is_current(self, stored):
        """Written in the current format under the current key (what `rotate-data-key` leaves)."""
        return stored is not None and stored.startswith(f"{PREFIX}:{self.key_id}:")

    def needs_reencryption(self, stored):
        return stored is not None and not self.is_current(stored)
