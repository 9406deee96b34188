"""The mirror of one workspace as plain data, for backups and checks (``manage.py bitbucket_export``).

The shape is documented and stable; fields may be added, never renamed or removed::

    {"workspace": {"uuid", "slug", "name"},
     "members": [{"uuid", "account_id", "display_name"}],
     "repositories": [{"uuid", "slug", "name", "is_private", "main_branch", "project_key",
                       "branches": [{"name", "target_hash"}],
                       "watchers": [{"uuid", "display_name"}],
                       "pull_requests": [{"id", "title", "state", "draft", "author_uuid", "source_branch",
                                          "destination_branch", "reviewers": [uuid], "approved_by": [uuid],
                                          "updated_on", "task_count", "statuses": [{"key", "state"}]}]}]}

Uuids are as Bitbucket writes them (with braces); timestamps are ISO 8601 in UTC. Lists are sorted (members and
watchers by uuid, repositories by slug, branches by name, pull requests by id, uuids lexically) so two exports of
the same mirror are byte-identical. Rows marked removed are left out unless ``include_removed`` is set, and then
carry ``"removed": true``.

A Data Center project exports in the same shape, with Bitbucket Data Center's own identifiers: the project's and
the repositories' numeric ids as strings (``"6"``), people by user slug (members' ``uuid``, ``author_uuid``,
``reviewers``, ``approved_by``; members' ``account_id`` is the user name), ``slug`` the project key, ``main_branch``
the default branch's display id, and ``watchers`` always empty (Data Center has none).

``task_count`` is the pull request's open tasks as Bitbucket counts them. ``statuses`` are an open pull request's
build statuses (Bitbucket's commit statuses of its source commit, as last read), sorted by key, with ``state`` one of
SUCCESSFUL, FAILED, INPROGRESS, STOPPED; a closed pull request's list is empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC

from bitbucket_sync import sites
from bitbucket_sync.client.datacenter.convert import native_id
from bitbucket_sync.models import (
    Account,
    Branch,
    BuildStatus,
    Participant,
    PullRequest,
    Repository,
    RepositoryWatcher,
    Workspace,
    WorkspaceMembership,
)
from bitbucket_sync.models.mirror import LiveQuerySet

# The mirror's id of a Data Center object: ``{repository-12}``, or qualified by its site ``{repository-12@1a2b3c4d}``.


class _Identifiers:
    """How the export names things: Bitbucket's own identifiers for the workspace's site."""

    def __init__(self, workspace: Workspace):
        self.datacenter = bool(workspace.api_url) and sites.site_kind(workspace.api_url) == "datacenter"

    def thing(self, uuid: str) -> str:
        """A workspace (project) or repository: Cloud's uuid with braces, Data Center's numeric id."""
        return native_id(uuid) if self.datacenter else uuid

    def person(self, account: Account) -> str:
        """Cloud's account uuid, Data Center's user slug (the mirror's ``nickname``)."""
        return (account.nickname or account.account_id) if self.datacenter else account.bitbucket_uuid


def _live[Q: LiveQuerySet](queryset: Q, include_removed: bool) -> Q:
    return queryset if include_removed else queryset.live()


def _removed(row, include_removed: bool) -> dict:
    return {"removed": row.removed_at is not None} if include_removed else {}


def export_workspace(*, workspace: Workspace, include_removed: bool = False) -> dict:
    """The workspace's mirror as a dict of the documented shape."""
    ids = _Identifiers(workspace)
    members = _live(WorkspaceMembership.objects.filter(workspace=workspace), include_removed).select_related("account")
    return {
        "workspace": {"uuid": ids.thing(workspace.bitbucket_uuid), "slug": workspace.key, "name": workspace.name},
        "members": sorted(
            (
                {
                    "uuid": ids.person(m.account),
                    "account_id": m.account.account_id,
                    "display_name": m.account.display_name,
                    **_removed(m, include_removed),
                }
                for m in members
            ),
            key=lambda m: m["uuid"],
        ),
        "repositories": list(_repositories(workspace, include_removed, ids)),
    }


def _repositories(workspace: Workspace, include_removed: bool, ids: _Identifiers) -> Iterator[dict]:
    repositories = _live(Repository.objects.filter(workspace=workspace), include_removed).select_related("project")
    for repo in repositories.order_by("slug", "bitbucket_uuid"):
        branches = _live(Branch.objects.filter(repository=repo), include_removed).order_by("name")
        watchers = _live(RepositoryWatcher.objects.filter(repository=repo), include_removed).select_related("account")
        if ids.datacenter:
            watchers = watchers.none()
        yield {
            "uuid": ids.thing(repo.bitbucket_uuid),
            "slug": repo.slug,
            "name": repo.name,
            "is_private": repo.is_private,
            "main_branch": repo.main_branch,
            "project_key": repo.project.key if repo.project else None,
            **_removed(repo, include_removed),
            "branches": [
                {"name": b.name, "target_hash": b.target_hash, **_removed(b, include_removed)} for b in branches
            ],
            "watchers": sorted(
                (
                    {
                        "uuid": w.account.bitbucket_uuid,
                        "display_name": w.account.display_name,
                        **_removed(w, include_removed),
                    }
                    for w in watchers
                ),
                key=lambda w: w["uuid"],
            ),
            "pull_requests": _pull_requests(repo, ids),
        }


def _pull_requests(repo: Repository, ids: _Identifiers) -> list[dict]:
    people: dict[int, list[tuple[str, str, bool]]] = defaultdict(list)
    participants = Participant.objects.filter(pull_request__repository=repo).select_related("account")
    for participant in participants:
        people[participant.pull_request_id].append(
            (ids.person(participant.account), participant.role, participant.approved)
        )
    builds: dict[int, list[dict[str, str]]] = defaultdict(list)
    open_statuses = BuildStatus.objects.filter(
        pull_request__repository=repo, pull_request__state=PullRequest.State.OPEN
    ).order_by("key")
    for pr_id, key, state in open_statuses.values_list("pull_request_id", "key", "state"):
        builds[pr_id].append({"key": key, "state": state})
    out = []
    for pr in PullRequest.objects.filter(repository=repo).select_related("author").order_by("number"):
        out.append(
            {
                "id": pr.number,
                "title": pr.title,
                "state": pr.state,
                "draft": pr.draft,
                "author_uuid": ids.person(pr.author) if pr.author else None,
                "source_branch": pr.source_branch,
                "destination_branch": pr.destination_branch,
                "reviewers": sorted(u for u, role, _ in people[pr.pk] if role == Participant.Role.REVIEWER),
                "approved_by": sorted(u for u, _, approved in people[pr.pk] if approved),
                "updated_on": pr.updated_on.astimezone(UTC).isoformat(),
                "task_count": pr.task_count,
                "statuses": builds[pr.pk],
            }
        )
    return out
