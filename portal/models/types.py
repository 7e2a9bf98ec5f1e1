"""Column types: `EncryptedText` stores secrets as AES-GCM ciphertext using the app's SecretBox."""

from flask import current_app
from sqlalchemy.types import Text, TypeDecorator


class EncryptedText(TypeDecorator):
    """Plain text in Python, `enc1:…` ciphertext in the database (see portal.secretbox)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return current_app.extensions["secretbox"].encrypt(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return current_app.extensions["secretbox"].decrypt(value)
