"""Secrets at rest in the models: a column that holds only ciphertext (`SealedText`) and the attribute that
reads and writes its plaintext, bound to the row (`Sealed`; see portal.secretbox for the format and why the
binding is the row's natural key).

A sealed secret is declared as two class attributes, the ciphertext column under a leading underscore and
the plaintext attribute under the column's name::

    _authorizer_refresh_token = db.Column("authorizer_refresh_token", SealedText)
    authorizer_refresh_token = Sealed(row_key="authorizer_appid", lost_if_unreadable=True)

Assigning plaintext keeps it unsealed on the object until the flush: a mapper event seals it then, when the
row key is final whatever order the attributes were set in. Reading decrypts lazily, so loading a list of
rows never fails because one of them holds a value that cannot be decrypted. Core statements that write a
sealed column (the push path) seal with `Sealed.seal`; `SealedText` refuses anything that is not ciphertext.
"""

import logging

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.types import Text, TypeDecorator

from portal.secretbox import SecretDecryptError, binding, is_sealed

log = logging.getLogger("portal.secrets")


class SealedText(TypeDecorator):
    """Text that holds `enc2:`/`enc1:` ciphertext only: plaintext sent to it is refused, never stored."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or is_sealed(value):
            return value
        raise TypeError("a sealed column takes ciphertext only: write it through its Sealed attribute")


class _Unsealed:
    """Plaintext assigned to a sealed attribute and not flushed yet."""

    __slots__ = ("plaintext",)

    def __init__(self, plaintext):
        self.plaintext = plaintext


def _box():
    return current_app.extensions["secretbox"]


class Sealed:
    """The plaintext of the SealedText column `_<name>`, bound to (table, column, the row's `row_key`).

    `lost_if_unreadable`: a value that cannot be decrypted reads as missing (an error is logged with the
    table, column and row id, never the value). For the tokens and the ticket WeChat gives again, so the
    usual recovery applies (the refresh token is re-read from WeChat's authorizer list, else the app is
    marked as needing re-authorization; a new access token or ticket is fetched). Without it the read raises
    SecretDecryptError saying which row could not be read.
    """

    def __init__(self, row_key, lost_if_unreadable=False):
        self.row_key, self.lost_if_unreadable = row_key, lost_if_unreadable

    def __set_name__(self, owner, name):
        self.owner, self.column, self.column_attr = owner, name, "_" + name
        self.table_name = owner.__tablename__
        if "__sealed__" not in owner.__dict__:
            owner.__sealed__ = []
            event.listen(owner, "before_insert", _seal_unsealed)
            event.listen(owner, "before_update", _seal_unsealed)
        owner.__sealed__.append(self)

    @property
    def name(self):
        return f"{self.table_name}.{self.column}"

    def binding(self, row_key):
        return binding(self.table_name, self.column, row_key)

    def seal(self, plaintext, row_key):
        """Ciphertext of `plaintext` for the row whose `row_key` is given (for Core statements)."""
        return None if plaintext is None else _box().encrypt(plaintext, self.binding(row_key))

    def unseal(self, stored, row_key):
        """Plaintext of `stored`, read by a Core statement from the row whose `row_key` is given.
        :raise SecretDecryptError: another place's ciphertext, an unknown key, or tampered with."""
        return None if stored is None else _box().decrypt(stored, self.binding(row_key))

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        stored = getattr(obj, self.column_attr)
        if stored is None:
            return None
        if isinstance(stored, _Unsealed):
            return stored.plaintext
        try:
            return _box().decrypt(stored, self.binding(getattr(obj, self.row_key)))
        except SecretDecryptError as exc:
            identity = inspect(obj).identity
            row = identity[0] if identity else "(not inserted)"
            message = f"{self.name} of row id {row} cannot be decrypted: {exc}"
            if not self.lost_if_unreadable:
                raise SecretDecryptError(message) from exc
            log.error("%s; treated as missing", message)
            return None

    def __set__(self, obj, value):
        setattr(obj, self.column_attr, None if value is None else _Unsealed(value))


def _seal_unsealed(mapper, connection, target):
    for sealed in type(target).__sealed__:
        stored = target.__dict__.get(sealed.column_attr)
        if isinstance(stored, _Unsealed):
            setattr(target, sealed.column_attr, sealed.seal(stored.plaintext, getattr(target, sealed.row_key)))
        elif stored is not None and inspect(target).attrs[sealed.row_key].history.deleted:
            raise ValueError(f"{sealed.owner.__name__}.{sealed.row_key} cannot change while {sealed.name} "
                             "holds a secret bound to it")


def sealed_columns(model_base):
    """Every Sealed attribute of the mapped models, in a fixed order (the rotation walks them)."""
    found = [s for mapper in model_base.registry.mappers for s in mapper.class_.__dict__.get("__sealed__", ())]
    return sorted(found, key=lambda s: s.name)
