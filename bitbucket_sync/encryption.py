"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, authenticated) under keys from BBDASH_ENCRYPTION_KEYS.

The setting holds comma-separated Fernet keys, newest first. MultiFernet encrypts with the first and decrypts with
any, so a new key goes in front, `manage.py bitbucket_rotate_keys` re-encrypts every secret under it, and the old key
can then be removed. A secret under a removed key fails loudly instead of being read as garbage.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key (its key was removed, or the data is damaged)."""


def _configured_keys() -> tuple[str, ...]:
    return tuple(settings.BBDASH_ENCRYPTION_KEYS)


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "BBDASH_ENCRYPTION_KEYS is not set: bbdash cannot store or read Bitbucket credentials without a key. "
            "Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "BBDASH_ENCRYPTION_KEYS: every key must be 32 url-safe base64-encoded bytes (a Fernet key)"
        ) from None


def fernet() -> MultiFernet:
    return _fernet_for(_configured_keys())


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with the configured BBDASH_ENCRYPTION_KEYS (was its key removed?)"
        ) from None


def rotate(token: str) -> str:
    """The same secret encrypted under the newest key."""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with any configured key; rotation stopped"
        ) from None
