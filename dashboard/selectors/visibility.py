"""Who may see what: the user's credential and account, and every `*_for_user` look-up (Http404 otherwise).

A dashboard user sees a workspace, repository or pull request only through the access rows their own Bitbucket
credential produced (`WorkspaceAccess`, `RepositoryAccess`): the QuerySet methods `live()` and `visible_to(user)`.
Staff get no more than their own credential allows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.db.models import Exists, F, OuterRef, QuerySet
from django.http import Http404

from bitbucket_sync.models import (
    Account,
    Credential,
    Participant,
    PullRequest,
    Repository,
    RepositoryAccess,
    Workspace,
    WorkspaceMembership,
)
from bitbucket_sync.models.credentials import pick_for_site
from dashboard.selectors.shared import participants_prefetch

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations  # a dev dependency: only the type checker imports it


def active_credentials(user) -> list[Credential]:
    """The user's active credentials, one per site, with their accounts (one query)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Credential.objects.active_for(user).select_related("account").order_by("api_url"))


def active_credential(user, *, workspace: Workspace) -> Credential | None:
    """The user's credential for the workspace's site (`CredentialQuerySet.for_site`): every read and write about
    the workspace's data is sent with it, and no other."""
    return pick_for_site(active_credentials(user), workspace.api_url)


def account_for_user(user, *, workspace: Workspace) -> Account | None:
    """The user's Bitbucket account on the workspace's site: the one their credential for that site resolved to when
    it was checked (None: no credential there, or not linked yet)."""
    credential = active_credential(user, workspace=workspace)
    return credential.account if credential else None


def accounts_for_user(user) -> list[Account]:
    """Every Bitbucket account of the user, one per site they hold a checked credential for (one query): "who am I"
    across workspaces of several sites (waiting on me, my pull requests)."""
    return [c.account for c in active_credentials(user) if c.account is not None]


def visible_workspaces(user) -> QuerySet[Workspace]:
    return Workspace.objects.live().visible_to(user)


def visible_workspaces_by_slug(user, *, slug: str = "") -> QuerySet[Workspace]:
    """The user's workspaces in slug order; only the one named `slug` when it is given (none if they cannot see it)."""
    workspaces = visible_workspaces(user).order_by("slug")
    return workspaces.filter(slug=slug) if slug else workspaces


def visible_repositories(user, *, workspace: Workspace | None = None) -> QuerySet[Repository]:
    repositories = Repository.objects.live().visible_to(user)
    if workspace is not None:
        repositories = repositories.filter(workspace=workspace)
    return repositories


def visible_repository_ids(user, *, workspace: Workspace | None = None) -> QuerySet:
    return visible_repositories(user, workspace=workspace).values("pk")


def visible_pull_requests(user, *, workspace: Workspace | None = None) -> QuerySet[PullRequest]:
    if workspace is None:
        return PullRequest.objects.visible_to(user)
    # The subquery names the workspace too, so the database reads only its repositories' access rows.
    return PullRequest.objects.filter(
        repository__in=visible_repository_ids(user, workspace=workspace), workspace=workspace
    )


def workspace_for_user(user, *, slug: str) -> Workspace:
    workspace = visible_workspaces(user).filter(slug=slug).first()
    if workspace is None:
        raise Http404("No such workspace, or your Bitbucket credential cannot see it.")
    return workspace


class _UserPermission(TypedDict):
    permission: str  # the user's read/write/admin, from their RepositoryAccess row
    can_write: bool  # decided here once; the view's write check and every action button read it


def repository_for_user(user, *, workspace: Workspace, slug: str) -> WithAnnotations[Repository, _UserPermission]:
    repository = (
        visible_repositories(user, workspace=workspace)
        .filter(slug=slug)
        .select_related("workspace", "project")
        .annotate(permission=F("user_access__permission"))
        .first()
    )
    if repository is None:
        raise Http404("No such repository, or your Bitbucket credential cannot see it.")
    page_repository = cast(Any, repository)  # can_write is set here, not annotated: see _UserPermission
    page_repository.can_write = RepositoryAccess.permits_writing(repository.permission)
    return page_repository


def pull_request_for_user(user, *, repository: Repository, number: int) -> PullRequest:
    """`repository` must come from `repository_for_user`."""
    pull_request = (
        PullRequest.objects.filter(repository=repository, number=number)
        .select_related("author", "closed_by", "repository", "workspace")
        .prefetch_related(participants_prefetch(to_attr="people"))
        .first()
    )
    if pull_request is None:
        raise Http404("No such pull request in the mirror, or your Bitbucket credential cannot see it.")
    # `people` is the prefetch's to_attr; the page reads the two lists below as attributes of the pull request.
    page_pr = cast(Any, pull_request)
    page_pr.reviewers = [p for p in page_pr.people if p.role == Participant.Role.REVIEWER]
    page_pr.other_participants = [p for p in page_pr.people if p.role != Participant.Role.REVIEWER]
    return pull_request


def person_for_user(user, *, account_id: str) -> Account:
    """A person the user may look at: a member of a workspace the user sees."""
    person = (
        Account.objects.filter(account_id=account_id)
        .filter(
            Exists(
                WorkspaceMembership.objects.live().filter(
                    account=OuterRef("pk"), workspace__in=visible_workspaces(user)
                )
            )
        )
        .first()
    )
    if person is None or not account_id:
        raise Http404("No such person in the workspaces you can see.")
    return person
