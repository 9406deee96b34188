"""Credentials the client can speak with. Their reprs never show the secret.

* ``ApiToken(email, token)``: the 2026 way for a person. HTTP Basic with the **Atlassian account email** as the
  username (not the Bitbucket username) and the token as the password. Sent as Bearer it is refused with 401.
* ``AppPassword(username, password)``: HTTP Basic with the Bitbucket username. Creation stopped on 2025-09-09 and
  Bitbucket Cloud removed them on 2026-07-28; kept so an old stored credential fails with a clear message.
* ``AccessToken(token)``: repository, project or workspace access tokens (and OAuth tokens): ``Authorization: Bearer``.
  Each has its own rate-limit allowance, which is why an admin should pick one for sync.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import ClassVar

from django.views.decorators.debug import sensitive_variables

_MASK = "****"


def _last4(secret: str) -> str:
    return secret[-4:] if len(secret) >= 8 else ""


@sensitive_variables()  # `raw` is the login and the secret in the clear
def _basic(user: str, password: str) -> str:
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True, repr=False)
class ApiToken:
    """An Atlassian API token with Bitbucket scopes (Basic: email + token)."""

    email: str
    token: str = field(repr=False)
    kind: ClassVar[str] = "api_token"

    @property
    def secret(self) -> str:
        return self.token

    @property
    def last4(self) -> str:
        """The token's last four characters, for display ("…a1b2"); empty for very short secrets."""
        return _last4(self.token)

    def authorization_header(self) -> str:
        return _basic(self.email, self.token)

    def __repr__(self) -> str:
        return f"ApiToken(email={self.email!r}, token={_MASK!r})"


@dataclass(frozen=True, repr=False)
class AppPassword:
    """A legacy app password (Basic: Bitbucket username + password). Removed by Bitbucket Cloud on 2026-07-28."""

    username: str
    password: str = field(repr=False)
    kind: ClassVar[str] = "app_password"

    @property
    def secret(self) -> str:
        return self.password

    @property
    def last4(self) -> str:
        return _last4(self.password)

    def authorization_header(self) -> str:
        return _basic(self.username, self.password)

    def __repr__(self) -> str:
        return f"AppPassword(username={self.username!r}, password={_MASK!r})"


@dataclass(frozen=True, repr=False)
class AccessToken:
    """A repository / project / workspace access token or an OAuth access token (Bearer)."""

    token: str = field(repr=False)
    kind: ClassVar[str] = "access_token"

    @property
    def secret(self) -> str:
        return self.token

    @property
    def last4(self) -> str:
        return _last4(self.token)

    def authorization_header(self) -> str:
        return f"Bearer {self.token}"

    def __repr__(self) -> str:
        return f"AccessToken(token={_MASK!r})"


@dataclass(frozen=True, repr=False)
class BasicAuth:
    """Bitbucket Data Center: HTTP Basic with the Bitbucket username and a password or personal HTTP access token.
    (Project and repository HTTP access tokens are Bearer only: ``AccessToken``.) Bitbucket Cloud refuses it."""

    username: str
    secret: str = field(repr=False)
    kind: ClassVar[str] = "basic"

    @property
    def last4(self) -> str:
        return _last4(self.secret)

    def authorization_header(self) -> str:
        return _basic(self.username, self.secret)

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, secret={_MASK!r})"


# What a client speaks with ("auth", so it is never mistaken for the stored `models.Credential`).
Auth = ApiToken | AppPassword | AccessToken | BasicAuth
