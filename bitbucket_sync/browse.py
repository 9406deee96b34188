"""Live reads: what a page reads from Bitbucket when asked for, through the signed-in user's own credential.

The source browser and a pull request's diff, commits and comments are read with the viewer's credential (so
Bitbucket's own permissions apply), and cached by commit hash: the content of a commit never changes, so a second look
costs no request against the hourly budget. Every cache entry is keyed by the credential that read it: another user's
credential may not see that repository any more (the mirror's access rows lag behind Bitbucket), so a cache shared
between users would hand them what only the first could read.

    with live_reader(credential) as reader:      # LiveReadError (safe to show) when it cannot read
        read = read_source(reader, repository=repository, ref="main", path="docs", is_branch=True, max_file_bytes=n)

The records come back as the client built them; turning them into a page (highlighting, Markdown) is the
dashboard's job. A path, ref or slug the client refuses (`UnsafePath`, raised before anything is sent) passes
through: the caller answers it as it answers a bad URL.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from django.core.cache import cache

from bitbucket_sync import conflicts, turns
from bitbucket_sync.client import (
    AuthError,
    BitbucketClient,
    BitbucketError,
    BitbucketSchemaError,
    Gone,
    NotFound,
    RateLimited,
    Unavailable,
    Unsupported,
)
from bitbucket_sync.client.records import (
    Activity,
    Annotation,
    Comment,
    Commit,
    DiffStat,
    DiffText,
    Report,
    SourceEntry,
    Task,
)
from bitbucket_sync.credentials import clients, health
from bitbucket_sync.credentials.encryption import SecretUnreadable
from bitbucket_sync.models import Credential, PullRequest, Repository

logger = logging.getLogger(__name__)

# A branch's tip moves; resolving a branch name is cached briefly so a page and its fragments agree without each
# spending a request, and a fresh push shows within half a minute.
BRANCH_TIP_SECONDS = 30
# Content named by a commit hash is immutable: kept until the cache culls it.
CONTENT_SECONDS = 7 * 24 * 3600
# Comments and activity change without any commit moving; a short cache spares repeated fragment loads.
DISCUSSION_SECONDS = 60
# Tasks change without any commit moving and send no webhook: briefly cached, dropped when we write one ourselves.
TASKS_SECONDS = 30
# A commit's Code Insights reports are written once its build ends and rarely change after (a PENDING report is
# updated by its tool): cached per commit for a few minutes, not for good.
REPORTS_SECONDS = 300


class LiveReadError(Exception):
    """A live read failed; `str()` is the reason in plain words, safe to show (never a secret)."""


# What a page says where it needs a read the Data Center client does not make yet (`Unsupported`: nothing was sent).
# The dashboard recognises this exact text and shows it as a note, not as an error (dashboard.templatetags.sites).
NOT_YET_ON_DATACENTER = "Bitbucket Data Center: not available in bbdash yet."


def explain(exc: Exception) -> str:
    """A Bitbucket client error (or a credential problem) in words for the page."""
    if isinstance(exc, Unsupported):
        return NOT_YET_ON_DATACENTER
    if isinstance(exc, SecretUnreadable):
        return "Your stored Bitbucket credential cannot be decrypted any more: add it again on your credentials page."
    if isinstance(exc, AuthError):
        if not exc.refuses_credential:
            needed = f" It needs the scope {', '.join(exc.required_scopes)}." if exc.required_scopes else ""
            return f"Bitbucket says your credential may not read this ({exc.status}).{needed}"
        return (
            "Bitbucket refused your credential (401): it may have expired or been revoked, and bbdash has marked it "
            "invalid. Replace it on your credentials page."
        )
    if isinstance(exc, NotFound):
        return "Bitbucket found nothing here (404): it may have been renamed, deleted, or hidden from your credential."
    if isinstance(exc, RateLimited):
        if exc.retry_after:
            return (
                f"Bitbucket's rate limit for your credential is spent (429): try again in {round(exc.retry_after)} s."
            )
        return "Bitbucket's rate limit for your credential is spent (429): try again in a few minutes."
    if isinstance(exc, Gone):
        return "Bitbucket no longer offers this (410)."
    if isinstance(exc, Unavailable):
        if exc.status == 555:
            return "Bitbucket timed out preparing this (555), which happens with very large diffs: try again later."
        return "Bitbucket is slow or unavailable right now: try again in a minute."
    if isinstance(exc, BitbucketSchemaError):
        return "Bitbucket answered something bbdash could not read; the problem has been logged."
    if isinstance(exc, BitbucketError):
        return f"Bitbucket refused the request: {exc.message}"
    raise exc


def _cache_key(*parts: Any) -> str:
    # Hashed: paths and branch names hold characters (spaces, unicode) that cache backends warn about.
    return "bbdash:live:" + hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


@dataclass
class LiveReader:
    """A credential's client for live reads, and the cache keys of what it reads (its credential's own)."""

    client: BitbucketClient
    credential_id: int

    def key(self, kind: str, *parts: Any) -> str:
        return _cache_key(kind, self.credential_id, self.client.base_url, *parts)

    def cached[T](self, key: str | None, timeout: int, produce: Callable[[], T]) -> T:
        """`produce()` once per `key` and `timeout`; with no key (nothing names the content), every time."""
        return produce() if key is None else cast(T, cache.get_or_set(key, produce, timeout))


@contextmanager
def live_reader(credential: Credential | None) -> Iterator[LiveReader]:
    """`credential`'s client for live reads, closed after use; LiveReadError with the reason when it cannot read."""
    if credential is None:
        raise LiveReadError("You have no active Bitbucket credential: add one to browse files and diffs.")
    if health.is_refused(credential):
        raise LiveReadError(health.own_refusal_text(credential))
    try:
        client = clients.client_for(credential, purpose="browse")
    except SecretUnreadable as exc:
        raise LiveReadError(explain(exc)) from None
    try:
        yield LiveReader(client=client, credential_id=credential.pk)
    except (BitbucketError, SecretUnreadable) as exc:
        logger.info("live read for user %s failed: %r", credential.owner_id, exc)
        raise LiveReadError(explain(exc)) from None
    finally:
        client.close()


# --- the source browser -------------------------------------------------------------------------------------------


@dataclass
class SourceRead:
    """What is at a path of a commit: a directory's entries (directories first), or a file's content (None when
    its size is over the cap the caller gave: it was not read)."""

    commit: str
    is_dir: bool
    entries: list[SourceEntry] = field(default_factory=list)
    content: bytes | None = None
    size: int | None = None


def read_source(
    reader: LiveReader, *, repository: Repository, ref: str, path: str, is_branch: bool, max_file_bytes: int
) -> SourceRead:
    """A directory listing or a file at a branch or commit, cached by commit hash."""
    ws, slug, api = repository.workspace.key, repository.slug, repository.bitbucket_uuid
    client = reader.client
    if is_branch:
        commit = reader.cached(
            reader.key("tip", api, ref), BRANCH_TIP_SECONDS, lambda: client.get_branch(ws, slug, ref).target.hash
        )
    else:
        commit = ref
    if path:
        meta = reader.cached(
            reader.key("meta", api, commit, path), CONTENT_SECONDS, lambda: client.get_file_meta(ws, slug, commit, path)
        )
        is_dir, size = meta.is_dir, meta.size
    else:
        is_dir, size = True, None
    if is_dir:
        entries = reader.cached(
            reader.key("dir", api, commit, path),
            CONTENT_SECONDS,
            lambda: list(client.iter_directory(ws, slug, commit, path)),
        )
        entries = sorted(entries, key=lambda e: (not e.is_dir, e.name.lower()))
        return SourceRead(commit=commit, is_dir=True, entries=entries)
    if size is not None and size > max_file_bytes:
        return SourceRead(commit=commit, is_dir=False, size=size)
    content = reader.cached(
        reader.key("file", api, commit, path), CONTENT_SECONDS, lambda: client.get_file(ws, slug, commit, path).content
    )
    return SourceRead(commit=commit, is_dir=False, content=content, size=len(content))


# --- a pull request -----------------------------------------------------------------------------------------------


def _pr_key(kind: str, reader: LiveReader, pull_request: PullRequest) -> str | None:
    if not (pull_request.source_commit and pull_request.destination_commit):
        return None  # nothing to name the content by: read it every time
    return reader.key(
        kind,
        pull_request.repository.bitbucket_uuid,
        pull_request.number,
        pull_request.source_commit,
        pull_request.destination_commit,
    )


def read_pull_request_diff(
    reader: LiveReader, *, pull_request: PullRequest, max_bytes: int, ignore_whitespace: bool = False
) -> tuple[list[DiffStat], DiffText]:
    """The diffstat and the diff, cached by the source and destination commits (and whether whitespace is ignored:
    another diff). The diff is read only up to `max_bytes` (a page shows no more), and only that much is cached."""
    ws, slug, number = pull_request.workspace.key, pull_request.repository.slug, pull_request.number
    client = reader.client
    suffix = "-w" if ignore_whitespace else ""
    diffstat = reader.cached(
        _pr_key("diffstat" + suffix, reader, pull_request),
        CONTENT_SECONDS,
        lambda: list(client.iter_pull_request_diffstat(ws, slug, number, ignore_whitespace=ignore_whitespace)),
    )
    raw = reader.cached(
        _pr_key("diff" + suffix, reader, pull_request),
        CONTENT_SECONDS,
        lambda: client.get_pull_request_diff(
            ws, slug, number, max_bytes=max_bytes, ignore_whitespace=ignore_whitespace
        ),
    )
    return diffstat, raw


# An inline comment's `links.code`: the diff it was made on, `{repo}/diff/[{ws}/{repo}:]{A}..{B}?path=…`, its two
# commits by hash (reference §25.2).
_CODE_LINK = re.compile(
    r"(?:^|/)repositories/([^/]+)/([^/]+)/diff/(?:([^/:]+)/([^/:]+):)?([0-9a-f]{7,40})\.\.([0-9a-f]{7,40})$"
)
# A snippet needs only the few lines around the comment: a file's diff larger than this is not worth the read.
COMMENT_CODE_BYTES = 256 * 1024


def comment_code_spec(code_url: str | None, *, pull_request: PullRequest) -> str | None:
    """`A..B` of the diff an inline comment was made on, when its link is an http(s) link to this pull request's own
    repository (from a fork, or anything else, None: nothing is read for it)."""
    if not code_url:
        return None
    parts = urlsplit(code_url)
    match = _CODE_LINK.search(unquote(parts.path)) if parts.scheme in ("http", "https") else None
    if match is None:
        return None
    own = pull_request.repository.full_name.lower()
    ws, slug, spec_ws, spec_slug, a, b = match.groups()
    if f"{ws}/{slug}".lower() != own or (spec_ws is not None and f"{spec_ws}/{spec_slug}".lower() != own):
        return None
    return f"{a}..{b}"


def _comment_code_key(reader: LiveReader, pull_request: PullRequest, spec: str, path: str) -> str:
    return reader.key("comment-code", pull_request.repository.bitbucket_uuid, spec, path)


def cached_comment_code(reader: LiveReader, *, pull_request: PullRequest, spec: str, path: str) -> DiffText | None:
    """What `read_comment_code` cached for this credential, without a request; None when nothing is."""
    return cast(DiffText | None, cache.get(_comment_code_key(reader, pull_request, spec, path)))


def read_comment_code(reader: LiveReader, *, pull_request: PullRequest, spec: str, path: str) -> DiffText:
    """One file's diff as it was when an inline comment was made on it (`spec` from `comment_code_spec`): cached by
    its commit hashes, which never change."""
    ws, slug = pull_request.workspace.key, pull_request.repository.slug
    return reader.cached(
        _comment_code_key(reader, pull_request, spec, path),
        CONTENT_SECONDS,
        lambda: reader.client.get_diff(ws, slug, spec, path=path, max_bytes=COMMENT_CODE_BYTES),
    )


def read_pull_request_commits(reader: LiveReader, *, pull_request: PullRequest) -> list[Commit]:
    ws, slug, number = pull_request.workspace.key, pull_request.repository.slug, pull_request.number
    return reader.cached(
        _pr_key("commits", reader, pull_request),
        CONTENT_SECONDS,
        lambda: list(reader.client.iter_pull_request_commits(ws, slug, number)),
    )


def read_pull_request_discussion(
    reader: LiveReader, *, pull_request: PullRequest
) -> tuple[list[Comment], list[Activity]]:
    """Comments and the activity feed, as Bitbucket lists them."""
    ws, slug, number = pull_request.workspace.key, pull_request.repository.slug, pull_request.number
    client = reader.client
    return reader.cached(
        _discussion_key(reader, pull_request),
        DISCUSSION_SECONDS,
        lambda: (
            list(client.iter_pull_request_comments(ws, slug, number)),
            list(client.iter_pull_request_activity(ws, slug, number)),
        ),
    )


def _discussion_key(reader: LiveReader, pull_request: PullRequest) -> str:
    # Keyed by the mirror's updated_on too: a new comment moves it, so a synced change is never hidden.
    return reader.key(
        "discussion", pull_request.repository.bitbucket_uuid, pull_request.number, pull_request.updated_on
    )


def forget_pull_request_discussion(reader: LiveReader, *, pull_request: PullRequest) -> None:
    """Drop the reader's cached discussion of the pull request after a comment write with that credential (a draft,
    or a published draft, moves nothing the key names: Bitbucket leaves `updated_on` alone for a draft), so the next
    read shows the write; other credentials' entries expire on their own."""
    cache.delete(_discussion_key(reader, pull_request))


# --- a pull request's tasks and its source commit's Code Insights --------------------------------------------------


def _tasks_key(reader: LiveReader, pull_request: PullRequest) -> str:
    return reader.key("tasks", pull_request.repository.bitbucket_uuid, pull_request.number)


def read_pull_request_tasks(reader: LiveReader, *, pull_request: PullRequest, fresh: bool = False) -> list[Task]:
    """The pull request's tasks, oldest first (`fresh`: not from the cache, e.g. right after a task action). What
    was read corrects the mirror's open and resolved counts, and the turn follows them."""
    ws, slug, number = pull_request.workspace.key, pull_request.repository.slug, pull_request.number
    key = _tasks_key(reader, pull_request)
    if fresh:
        cache.delete(key)
    tasks = reader.cached(key, TASKS_SECONDS, lambda: list(reader.client.iter_pull_request_tasks(ws, slug, number)))
    record_task_counts(pull_request, tasks)
    return tasks


def store_pull_request_tasks(reader: LiveReader, *, pull_request: PullRequest, tasks: list[Task]) -> None:
    """A complete task list just read with the reader's credential (after a task action): cached as a read would
    be, so the page shows it without another request, and counted into the mirror."""
    cache.set(_tasks_key(reader, pull_request), tasks, TASKS_SECONDS)
    record_task_counts(pull_request, tasks)


def record_task_counts(pull_request: PullRequest, tasks: list[Task]) -> None:
    """Store the open (Bitbucket's `task_count`) and resolved counts of a complete task list, then the turn."""
    open_count = sum(1 for t in tasks if not t.resolved)
    resolved_count = len(tasks) - open_count
    if (pull_request.task_count, pull_request.resolved_task_count) == (open_count, resolved_count):
        return
    PullRequest.objects.filter(pk=pull_request.pk).update(task_count=open_count, resolved_task_count=resolved_count)
    pull_request.task_count, pull_request.resolved_task_count = open_count, resolved_count
    turns.refresh_turns([pull_request.pk])


@dataclass(frozen=True)
class CommitReport:
    """A Code Insights report with its annotations (those with a path and line also show on the diff)."""

    report: Report
    annotations: tuple[Annotation, ...] = ()


def read_commit_reports(reader: LiveReader, *, repository: Repository, commit: str) -> list[CommitReport]:
    """The commit's reports, each with its annotations: one request for the reports and one per report, cached by
    commit (and credential) for `REPORTS_SECONDS`."""
    ws, slug, client = repository.workspace.key, repository.slug, reader.client

    def produce() -> list[CommitReport]:
        return [
            CommitReport(r, tuple(client.iter_report_annotations(ws, slug, commit, r.uuid)))
            for r in client.iter_commit_reports(ws, slug, commit)
        ]

    return reader.cached(_reports_key(reader, repository, commit), REPORTS_SECONDS, produce)


def cached_commit_reports(reader: LiveReader, *, repository: Repository, commit: str) -> list[CommitReport] | None:
    """What `read_commit_reports` cached for this credential and commit, without a request; None when nothing is."""
    return cast(list[CommitReport] | None, cache.get(_reports_key(reader, repository, commit)))


def _reports_key(reader: LiveReader, repository: Repository, commit: str) -> str:
    return reader.key("reports", repository.bitbucket_uuid, commit)


def check_conflicts_if_due(reader: LiveReader, *, pull_request: PullRequest) -> None:
    """Read whether an open pull request's merge would conflict when its current pair of tips was never read (two
    requests, once per pair: a tip that moves makes it due again). The answer goes to the mirror, where anyone who
    may see the pull request sees it (as they see its diff)."""
    if pull_request.state == PullRequest.State.OPEN and not conflicts.is_checked(pull_request):
        conflicts.check_conflicts(pull_request, reader.client)
