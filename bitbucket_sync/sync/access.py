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
* A Data Center credential: the projects it can see (and its owner's personal ``~user`` project, which Data Center's
  project listing may leave out), and each project's repositories as it sees them, read access (the dashboard only
  reads from Data Center for now).

A user holds one active credential per site: their rows are the union of what each credential sees on its site.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists

from bitbucket_sync import sites
from bitbucket_sync.client import AuthError, BitbucketClient, NotFound
from bitbucket_sync.credentials import clients
from bitbucket_sync.models import Credential, Repository, RepositoryAccess, Workspace, WorkspaceAccess
from bitbucket_sync.sync import engine, upserts


def active_credential(user) -> Credential | None:
    return Credential.objects.active_for(user).first()


def discover_workspaces(
    *, credential: Credential, client: BitbucketClient | None = None
) -> list[tuple[Workspace, bool]]:
    """The workspaces a person's credential belongs to, as rows (with ``administrator``).

    Until an admin picks one, each workspace found takes the best credential that found it as its sync credential
    (`_offer_sync_credential`).
    """
    client = client or clients.client_for(credential, purpose="sync")
    found = []
    for access in client.iter_user_workspaces():
        workspace, _ = upserts.upsert_workspace(access.workspace, api_url=client.base_url)
        found.append((workspace, access.administrator))
    personal = _personal_project(credential, client, listed={ws.key for ws, _ in found})
    if personal is not None:
        found.append((personal, True))  # a personal project's owner administers it
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


def _personal_project(credential: Credential, client: BitbucketClient, *, listed: set[str]) -> Workspace | None:
    """A Data Center credential's owner's personal project (``~slug``), read by its key when the listing left it out
    (one request); None on Cloud, for a token of a project or repository, or when the user has none."""
    if sites.site_kind(credential.api_url) != "datacenter" or credential.scope_kind:
        return None
    slug = (credential.account.nickname if credential.account else "") or credential.login.strip().lower()
    key = f"~{slug}"
    if not slug or key in listed:
        return None
    try:
        record = client.get_workspace(key)
    except (NotFound, AuthError):
        return None
    workspace, _ = upserts.upsert_workspace(record, api_url=client.base_url)
    return workspace


def _token_workspace(credential: Credential, client: BitbucketClient) -> Workspace | None:
    slug = (credential.scope_name or "").split("/", 1)[0]
    if not slug:
        return None
    workspace, _ = upserts.upsert_workspace(client.get_workspace(slug), api_url=client.base_url)
    _offer_sync_credential(workspace, credential)
    return workspace


def sync_user_access(*, user, client: BitbucketClient | None = None) -> dict[str, int]:
    """Rebuild the user's workspace and repository access rows from what their own credentials may see (one per
    site; ``client``, when given, is used for the credential of its site).

    Without an active credential the user sees nothing. Returns how many rows of each kind the user now has.
    """
    credentials = list(Credential.objects.active_for(user).select_related("account").order_by("pk"))
    if not credentials:
        clear_user_access(user)
        return {"workspaces": 0, "repositories": 0}
    workspaces: list[tuple[Workspace, bool]] = []
    permissions: dict[int, str] = {}  # repository pk -> permission
    for credential in credentials:
        site_client = client
        if site_client is None or not sites.same_site(site_client.base_url, credential.api_url):
            site_client = clients.client_for(credential, purpose="sync")
        found, allowed = _access_through(credential, site_client)
        workspaces += found
        permissions.update(allowed)
    if not _replace_access(user, credentials, workspaces, permissions):
        return {"workspaces": 0, "repositories": 0}
    return {"workspaces": len(workspaces), "repositories": len(permissions)}


def _access_through(
    credential: Credential, client: BitbucketClient
) -> tuple[list[tuple[Workspace, bool]], dict[int, str]]:
    """The workspaces and repository permissions (repository pk -> permission) one credential sees on its site."""
    permissions: dict[int, str] = {}
    if credential.kind == Credential.Kind.ACCESS_TOKEN:
        workspace = _token_workspace(credential, client)
        workspaces = [(workspace, False)] if workspace else []
        level = RepositoryAccess.Permission.WRITE if credential.can_write else RepositoryAccess.Permission.READ
        for workspace, _ in workspaces:
            uuids = [r.uuid for r in client.iter_repositories(workspace.key)]
            for pk in _live_repositories(workspace, uuids).values():
                permissions[pk] = level
    elif sites.site_kind(credential.api_url) == "datacenter":
        workspaces = discover_workspaces(credential=credential, client=client)
        for workspace, _ in workspaces:
            uuids = [r.uuid for r in client.iter_repositories(workspace.key)]
            for pk in _live_repositories(workspace, uuids).values():
                permissions[pk] = RepositoryAccess.Permission.READ
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
                if explicit[uuid] in RepositoryAccess.Permission.values:
                    permissions[pk] = explicit[uuid]
            public = Repository.objects.live().filter(workspace=workspace, is_private=False)
            for pk in public.values_list("pk", flat=True):
                permissions.setdefault(pk, RepositoryAccess.Permission.READ)
    return workspaces, permissions


def clear_user_access(user) -> None:
    """The user sees nothing (their credential was revoked, or they have none)."""
    with transaction.atomic():
        WorkspaceAccess.objects.filter(user=user).delete()
        RepositoryAccess.objects.filter(user=user).delete()


def _live_repositories(workspace: Workspace, uuids: list[str]) -> dict[str, int]:
    rows = Repository.objects.live().filter(workspace=workspace, bitbucket_uuid__in=uuids)
    return dict(rows.values_list("bitbucket_uuid", "pk"))


def _replace_access(
    user, credentials: list[Credential], workspaces: list[tuple[Workspace, bool]], permissions: dict[int, str]
) -> bool:
    """Write the rows the listings found; False (and nothing left) when a credential that read them was revoked or
    replaced while they were being read."""
    pks = [credential.pk for credential in credentials]
    with transaction.atomic():
        if len(list(Credential.objects.select_for_update().active().filter(pk__in=pks))) != len(pks):
            WorkspaceAccess.objects.filter(user=user).delete()
            RepositoryAccess.objects.filter(user=user).delete()
            return False
        admin = {ws.pk: administrator for ws, administrator in workspaces}
        WorkspaceAccess.objects.filter(user=user).exclude(workspace_id__in=admin).delete()
        current = {a.workspace_id: a for a in WorkspaceAccess.objects.filter(user=user)}
        for pk, administrator in admin.items():
            row = current.get(pk)
            if row is None:
                WorkspaceAccess.objects.create(user=user, workspace_id=pk, administrator=administrator)
            elif row.administrator != administrator:
                row.administrator = administrator
                row.save(update_fields=["administrator", "synced_at"])
        RepositoryAccess.objects.filter(user=user).exclude(repository_id__in=permissions).delete()
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
