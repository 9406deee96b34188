"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256, authenticated) under keys from BBDASH_ENCRYPTION_KEYS.

The setting holds comma-separated Fernet keys, newest first. MultiFernet encrypts with the first and decrypts with
any, so a new key goes in front, `manage.py bitbucket_rotate_keys` re-encrypts every secret under it, and the old key
can then be removed. A secret under a removed key fails loudly instead of being read as garbage.
"""

import os
from functools import cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def _how_to_make_a_key() -> str:
    key_file = getattr(settings, "ENCRYPTION_KEY_FILE", "var/encryption_keys")
    return (
        "Generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
        f"and set BBDASH_ENCRYPTION_KEYS to it (comma-separated, newest first), or write it to {key_file}."
    )


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key (its key was removed, or the data is damaged)."""


def _configured_keys() -> tuple[str, ...]:
    return tuple(settings.BBDASH_ENCRYPTION_KEYS)


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "BBDASH_ENCRYPTION_KEYS is not set: bbdash cannot store or read Bitbucket credentials without a key. "
            + _how_to_make_a_key()
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


def key_problem(keys: list[str] | tuple[str, ...] | None = None) -> str | None:
    """What is wrong with the configured keys, in words for an operator; None when they can be used."""
    keys = tuple(settings.BBDASH_ENCRYPTION_KEYS if keys is None else keys)
    if not keys:
        return (
            "BBDASH_ENCRYPTION_KEYS is not set and there is no key file: bbdash refuses to start, because it could "
            "neither store nor read Bitbucket credentials. " + _how_to_make_a_key()
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            return (
                f"BBDASH_ENCRYPTION_KEYS: key number {position} is not a Fernet key (32 url-safe base64-encoded "
                "bytes). " + _how_to_make_a_key()
            )
    return None


def require_keys() -> None:
    """Stop a process at start (web, worker) when the keys are missing or malformed, with the reason."""
    problem = key_problem()
    if problem:
        raise ImproperlyConfigured(problem)


def check_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check (registered in apps.py): `runserver`, `migrate`, `check` and the other commands refuse to run."""
    problem = key_problem()
    return [checks.Error(problem, id="bitbucket_sync.E001")] if problem else []


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def write_key_file(path: Path) -> bool:
    """Create a key file holding one new key, readable by its owner only; False when one is already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w") as key_file:
        key_file.write(
            "# bbdash credential encryption keys, newest first (see README: BBDASH_ENCRYPTION_KEYS)\n"
            + generate_key()
            + "\n"
        )
    return True
