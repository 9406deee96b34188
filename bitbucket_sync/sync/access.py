"""Who may see what: each dashboard user's workspaces and repositories, read with the user's own credential.

A user sees a workspace or repository on the dashboard only through these rows. They are rebuilt from complete
listings only: a listing that fails part way changes nothing, and a row a complete listing no longer names is
deleted (losing access on Bitbucket hides the repository here on the next sync).

* API tokens and app passwords act as a person: ``/user/workspaces``, then per workspace
  ``/user/workspaces/{ws}/permissions/repositories`` (explicit permissions: workspace admins get admin on every
  repository, others what they were granted); public repositories of a workspace they can see are readable too,
  though Bitbucket lists them nowhere for the user.
* Access tokens cannot query permissions (Bitbucket answers 403): the token's workspace is taken from its scope and
  its repositories from ``/repositories/{ws}`` as the token sees it, with write access when the token may write.
* Data Center: a personal token or a username and password see the projects listed for them plus their personal
  ``~user`` project (listings leave it out); a project or repository token sees its project only. In each project
  the repositories are those ``/projects/{key}/repos`` lists for the credential (exactly what it may read), admin
  in a project it administers, else what its repository permissions say, never more than the credential may write.

A user holds one credential per site: each decides the rows of its own site's workspaces (``for_site``), and a
listing that fails for one site leaves that site's rows as they were and the other sites' refreshed.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists

from bitbucket_sync import sites
from bitbucket_sync.client import (
    AuthError,
    BitbucketClient,
    BitbucketError,
    DataCenterClient,
    NotFound,
    Unsupported,
    records,
)
from bitbucket_sync.credentials import clients, health
from bitbucket_sync.models import Credential, Repository, RepositoryAccess, Workspace, WorkspaceAccess
from bitbucket_sync.models.credentials import pick_for_site
from bitbucket_sync.sync import engine, upserts

Permission = RepositoryAccess.Permission
_LEVEL: dict[str, int] = {Permission.READ: 1, Permission.WRITE: 2, Permission.ADMIN: 3}


def active_credentials(user) -> list[Credential]:
    """The user's active credentials, one per site."""
    return list(Credential.objects.active_for(user).order_by("api_url"))


def credential_for(user, workspace: Workspace) -> Credential | None:
    """The user's credential for the workspace's site (``CredentialQuerySet.for_site``)."""
    return Credential.objects.for_site(user, workspace.api_url)


def discover_workspaces(
    *, credential: Credential, client: BitbucketClient | None = None
) -> list[tuple[Workspace, bool]]:
    """The workspaces a person's credential belongs to, as rows (with ``administrator``).

    Until an admin picks one, each workspace found takes the best credential that found it as its sync credential
    (`_offer_sync_credential`).
    """
    client = client or clients.client_for(credential, purpose="sync")
    found = []
    for access in _workspaces_seen(credential, client):
        workspace, _ = upserts.upsert_workspace(access.workspace, api_url=client.base_url)
        found.append((workspace, access.administrator))
    for workspace, administrator in found:
        _offer_sync_credential(workspace, credential, administrator=administrator)
    return found


def _offer_sync_credential(workspace: Workspace, credential: Credential, *, administrator: bool = False) -> None:
    """The automatic pick: a workspace takes this credential when it syncs it better than the current one (a
    workspace access token, then a workspace owner's credential, then anyone's; `engine.sync_rank`), never over a
    credential an admin picked, and never one revoked while its listing was read (the UPDATE checks it is active,
    so a revocation cannot slip in between the check and the write)."""
    offered = engine.sync_rank(credential, workspace, administrator=administrator)
    with transaction.atomic():
        # Only the workspace row is locked: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join.
        current = (
            Workspace.objects.select_for_update(of=("self",)).select_related("sync_credential").get(pk=workspace.pk)
        )
        if current.sync_credential_pinned or current.sync_credential_id == credential.pk:
            return
        if current.sync_credential is not None and engine.sync_rank(current.sync_credential, current) <= offered:
            return
        still_active = Exists(Credential.objects.active().filter(pk=credential.pk))
        Workspace.objects.filter(still_active, pk=workspace.pk, sync_credential=current.sync_credential_id).update(
            sync_credential=credential
        )


def _workspaces_seen(credential: Credential, client: BitbucketClient) -> list:
    """The workspaces (projects) the credential sees, as ``WorkspaceAccess`` records. On Data Center, a person's
    personal ``~user`` project too (the listings leave it out; its owner administers it); a project or repository
    token sees its own project only."""
    seen = list(client.iter_user_workspaces())
    if isinstance(client, DataCenterClient) and not _datacenter_token(credential):
        slug = _datacenter_user_slug(credential)
        if slug and f"~{slug}".lower() not in {a.workspace.slug.lower() for a in seen}:
            try:
                personal = client.get_workspace(f"~{slug}")
            except (NotFound, AuthError):
                personal = None  # no personal project (or none this credential may see)
            if personal is not None:
                seen.append(records.WorkspaceAccess(workspace=personal, administrator=True))
    if isinstance(client, DataCenterClient) and _datacenter_token(credential):
        key = credential.scope_name.split("/", 1)[0]
        seen = [a for a in seen if a.workspace.slug == key]
    return seen


def _datacenter_token(credential: Credential) -> bool:
    """A Data Center project or repository token (acts as a service user, sees its project or repository only)."""
    return credential.kind == Credential.Kind.HTTP_ACCESS_TOKEN and credential.scope_kind in (
        Credential.ScopeKind.PROJECT,
        Credential.ScopeKind.REPOSITORY,
    )


def _datacenter_user_slug(credential: Credential) -> str:
    """The Data Center user a personal token or a username and password acts as (its personal project's key
    without the ``~``): the account the check linked, else the login."""
    account = credential.account
    return ((account.nickname if account is not None else "") or credential.login).strip().lower()


def _token_workspace(credential: Credential, client: BitbucketClient) -> Workspace | None:
    slug = (credential.scope_name or "").split("/", 1)[0]
    if not slug:
        return None
    workspace, _ = upserts.upsert_workspace(client.get_workspace(slug), api_url=client.base_url)
    _offer_sync_credential(workspace, credential)
    return workspace


def sync_user_access(*, user, client: BitbucketClient | None = None) -> dict[str, int]:
    """Rebuild the user's workspace and repository access rows from what their own credentials may see, each
    credential for its own site's workspaces (``client``, when given, speaks for the credential of its site).

    Without an active credential the user sees nothing. A credential Bitbucket refused is not asked (its site's rows
    stay as they were: ``credentials.health``). A listing that fails leaves its site's rows as they were and
    raises once the other sites are done. Returns how many rows of each kind the user now has from these listings.
    """
    credentials = active_credentials(user)
    if not credentials:
        clear_user_access(user)
        return {"workspaces": 0, "repositories": 0}
    totals = {"workspaces": 0, "repositories": 0}
    failure: BitbucketError | None = None
    for credential in credentials:
        if health.is_refused(credential):
            # Bitbucket refused it: its site's rows stay as they were until it is replaced or found valid again.
            continue
        own = client if client is not None and sites.same_site(client.base_url, credential.api_url) else None
        try:
            own = own or clients.client_for(credential, purpose="sync")
            workspaces, permissions = _reach(credential, own)
        except BitbucketError as error:
            failure = failure or error
            continue
        if _replace_access(user, credential, credentials, workspaces, permissions):
            totals["workspaces"] += len(workspaces)
            totals["repositories"] += len(permissions)
    if failure is not None:
        raise failure
    return totals


def _reach(credential: Credential, client: BitbucketClient) -> tuple[list[tuple[Workspace, bool]], dict[int, str]]:
    """The workspaces one credential sees (with ``administrator``) and its permission on each live repository."""
    permissions: dict[int, str] = {}  # repository pk -> permission
    if isinstance(client, DataCenterClient):
        workspaces = discover_workspaces(credential=credential, client=client)
        for workspace, administrator in workspaces:
            permissions.update(_datacenter_permissions(credential, client, workspace, administrator=administrator))
    elif credential.kind == Credential.Kind.ACCESS_TOKEN:
        workspace = _token_workspace(credential, client)
        workspaces = [(workspace, False)] if workspace else []
        level = Permission.WRITE if credential.can_write else Permission.READ
        for workspace, _ in workspaces:
            uuids = [r.uuid for r in client.iter_repositories(workspace.key)]
            for pk in _live_repositories(workspace, uuids).values():
                permissions[pk] = level
    else:
        workspaces = discover_workspaces(credential=credential, client=client)
        for workspace, _ in workspaces:
            try:
                explicit = {
                    p.repository.uuid: p.permission for p in client.iter_user_repository_permissions(workspace.key)
                }
            except AuthError:
                # 403: a collaborator without workspace access sees no permission list; public repositories remain.
                explicit = {}
            by_uuid = _live_repositories(workspace, list(explicit))
            for uuid, pk in by_uuid.items():
                if explicit[uuid] in Permission.values:
                    permissions[pk] = explicit[uuid]
            public = Repository.objects.live().filter(workspace=workspace, is_private=False)
            for pk in public.values_list("pk", flat=True):
                permissions.setdefault(pk, Permission.READ)
    return workspaces, permissions


def _datacenter_permissions(
    credential: Credential, client: BitbucketClient, workspace: Workspace, *, administrator: bool
) -> dict[int, str]:
    """A Data Center project's repositories as the credential may use them: the ones ``/projects/{key}/repos``
    lists for it (exactly what it may read: its token's permissions and its user's, public ones included); admin in
    a project it administers, else what its repository permissions say (read when they cannot be listed); never
    above read for a credential found unable to write."""
    readable = [r.uuid for r in client.iter_repositories(workspace.key)]
    by_uuid = _live_repositories(workspace, readable)
    explicit: dict[str, str] = {}
    if not administrator:
        try:
            explicit = {p.repository.uuid: p.permission for p in client.iter_user_repository_permissions(workspace.key)}
        except (Unsupported, AuthError):
            explicit = {}  # not listable here: read, which the listing above proved
    ceiling = Permission.ADMIN if credential.can_write else Permission.READ
    permissions = {}
    for uuid, pk in by_uuid.items():
        level = Permission.ADMIN if administrator else explicit.get(uuid, Permission.READ)
        if level not in _LEVEL:
            level = Permission.READ
        permissions[pk] = level if _LEVEL[level] <= _LEVEL[ceiling] else ceiling
    return permissions


def clear_user_access(user, *, credential: Credential | None = None) -> None:
    """The user sees nothing (they have no credential), or nothing of ``credential``'s site (it was revoked)."""
    with transaction.atomic():
        if credential is None:
            WorkspaceAccess.objects.filter(user=user).delete()
            RepositoryAccess.objects.filter(user=user).delete()
            return
        others = [c for c in active_credentials(user) if c.pk != credential.pk]
        workspace_rows, repository_rows = _rows_decided_by(user, credential, [credential, *others])
        WorkspaceAccess.objects.filter(pk__in=workspace_rows).delete()
        RepositoryAccess.objects.filter(pk__in=repository_rows).delete()


def _rows_decided_by(user, credential: Credential, credentials: list[Credential]) -> tuple[list[int], list[int]]:
    """The user's access rows (workspace, repository) that ``credential`` decides: those of workspaces of its site,
    and those of a site the user holds no credential for any more."""

    def decided(api_url: str) -> bool:
        chosen = pick_for_site(credentials, api_url)
        return chosen is None or chosen.pk == credential.pk

    workspace_rows = [
        pk
        for pk, api_url in WorkspaceAccess.objects.filter(user=user).values_list("pk", "workspace__api_url")
        if decided(api_url)
    ]
    repository_rows = [
        pk
        for pk, api_url in RepositoryAccess.objects.filter(user=user).values_list(
            "pk", "repository__workspace__api_url"
        )
        if decided(api_url)
    ]
    return workspace_rows, repository_rows


def _live_repositories(workspace: Workspace, uuids: list[str]) -> dict[str, int]:
    rows = Repository.objects.live().filter(workspace=workspace, bitbucket_uuid__in=uuids)
    return dict(rows.values_list("bitbucket_uuid", "pk"))


def _replace_access(
    user,
    credential: Credential,
    credentials: list[Credential],
    workspaces: list[tuple[Workspace, bool]],
    permissions: dict[int, str],
) -> bool:
    """Write the rows one credential's listings found, in place of the rows it decides (its site's); False (and
    none of its site's rows left) when it was revoked or replaced while they were being read."""
    with transaction.atomic():
        workspace_rows, repository_rows = _rows_decided_by(user, credential, credentials)
        if not Credential.objects.select_for_update().active().filter(pk=credential.pk).exists():
            WorkspaceAccess.objects.filter(pk__in=workspace_rows).delete()
            RepositoryAccess.objects.filter(pk__in=repository_rows).delete()
            return False
        admin = {ws.pk: administrator for ws, administrator in workspaces}
        WorkspaceAccess.objects.filter(pk__in=workspace_rows).exclude(workspace_id__in=admin).delete()
        current = {a.workspace_id: a for a in WorkspaceAccess.objects.filter(user=user)}
        for pk, administrator in admin.items():
            row = current.get(pk)
            if row is None:
                WorkspaceAccess.objects.create(user=user, workspace_id=pk, administrator=administrator)
            elif row.administrator != administrator:
                row.administrator = administrator
                row.save(update_fields=["administrator", "synced_at"])
        RepositoryAccess.objects.filter(pk__in=repository_rows).exclude(repository_id__in=permissions).delete()
        existing = {a.repository_id: a for a in RepositoryAccess.objects.filter(user=user)}
        to_create = []
        for pk, permission in permissions.items():
            access_row = existing.get(pk)
            if access_row is None:
                to_create.append(RepositoryAccess(user=user, repository_id=pk, permission=permission))
            elif access_row.permission != permission:
                access_row.permission = permission
                access_row.save(update_fields=["permission", "synced_at"])
        RepositoryAccess.objects.bulk_create(to_create, ignore_conflicts=True)
    return True
