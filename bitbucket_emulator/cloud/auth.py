"""Who is calling and what they may do: API tokens, app passwords, access tokens; scopes; visibility.

* API token: `Basic base64(email:token)`. The same token as Bearer answers 401 ("Token is invalid ...").
* App password: `Basic base64(username:app_password)`; refused with 401 when app passwords are switched off
  (Bitbucket removed them on 2026-07-28).
* Access token (workspace, project or repository): `Bearer <token>`; acts as an `app_user`, sees only its scope.

Scopes: access tokens and app passwords carry legacy names with their implications (`pullrequest:write` implies
`pullrequest`, `repository:write` and `repository`); API tokens carry the new names, which imply nothing.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from ..world.objects import PERMISSION_RANK, AccessToken, Repository, User, Workspace, WorldError
from ..world.state import World

LEGACY_IMPLIES = {
    "repository:write": {"repository"},
    "repository:admin": set(),
    "pullrequest": {"repository"},
    "pullrequest:write": {"pullrequest", "repository:write", "repository"},
    "project": {"repository"},
    "project:admin": {"project", "repository"},
    "webhook": set(),
}

INVALID_TOKEN = "Token is invalid, expired, or not supported for this endpoint."  # noqa: S105 - a message


class AuthError(WorldError):
    """401 with `WWW-Authenticate`."""


@dataclass
class Scope:
    """What an endpoint needs: one legacy scope and the API-token scopes (all required)."""

    legacy: str | None
    api: tuple[str, ...] = ()


@dataclass
class Identity:
    kind: str  # api_token | app_password | access_token | anonymous
    credential: str  # key for request accounting, e.g. "api_token:alice"
    user: User | None = None
    token: AccessToken | None = None
    scopes: set[str] = field(default_factory=set)

    @property
    def actor_uuid(self) -> str | None:
        if self.user:
            return self.user.uuid
        if self.token:
            return self.token.uuid
        return None

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"


def _expand(scopes: list[str]) -> set[str]:
    out = set(scopes)
    changed = True
    while changed:
        changed = False
        for s in list(out):
            extra = LEGACY_IMPLIES.get(s, set()) - out
            if extra:
                out |= extra
                changed = True
    return out


def unauthorized(message: str = "Invalid credentials") -> AuthError:
    return AuthError(401, message)


def authenticate(world: World, header: str | None) -> Identity:
    if not header:
        return Identity("anonymous", "anonymous")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer":
        token = world.access_tokens.get(value)
        if token is None:
            raise unauthorized(INVALID_TOKEN)
        return Identity("access_token", f"access_token:{token.name}", token=token, scopes=_expand(token.scopes))
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise unauthorized() from None
        name, _, secret = decoded.partition(":")
        for u in world.users.values():
            if name.lower() == u.email.lower() and secret == u.api_token:
                return Identity("api_token", f"api_token:{u.username}", user=u, scopes=set(u.api_token_scopes))
            if name == u.username and secret == u.app_password:
                if not world.app_passwords_enabled:
                    raise unauthorized("App passwords have been removed. Use an API token instead.")
                return Identity(
                    "app_password", f"app_password:{u.username}", user=u, scopes=_expand(u.app_password_scopes)
                )
        raise unauthorized()
    raise unauthorized(INVALID_TOKEN)


def require_scope(identity: Identity, scope: Scope) -> None:
    if identity.is_anonymous:
        return
    if identity.kind == "api_token":
        missing = [s for s in scope.api if s not in identity.scopes]
        if missing:
            raise scope_error(sorted(identity.scopes), list(scope.api))
        return
    if scope.legacy and scope.legacy not in identity.scopes:
        raise scope_error(sorted(identity.scopes), [scope.legacy])


class ScopeError(WorldError):
    def __init__(self, granted: list[str], required: list[str]):
        super().__init__(403, "Your credentials lack one or more required privilege scopes.")
        self.granted = granted
        self.required = required


def scope_error(granted: list[str], required: list[str]) -> ScopeError:
    return ScopeError(granted, required)


def require_user(identity: Identity) -> None:
    if identity.is_anonymous:
        raise unauthorized(
            "This API is only accessible with the following authentication types: session, password, "
            "apppassword, api_token"
        )


def workspace_role(world: World, identity: Identity, ws: Workspace) -> str | None:
    """owner | member | collaborator for users; `member` (owner for admin tokens) for a token of the workspace."""
    if identity.user:
        return ws.members.get(identity.user.uuid)
    if identity.token and identity.token.workspace_uuid == ws.uuid:
        return (
            "owner"
            if identity.token.scope_kind == "workspace" and "project:admin" in identity.token.scopes
            else ("member")
        )
    return None


def can_see_workspace(world: World, identity: Identity, ws: Workspace) -> bool:
    if workspace_role(world, identity, ws):
        return True
    return any(repo_permission(world, identity, r) for r in world.repos_in(ws))


def repo_permission(world: World, identity: Identity, repo: Repository) -> str | None:
    if identity.user:
        return world.user_repo_permission(identity.user, repo)
    if identity.token:
        return world.token_repo_permission(identity.token, repo)
    return None if repo.is_private else "read"


def repo_for(world: World, identity: Identity, workspace: str, slug: str, need: str = "read") -> Repository:
    """The repository if the caller may `need` it; 404 when they cannot even see it (Bitbucket hides it)."""
    repo = world.repository(workspace, slug)
    perm = repo_permission(world, identity, repo)
    if perm is None:
        if identity.is_anonymous:
            raise unauthorized("You must be authenticated to access this repository.")
        raise WorldError(404, f"Repository {workspace}/{slug} not found")
    if PERMISSION_RANK[perm] < PERMISSION_RANK[need]:
        if identity.is_anonymous:
            raise unauthorized()
        raise WorldError(
            403,
            f"You need {need} access to this repository to do this.",
            detail=f"Your permission on {world.full_name(repo)} is {perm}.",
        )
    return repo
