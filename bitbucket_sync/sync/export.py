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

``task_count`` is the pull request's open tasks as Bitbucket counts them. ``statuses`` are an open pull request's
build statuses (Bitbucket's commit statuses of its source commit, as last read), sorted by key, with ``state`` one of
SUCCESSFUL, FAILED, INPROGRESS, STOPPED; a closed pull request's list is empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC

from bitbucket_sync.models import (
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


def _live[Q: LiveQuerySet](queryset: Q, include_removed: bool) -> Q:
    return queryset if include_removed else queryset.live()


def _removed(row, include_removed: bool) -> dict:
    return {"removed": row.removed_at is not None} if include_removed else {}


def export_workspace(*, workspace: Workspace, include_removed: bool = False) -> dict:
    """The workspace's mirror as a dict of the documented shape."""
    members = _live(WorkspaceMembership.objects.filter(workspace=workspace), include_removed).select_related("account")
    return {
        "workspace": {"uuid": workspace.bitbucket_uuid, "slug": workspace.key, "name": workspace.name},
        "members": sorted(
            (
                {
                    "uuid": m.account.bitbucket_uuid,
                    "account_id": m.account.account_id,
                    "display_name": m.account.display_name,
                    **_removed(m, include_removed),
                }
                for m in members
            ),
            key=lambda m: m["uuid"],
        ),
        "repositories": list(_repositories(workspace, include_removed)),
    }


def _repositories(workspace: Workspace, include_removed: bool) -> Iterator[dict]:
    repositories = _live(Repository.objects.filter(workspace=workspace), include_removed).select_related("project")
    for repo in repositories.order_by("slug", "bitbucket_uuid"):
        branches = _live(Branch.objects.filter(repository=repo), include_removed).order_by("name")
        watchers = _live(RepositoryWatcher.objects.filter(repository=repo), include_removed).select_related("account")
        yield {
            "uuid": repo.bitbucket_uuid,
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
            "pull_requests": _pull_requests(repo),
        }


def _pull_requests(repo: Repository) -> list[dict]:
    people: dict[int, list[tuple[str, str, bool]]] = defaultdict(list)
    for pr_id, uuid, role, approved in Participant.objects.filter(pull_request__repository=repo).values_list(
        "pull_request_id", "account__bitbucket_uuid", "role", "approved"
    ):
        people[pr_id].append((uuid, role, approved))
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
                "author_uuid": pr.author.bitbucket_uuid if pr.author else None,
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
