"""Identifiers that look like Bitbucket's: braced uuids, Atlassian account ids, 40-hex hashes and token strings.

Seeds derive every identifier from a name through a hash, so the same seed gives the same world on every start.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime

# Atlassian account ids of cloud users start with this site prefix in real payloads.
ACCOUNT_PREFIX = "557058"


def det_uuid(*parts: str) -> str:
    """A braced version-4-looking uuid derived from `parts` (stable across starts)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return "{" + str(uuid.UUID(bytes=digest[:16], version=4)) + "}"


def random_uuid() -> str:
    return "{" + str(uuid.uuid4()) + "}"


def bare(braced: str) -> str:
    return braced.strip("{}")


def account_id_for(user_uuid: str) -> str:
    return f"{ACCOUNT_PREFIX}:{bare(user_uuid)}"


def _token_body(kind: str, name: str, length: int) -> str:
    raw = b""
    counter = 0
    while len(raw) < length:
        raw += hashlib.sha256(f"{kind}\x1f{name}\x1f{counter}".encode()).digest()
        counter += 1
    body = base64.urlsafe_b64encode(raw).decode().replace("-", "x").replace("_", "Q").rstrip("=")
    return body[:length]


def api_token_for(name: str) -> str:
    """An Atlassian API token look-alike: `ATATT3xFfGF0` prefix, long body, `=` and an 8-hex checksum."""
    body = _token_body("api", name, 160)
    check = hashlib.sha256(body.encode()).hexdigest()[:8].upper()
    return f"ATATT3xFfGF0{body}={check}"


def access_token_for(name: str) -> str:
    """A repository/project/workspace access token look-alike (`ATCTT3xFfGN0...`)."""
    body = _token_body("access", name, 160)
    check = hashlib.sha256(body.encode()).hexdigest()[:8].upper()
    return f"ATCTT3xFfGN0{body}={check}"


def app_password_for(name: str) -> str:
    """An app password look-alike (`ATBB` + 28 characters, as issued before September 2025)."""
    return "ATBB" + _token_body("app", name, 28)


def commit_hash(parents: list[str], tree_digest: str, message: str, author: str, date: datetime) -> str:
    payload = "\n".join([*parents, tree_digest, message, author, date.isoformat()])
    return hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()


def now_utc() -> datetime:
    return datetime.now(UTC)


def fmt_time(value: datetime | None) -> str | None:
    """Bitbucket's timestamp form: ISO-8601, microseconds, `+00:00`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def dc_token_for(name: str) -> str:
    """A Data Center HTTP access token look-alike (`BBDC-` and 44 characters, as issued since 8.x)."""
    return "BBDC-" + _token_body("dc-token", name, 44)


def dc_password_for(name: str) -> str:
    return "dc-" + _token_body("dc-password", name, 16)
