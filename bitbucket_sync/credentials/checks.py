"""Checking a credential with Bitbucket: who it acts as, which workspaces it sees, which scopes it holds.

Nothing here writes a row: a check runs before a credential is saved (the form, the admin, the command) and again on
"Check now" (``lifecycle.recheck_credential``), which records what it found. Bitbucket names a credential's scopes
only in the answer that refuses one, so a check proves what its calls could and says what it could not verify. The
secret goes from the caller straight into the client; it is never logged and never part of a result or an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice

from django.views.decorators.debug import sensitive_variables

from bitbucket_sync import sites
from bitbucket_sync.client import (
    ALL_STATES,
    AppPasswordRemoved,
    AuthError,
    BitbucketClient,
    BitbucketError,
    DataCenterClient,
    NotFound,
    RequestRecord,
    Unsupported,
    records,
)
from bitbucket_sync.credentials import clients
from bitbucket_sync.models import Credential

Kind = Credential.Kind
Status = Credential.Status

APP_PASSWORDS_REMOVED = (
    "Bitbucket Cloud removed app passwords on 2026-07-28: they are no longer accepted. Create an API token with "
    "Bitbucket scopes at id.atlassian.com (Security > API tokens) and use it with your Atlassian account email."
)

# The kinds each kind of site accepts: a secret meant for one is never sent to the other.
DATACENTER_KINDS = frozenset({Kind.HTTP_ACCESS_TOKEN, Kind.BASIC})
CLOUD_KINDS = frozenset({Kind.API_TOKEN, Kind.ACCESS_TOKEN, Kind.APP_PASSWORD})

# What bbdash needs, in each vocabulary. API tokens carry the new scope names, which imply nothing; app passwords and
# access tokens carry the legacy names, where `pullrequest:write` implies `repository:write` and so on.
_READ_SCOPES: dict[str, tuple[str, ...]] = {
    Kind.API_TOKEN: (
        "read:user:bitbucket",
        "read:workspace:bitbucket",
        "read:repository:bitbucket",
        "read:pullrequest:bitbucket",
    ),
    Kind.APP_PASSWORD: ("account", "repository", "pullrequest"),
    # Repository and project access tokens cannot hold `account`; they are told their workspace instead.
    Kind.ACCESS_TOKEN: ("repository", "pullrequest"),
}
_WRITE_SCOPES: dict[str, tuple[str, ...]] = {
    Kind.API_TOKEN: ("write:repository:bitbucket", "write:pullrequest:bitbucket"),
    Kind.APP_PASSWORD: ("repository:write", "pullrequest:write"),
    Kind.ACCESS_TOKEN: ("repository:write", "pullrequest:write"),
}
# The scope each probe needs, per vocabulary: a probe that answered 200 proves its scope.
_PROBE_SCOPES = {
    "user": {Kind.API_TOKEN: "read:user:bitbucket", "legacy": "account"},
    "workspaces": {Kind.API_TOKEN: "read:workspace:bitbucket", "legacy": "account"},
    "repositories": {Kind.API_TOKEN: "read:repository:bitbucket", "legacy": "repository"},
    "pullrequests": {Kind.API_TOKEN: "read:pullrequest:bitbucket", "legacy": "pullrequest"},
}


class CredentialRejected(Exception):
    """Bitbucket refused the credential (or could not be asked); `result.message` says why. Nothing was saved."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result


@dataclass(frozen=True)
class CheckedWorkspace:
    slug: str
    name: str
    uuid: str
    administrator: bool


@dataclass(frozen=True)
class CheckResult:
    """What Bitbucket said about a credential. Never holds the secret.

    `accepted` is False when Bitbucket rejected the credential (401) or could not be asked; `message` is then
    Bitbucket's own message (or the reason it could not be asked). `scopes` are the scopes found: exactly what
    Bitbucket granted when a probe was refused for a scope (its answer lists them), else the scopes that the probes
    which answered prove. `can_write` is None when Bitbucket gave no way to know without writing something.
    """

    accepted: bool
    status: str
    message: str = ""
    account: records.Account | None = None
    workspaces: tuple[CheckedWorkspace, ...] = ()
    scopes: tuple[str, ...] = ()
    scopes_complete: bool = False
    can_read: bool = False
    can_write: bool | None = None
    missing_scopes: tuple[str, ...] = ()
    scope_kind: str = ""
    scope_name: str = ""
    request_id: str = ""
    notes: tuple[str, ...] = ()
    requests: tuple[RequestRecord, ...] = field(default=(), repr=False, compare=False)

    @property
    def valid(self) -> bool:
        return self.status == Status.VALID

    def summary(self) -> str:
        """One line for the audit log and the pages."""
        if not self.accepted:
            return self.message
        who = self.account.display_name if self.account else (self.scope_name or "an access token")
        seen = ", ".join(ws.slug + (" (admin)" if ws.administrator else "") for ws in self.workspaces)
        parts = [f"acts as {who}", f"sees {seen}"]
        parts.append("read" + ("/write" if self.can_write else "" if self.can_write is False else "/write unverified"))
        if self.missing_scopes:
            parts.append("missing scopes: " + ", ".join(self.missing_scopes))
        return "; ".join(parts)

    def details(self) -> dict:
        return {
            "status": self.status,
            "account": self.account.display_name if self.account else "",
            "workspaces": [ws.slug for ws in self.workspaces],
            "scopes": list(self.scopes),
            "missing_scopes": list(self.missing_scopes),
            "can_write": self.can_write,
            "scope_kind": self.scope_kind,
            "scope_name": self.scope_name,
        }


# -- checking ---------------------------------------------------------------------------------------------------


@sensitive_variables()
def check_credential(
    *,
    kind: str,
    secret: str,
    login: str = "",
    api_url: str = "",
    workspace: str = "",
    session=None,
    on_request: Callable[[RequestRecord], None] | None = None,
) -> CheckResult:
    """Ask Bitbucket what a (not yet saved) credential can do. Never raises for anything Bitbucket answers.

    `workspace` is the slug a project or repository access token belongs to (those cannot list their workspaces);
    other kinds ignore it unless they see no workspace of their own. Raises `sites.ApiUrlNotAllowed` (a ValueError),
    before any request, when `api_url` is not one of the configured Bitbucket endpoints.
    """
    base_url = sites.checked_api_url(api_url)
    if (mismatch := kind_mismatch(kind, base_url)) is not None:
        return CheckResult(accepted=False, status=Status.INVALID, message=mismatch)
    seen: list[RequestRecord] = []

    def record(request: RequestRecord) -> None:
        seen.append(request)
        if on_request is not None:
            on_request(request)

    with clients.client_for_secret(
        kind=kind, login=login, secret=secret, api_url=base_url, session=session, on_request=record
    ) as client:
        result = check_with_client(client, kind=kind, workspace_hint=workspace.strip().strip("/"), login=login)
    return _with_requests(result, tuple(seen))


def kind_mismatch(kind: str, api_url: str) -> str | None:
    """Why a credential of `kind` cannot be used with the site at `api_url` (None: it can). Decided before any
    request, so a Cloud secret is never sent to a Data Center server, nor the other way round."""
    label = Kind(kind).label if kind in Kind.values else kind
    if sites.site_kind(api_url) == "datacenter":
        if kind not in DATACENTER_KINDS:
            return (
                f"{api_url} is a Bitbucket Data Center site: use an HTTP access token (http_access_token) or a "
                f"username and password (basic), not a Bitbucket Cloud {label}."
            )
    elif kind in DATACENTER_KINDS:
        return (
            f"{api_url} is Bitbucket Cloud: a Data Center {label} cannot be used there; use an API token "
            "(with the Atlassian account email) or an access token."
        )
    return None


def _with_requests(result: CheckResult, requests: tuple[RequestRecord, ...]) -> CheckResult:
    return CheckResult(**{**result.__dict__, "requests": requests})


class _Probe:
    """The state of one check: what each call proved, and the scopes Bitbucket listed when it refused one."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.proven: set[str] = set()
        self.granted: tuple[str, ...] | None = None
        self.refused_for_scope = False

    def vocabulary(self) -> str:
        return Kind.API_TOKEN if self.kind == Kind.API_TOKEN else "legacy"

    def prove(self, probe: str) -> None:
        self.proven.add(_PROBE_SCOPES[probe][self.vocabulary()])

    def learn(self, error: AuthError) -> bool:
        """True when `error` is a missing-scope refusal (whose answer lists every scope the credential holds)."""
        if error.status == 403 and error.required_scopes:
            self.refused_for_scope = True
            self.granted = tuple(sorted(set(error.granted_scopes)))
            return True
        return False


def _rejected(kind: str, error: BitbucketError) -> CheckResult:
    if isinstance(error, AppPasswordRemoved) or (kind == Kind.APP_PASSWORD and error.status == 401):
        return CheckResult(
            accepted=False,
            status=Status.EXPIRED,
            message=f"Bitbucket refused the app password: {_bitbucket_message(error)}. {APP_PASSWORDS_REMOVED}",
            request_id=error.request_id or "",
        )
    if error.status in (401, 403):
        return CheckResult(
            accepted=False,
            status=Status.INVALID,
            message=f"Bitbucket refused the credential: {error.message}",
            request_id=error.request_id or "",
        )
    return CheckResult(
        accepted=False,
        status=Status.UNCHECKED,
        message=f"Bitbucket could not be asked about the credential ({type(error).__name__}): {error.message}",
        request_id=error.request_id or "",
    )


def _bitbucket_message(error: BitbucketError) -> str:
    # The client appends its own notice about app passwords to Bitbucket's message; ours says it once, in full.
    return error.message.split(" — ", 1)[0].rstrip(".")


def check_with_client(client: BitbucketClient, *, kind: str, workspace_hint: str, login: str = "") -> CheckResult:
    """The check itself, with a client already speaking as the credential (a stored one is checked again this way)."""
    if (mismatch := kind_mismatch(kind, client.base_url)) is not None:
        return CheckResult(accepted=False, status=Status.INVALID, message=mismatch)
    if isinstance(client, DataCenterClient):
        return check_datacenter(client, kind=kind, login=login, hint=workspace_hint)
    probe = _Probe(kind)
    notes: list[str] = []
    if kind == Kind.APP_PASSWORD:
        notes.append("App passwords are legacy: " + APP_PASSWORDS_REMOVED)

    account: records.Account | None = None
    try:
        account = client.get_current_user()
        probe.prove("user")
    except AuthError as error:
        if not probe.learn(error):
            return _rejected(kind, error)
    except BitbucketError as error:
        return _rejected(kind, error)

    workspaces: list[CheckedWorkspace] = []
    listed_workspaces = False
    try:
        for access in client.iter_user_workspaces():
            ws = access.workspace
            workspaces.append(CheckedWorkspace(ws.slug, ws.name or ws.slug, ws.uuid, access.administrator))
        listed_workspaces = True
        probe.prove("workspaces")
    except AuthError as error:
        if not probe.learn(error):
            return _rejected(kind, error)
    except BitbucketError as error:
        return _rejected(kind, error)

    if workspace_hint and workspace_hint.split("/")[0] not in {ws.slug for ws in workspaces}:
        try:
            found = client.get_workspace(workspace_hint.split("/")[0])
        except NotFound:
            return CheckResult(
                accepted=False,
                status=Status.INVALID,
                message=f"The credential cannot see a workspace named {workspace_hint.split('/')[0]!r}.",
            )
        except AuthError as error:
            if not probe.learn(error):
                return _rejected(kind, error)
            found = None
        except BitbucketError as error:
            return _rejected(kind, error)
        if found is not None:
            workspaces.append(CheckedWorkspace(found.slug, found.name or found.slug, found.uuid, False))

    if not workspaces:
        if kind == Kind.ACCESS_TOKEN and not listed_workspaces:
            message = (
                "This access token cannot list its workspaces (only workspace access tokens with the account scope "
                "can): enter the workspace it belongs to."
            )
        else:
            message = "The credential works but sees no Bitbucket workspace, so bbdash could show nothing with it."
        return CheckResult(accepted=False, status=Status.INVALID, message=message, account=account)

    # Read access: list one page of the first workspace's repositories, then one page of a repository's PRs.
    first = workspaces[0].slug
    repositories = []
    try:
        repositories = list(islice(client.iter_repositories(first), 2))
        probe.prove("repositories")
    except AuthError as error:
        if not probe.learn(error):
            notes.append(f"Listing the repositories of {first} was refused: {error.message}")
    except BitbucketError as error:
        return _rejected(kind, error)
    if repositories:
        try:
            next(iter(client.iter_pull_requests(first, repositories[0].slug, states=ALL_STATES)), None)
            probe.prove("pullrequests")
        except AuthError as error:
            if not probe.learn(error):
                notes.append(f"Listing pull requests of {repositories[0].full_name} was refused: {error.message}")
        except BitbucketError as error:
            return _rejected(kind, error)
    else:
        notes.append(f"{first} has no repository this credential can see, so reading pull requests was not tried.")

    scope_kind, scope_name = "", ""
    if kind == Kind.ACCESS_TOKEN:
        scope_kind, scope_name = _access_token_reach(probe, listed_workspaces, first, repositories)

    if probe.granted is not None:
        scopes = probe.granted
        missing_read = tuple(s for s in _READ_SCOPES[kind] if s not in scopes)
        missing_write = tuple(s for s in _WRITE_SCOPES[kind] if s not in scopes)
        can_write: bool | None = not missing_write
    else:
        scopes = tuple(sorted(probe.proven))
        missing_read = ()
        missing_write = ()
        can_write = None
        notes.append("Bitbucket lists a credential's scopes only when it refuses one; write access was not verified.")
    can_read = _PROBE_SCOPES["repositories"][probe.vocabulary()] in scopes
    return CheckResult(
        accepted=True,
        status=Status.VALID,
        account=account,
        workspaces=tuple(workspaces),
        scopes=tuple(scopes),
        scopes_complete=probe.granted is not None,
        can_read=can_read,
        can_write=can_write,
        missing_scopes=missing_read + missing_write,
        scope_kind=scope_kind,
        scope_name=scope_name,
        notes=tuple(notes),
    )


def _access_token_reach(probe: _Probe, listed_workspaces: bool, workspace: str, repositories: list) -> tuple[str, str]:
    """What an access token is scoped to. Only workspace tokens may hold `account` (so list their workspaces); a
    project token holds `project`; a repository token neither."""
    if listed_workspaces:
        return Credential.ScopeKind.WORKSPACE, workspace
    granted = set(probe.granted or ())
    if "project" in granted and repositories and repositories[0].project_key:
        return Credential.ScopeKind.PROJECT, f"{workspace}/{repositories[0].project_key}"
    if len(repositories) == 1:
        return Credential.ScopeKind.REPOSITORY, repositories[0].full_name
    return "", workspace


# -- Data Center ------------------------------------------------------------------------------------------------


def check_datacenter(client: DataCenterClient, *, kind: str, login: str, hint: str = "") -> CheckResult:
    """A Data Center credential: who it acts as (``X-AUSERNAME``, then the user), which projects it sees (the
    listing, and the user's personal ``~user`` project, which listings leave out), whether it reads repositories and
    pull requests, and what it may write where Data Center lets that be known without writing.

    Data Center has no scopes: a token holds permissions (``PROJECT_READ`` ... ``REPO_ADMIN``), capped by its user's
    own. A project or repository token acts as a service user of its own and sees its project or repository only;
    ``hint`` (``KEY`` or ``KEY/slug``) names it when the listings cannot tell the two apart."""
    notes: list[str] = []
    account: records.Account | None
    try:
        account = client.get_current_user()
    except NotFound:
        # The server took the token (its answer named a user) but has no user record to show for it: the service
        # user of a project or repository token, which ``/users/{slug}`` does not know.
        if kind == Kind.BASIC:
            return CheckResult(
                accepted=False, status=Status.INVALID, message="Data Center has no user for this username."
            )
        account = None
    except BitbucketError as error:
        return _rejected(kind, error)
    token_user = account is None or account.type == "app_user"  # a SERVICE user: a project or repository token
    who = (account.account_id or account.nickname or "") if account is not None else ""
    if login and not token_user and login.strip().lower() != who.lower():
        return CheckResult(
            accepted=False,
            status=Status.INVALID,
            message=f"This credential acts as {who!r} on Bitbucket, not as {login.strip()!r}: give the Data Center "
            "username it belongs to (or the right token).",
            account=account,
        )
    if login and token_user:
        return CheckResult(
            accepted=False,
            status=Status.INVALID,
            message=f"This is a project or repository access token (it acts as a service user of its own, not as "
            f"{login.strip()!r}): leave the username empty for it.",
            account=account,
        )
    if token_user and kind == Kind.BASIC:
        return CheckResult(
            accepted=False,
            status=Status.INVALID,
            message="Project and repository tokens are sent as Bearer tokens only: choose http_access_token.",
        )

    workspaces: list[CheckedWorkspace] = []
    try:
        for access in client.iter_user_workspaces():
            ws = access.workspace
            workspaces.append(CheckedWorkspace(ws.slug, ws.name or ws.slug, ws.uuid, access.administrator))
        if not token_user and account is not None and account.nickname:
            personal = personal_project(client, account.nickname)
            if personal is not None and personal.slug not in {w.slug for w in workspaces}:
                # Its owner administers a personal project; listings never name it (reference §2.3).
                workspaces.append(CheckedWorkspace(personal.slug, personal.name or personal.slug, personal.uuid, True))
    except BitbucketError as error:
        return _rejected(kind, error)
    if not workspaces:
        return CheckResult(
            accepted=False,
            status=Status.INVALID,
            message="The credential works but sees no Data Center project, so bbdash could show nothing with it.",
            account=account,
        )

    first = workspaces[0].slug
    repositories: list[records.Repository] = []
    try:
        repositories = list(client.iter_repositories(first))
        if repositories:
            next(iter(client.iter_pull_requests(first, repositories[0].slug, states=ALL_STATES)), None)
        else:
            notes.append(f"{first} has no repository this credential can read.")
    except AuthError as error:
        notes.append(f"Reading the repositories of {first} was refused: {error.message}")
    except BitbucketError as error:
        return _rejected(kind, error)

    scope_kind, scope_name = "", ""
    if token_user:
        scope_kind, scope_name = _datacenter_token_reach(workspaces, repositories, hint)

    can_write = _datacenter_can_write(client, workspaces, notes)
    return CheckResult(
        accepted=True,
        status=Status.VALID,
        account=account,
        workspaces=tuple(workspaces),
        can_read=bool(repositories),
        can_write=can_write,
        scope_kind=scope_kind,
        scope_name=scope_name,
        notes=tuple(notes),
    )


def personal_project(client: DataCenterClient, user_slug: str) -> records.Workspace | None:
    """The user's personal project (``~slug``), None when they have none or may not see it (one request)."""
    try:
        return client.get_workspace(f"~{user_slug}")
    except (NotFound, AuthError):
        return None


def _datacenter_token_reach(
    workspaces: list[CheckedWorkspace], repositories: list[records.Repository], hint: str
) -> tuple[str, str]:
    """A project token sees its project; a repository token one repository (its project shows in the listing
    because a repository of it is readable). The hint, when it names what the token sees, settles it."""
    project = workspaces[0].slug
    if hint:
        key, _, slug = hint.partition("/")
        if key.upper() == project.upper() and not slug:
            return Credential.ScopeKind.PROJECT, project
        if key.upper() == project.upper() and slug in {r.slug for r in repositories}:
            return Credential.ScopeKind.REPOSITORY, f"{project}/{slug}"
    if len(repositories) == 1:
        # A project token of a one-repository project reads the same: treated as the narrower of the two.
        return Credential.ScopeKind.REPOSITORY, f"{project}/{repositories[0].slug}"
    return Credential.ScopeKind.PROJECT, project


def _datacenter_can_write(
    client: DataCenterClient, workspaces: list[CheckedWorkspace], notes: list[str]
) -> bool | None:
    """True when the credential provably may write: it administers a project it sees (project admin implies write),
    or its repository permissions say write somewhere; False when they say read only; None when neither is known."""
    if any(ws.administrator for ws in workspaces):
        return True
    levels: set[str] = set()
    for ws in workspaces:
        try:
            levels.update(p.permission for p in client.iter_user_repository_permissions(ws.slug))
        except Unsupported:
            notes.append("Write access was not verified: this Data Center client cannot list permissions yet.")
            return None
        except BitbucketError:
            continue
    if levels & {"write", "admin"}:
        return True
    if levels:
        return False
    notes.append("Write access was not verified: Data Center said nothing about it without writing.")
    return None
