"""Live reads of history: a page of a commit log, a page of a file's history, one commit with its diff, build
statuses, reports and the pull requests that contain it; read with the viewer's credential (`browse.LiveReader`).

What a commit hash names never changes, so nearly everything here is cached by hash for good (`CONTENT_SECONDS`):
a log is read from the branch's tip commit, not from the branch name, so a page of it is as immutable as the commit.
Only the tip (30 s, the key the source browser shares), build statuses and the pull requests containing a commit
(minutes: builds finish, pull requests open) are cached briefly. Every request still counts against the viewer's
hourly budget, as every live read does.

Costs, cold then warm (requests to Bitbucket per view):
* a log page of a branch: 2 (tip, page), then 0 while the tip is cached and 1 after (the tip; the page is cached);
  an older page (read from the commit the first one was: `at`) 1, then 0;
* a file's history page: the same;
* a commit page: 5 + one per Code Insights report (commit, diff, statuses, reports, pull requests), then 0 for
  five minutes, then 3 + one per report (the commit and its diff stay cached).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.core.cache import cache

from bitbucket_sync.browse import (
    BRANCH_TIP_SECONDS,
    CONTENT_SECONDS,
    REPORTS_SECONDS,
    CommitReport,
    LiveReader,
    read_commit_reports,
)
from bitbucket_sync.client import NotFound
from bitbucket_sync.client.records import BuildStatus, Commit, CommitPullRequests, DiffText, FileHistoryEntry
from bitbucket_sync.models import Repository

# Builds finish and pull requests open without the commit changing: a few minutes, like the reports.
STATUSES_SECONDS = REPORTS_SECONDS
COMMIT_PULL_REQUESTS_SECONDS = REPORTS_SECONDS


def branch_tip(reader: LiveReader, *, repository: Repository, branch: str) -> str:
    """The commit a branch points at, cached briefly under the key the source browser uses."""
    ws, slug = repository.workspace.key, repository.slug
    return reader.cached(
        reader.key("tip", repository.bitbucket_uuid, branch),
        BRANCH_TIP_SECONDS,
        lambda: reader.client.get_branch(ws, slug, branch).target.hash,
    )


@dataclass(frozen=True)
class LogPage:
    commits: list[Commit]
    next_cursor: str | None
    head: str  # the commit the log was read from (the branch's tip), or the ref as given


def read_log_page(
    reader: LiveReader,
    *,
    repository: Repository,
    ref: str,
    is_branch: bool,
    path: str = "",
    cursor: str | None = None,
    at: str | None = None,
) -> LogPage:
    """A page of `git log <ref> [-- path]`. A branch is first resolved to its tip so the page is named by a commit and
    cached for good; another ref (a tag, a branch not mirrored yet) is cached as briefly as a tip. `at` (the commit
    the first page was read from, 40 hex) reads the following pages from there, so they continue that first page
    even after a push, and need no tip."""
    ws, slug, api = repository.workspace.key, repository.slug, repository.bitbucket_uuid
    if at:
        head, timeout = at, CONTENT_SECONDS
    else:
        head = branch_tip(reader, repository=repository, branch=ref) if is_branch else ref
        timeout = CONTENT_SECONDS if is_branch else BRANCH_TIP_SECONDS
    commits, next_cursor = reader.cached(
        reader.key("log", api, head, path, cursor or ""),
        timeout,
        lambda: reader.client.commit_log_page(ws, slug, revision=head, path=path or None, cursor=cursor),
    )
    return LogPage(commits=commits, next_cursor=next_cursor, head=head)


@dataclass(frozen=True)
class HistoryPage:
    entries: list[FileHistoryEntry]
    next_cursor: str | None
    head: str


def read_file_history_page(
    reader: LiveReader,
    *,
    repository: Repository,
    ref: str,
    is_branch: bool,
    path: str,
    cursor: str | None = None,
    at: str | None = None,
) -> HistoryPage:
    """A page of a file's history from a branch's tip or a commit (or from `at`, as in `read_log_page`), renames
    followed; cached by that commit."""
    ws, slug, api = repository.workspace.key, repository.slug, repository.bitbucket_uuid
    head = at or (branch_tip(reader, repository=repository, branch=ref) if is_branch else ref)
    entries, next_cursor = reader.cached(
        reader.key("filehistory", api, head, path, cursor or ""),
        CONTENT_SECONDS,
        lambda: reader.client.file_history_page(ws, slug, head, path, cursor=cursor),
    )
    return HistoryPage(entries=entries, next_cursor=next_cursor, head=head)


@dataclass(frozen=True)
class CommitRead:
    commit: Commit
    diff: DiffText
    statuses: list[BuildStatus]
    reports: list[CommitReport]
    # None: Bitbucket's "Pull Request Commit Links" index is not there for this repository (its 404).
    pull_requests: CommitPullRequests | None


def read_commit(reader: LiveReader, *, repository: Repository, commit: str, max_diff_bytes: int) -> CommitRead:
    """One commit as its page shows it; NotFound when Bitbucket has no such commit."""
    ws, slug, api, client = repository.workspace.key, repository.slug, repository.bitbucket_uuid, reader.client
    found = reader.cached(
        reader.key("commit", api, commit), CONTENT_SECONDS, lambda: client.get_commit(ws, slug, commit)
    )
    full = found.hash
    diff = reader.cached(
        reader.key("commit-diff", api, full, max_diff_bytes),
        CONTENT_SECONDS,
        lambda: client.get_diff(ws, slug, full, max_bytes=max_diff_bytes),
    )
    statuses = reader.cached(
        _statuses_key(reader, repository, full),
        STATUSES_SECONDS,
        lambda: list(client.iter_commit_statuses(ws, slug, full)),
    )
    reports = read_commit_reports(reader, repository=repository, commit=full)

    def containing() -> CommitPullRequests | None:
        try:
            return client.commit_pull_requests(ws, slug, full)
        except NotFound:
            return None  # the repository exists (the commit was just read): the links are not indexed

    pull_requests = reader.cached(
        reader.key("commit-pull-requests", api, full), COMMIT_PULL_REQUESTS_SECONDS, containing
    )
    return CommitRead(found, diff, statuses, reports, pull_requests)


def cached_statuses(reader: LiveReader, *, repository: Repository, commits: list[str]) -> dict[str, list[BuildStatus]]:
    """The build statuses a commit page read lately, for each of `commits` that has them; no request."""
    keys = {_statuses_key(reader, repository, h): h for h in commits}
    found = cache.get_many(list(keys))
    return {keys[k]: cast(list[BuildStatus], v) for k, v in found.items()}


def _statuses_key(reader: LiveReader, repository: Repository, commit: str) -> str:
    return reader.key("commit-statuses", repository.bitbucket_uuid, commit)
