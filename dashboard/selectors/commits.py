"""History pages: a commit log, one commit, a file's history; read live (`bitbucket_sync.browse_commits`) with the
viewer's credential and joined with what the mirror already knows, at no extra request.

What each row shows and what it costs:
* build state: from the mirror (the statuses of pull requests whose source tip is that commit, kept by the sync)
  and from the statuses a commit page read lately (the cache): 0 requests. A commit that is neither shows none;
  its page reads them.
* pull requests: the mirror's pull requests whose source tip or merge commit is that commit: 0 requests. The
  commit page asks Bitbucket for every pull request that contains it (one request, cached).
* the author filter: Bitbucket's commit listing has no author filter, so it applies to the page that was read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.http import Http404

from bitbucket_sync import browse_commits, turns
from bitbucket_sync.client import NotFound, path_problem
from bitbucket_sync.client.records import Account, BuildStatus, Commit, FileHistoryEntry, same_commit
from bitbucket_sync.client.records import PullRequest as PullRequestRecord
from bitbucket_sync.models import Branch, PullRequest, Repository
from dashboard import rendering
from dashboard.selectors import sites
from dashboard.selectors.insights import RESULTS, SEVERITY_ORDER, ReportView, data_value
from dashboard.selectors.readiness import BUILD_STATES, BuildRow
from dashboard.selectors.source import SourceLocation, browse_client

HASH = re.compile(r"[0-9a-f]{7,40}")
FULL_HASH = re.compile(r"[0-9a-f]{40}")
# Bitbucket's cursor token as the client accepts it (`client.CURSOR`); anything else in `?page=` is a 404.
CURSOR = re.compile(r"[A-Za-z0-9_\-=.~]{1,200}")
SHORT = 12  # pull requests carry 12-character hashes


@dataclass(frozen=True)
class LogTarget:
    """What `/commits/<rest>` names: a log of `ref` (a branch when `is_branch`), or one commit (`commit`)."""

    ref: str = ""
    is_branch: bool = False
    commit: str = ""


def log_target(repository: Repository, rest: str) -> LogTarget:
    """`/commits/` (the main branch), `/commits/branch/<name>` (Bitbucket's own), `/commits/<branch>`, or
    `/commits/<hash>`: a mirrored branch wins over a hash-looking name; otherwise 7-40 hex is a commit, and any
    other name a ref Bitbucket resolves (a tag, a branch the mirror does not have yet). Http404 for a name that
    could step out of the repository."""
    rest = rest.removesuffix("/")
    if not rest:
        return LogTarget(ref=repository.main_branch or "", is_branch=bool(repository.main_branch))
    explicit = rest.startswith("branch/")
    name = rest.removeprefix("branch/") if explicit else rest
    if not name or path_problem(name):
        raise Http404("No such branch or commit.")
    if explicit or Branch.objects.live().filter(repository=repository, name=name).exists():
        return LogTarget(ref=name, is_branch=True)
    if HASH.fullmatch(name):
        return LogTarget(commit=name)
    return LogTarget(ref=name, is_branch=False)


def checked_cursor(value: str | None) -> str | None:
    """The `?page=` of a log or history page: Bitbucket's own cursor, carried unchanged; Http404 when malformed."""
    if not value:
        return None
    if not CURSOR.fullmatch(value):
        raise Http404("No such page.")
    return value


def checked_head(value: str | None) -> str | None:
    """The `?at=` of an older page: the full hash its first page was read from, or Http404."""
    if not value:
        return None
    if not FULL_HASH.fullmatch(value):
        raise Http404("No such commit.")
    return value


def checked_path(value: str | None) -> str:
    """A path filter from the query string: a repository path without leading or trailing slash, or Http404."""
    path = (value or "").strip().strip("/")
    if path and path_problem(path):
        raise Http404("No such path.")
    return path


@dataclass
class BuildSummary:
    status: str  # green / red / pending: the colour
    word: str


def _summary(states: list[str]) -> BuildSummary | None:
    state = turns.build_summary(states)
    if not state:
        return None
    status, word = BUILD_STATES.get(state, (turns.UNKNOWN, state.lower()))
    return BuildSummary(status, word)


@dataclass
class CommitRow:
    commit: Commit
    summary: str
    is_merge: bool
    author_name: str
    author: Account | None
    build: BuildSummary | None = None
    pull_requests: list[tuple[str, PullRequest]] = field(default_factory=list)  # ("tip" | "merged", pr)

    @property
    def linkable(self) -> bool:
        """The hash Bitbucket sent is one: safe to put in a link."""
        return bool(HASH.fullmatch(self.commit.hash))


def author_name(commit: Commit) -> str:
    if commit.author and commit.author.user:
        return commit.author.user.display_name
    raw = commit.author.raw if commit.author else ""
    return raw.split("<", 1)[0].strip() or raw or "unknown"


def _matches_author(row: CommitRow, needle: str) -> bool:
    raw = row.commit.author.raw if row.commit.author else ""
    haystack = " ".join(filter(None, [raw, row.author_name, row.author.nickname if row.author else None]))
    return needle.lower() in haystack.lower()


def _mirror_pull_requests(repository: Repository, hashes: list[str]) -> dict[str, list[tuple[str, PullRequest]]]:
    """The mirror's pull requests whose source tip or merge commit is one of `hashes` (one query)."""
    wanted = {h[:SHORT] for h in hashes} | set(hashes)
    found = PullRequest.objects.filter(
        Q(source_commit__in=wanted) | Q(merge_commit__in=wanted), repository=repository
    ).select_related("workspace", "repository")
    out: dict[str, list[tuple[str, PullRequest]]] = defaultdict(list)
    for pr in found.order_by("-number"):
        for h in hashes:
            if same_commit(pr.merge_commit, h):
                out[h].append(("merged", pr))
            elif same_commit(pr.source_commit, h):
                out[h].append(("tip", pr))
    return out


def _rows(user, repository: Repository, commits: list[Commit]) -> list[CommitRow]:
    hashes = [c.hash for c in commits]
    prs = _mirror_pull_requests(repository, hashes)
    with browse_client(user, workspace=repository.workspace) as reader:
        seen = browse_commits.cached_statuses(reader, repository=repository, commits=hashes)
    rows = []
    for c in commits:
        states = [s.state for s in seen.get(c.hash, [])]
        if not states:  # the sync's statuses of a pull request whose tip this is
            for kind, pr in prs.get(c.hash, []):
                if kind == "tip" and pr.builds_known and pr.build_state:
                    states.append(pr.build_state)
        rows.append(
            CommitRow(
                commit=c,
                summary=(c.message.strip().splitlines() or [""])[0],
                is_merge=len(c.parents) > 1,
                author_name=author_name(c),
                author=c.author.user if c.author else None,
                build=_summary(states),
                pull_requests=prs.get(c.hash, []),
            )
        )
    return rows


@dataclass
class CommitLog:
    target: LogTarget
    head: str
    rows: list[CommitRow]
    read: int  # commits on the page as read, before the author filter
    next_cursor: str | None

    @property
    def pinned(self) -> str | None:
        """The `?at=` of the next page's link: the commit this page was read from, when it is a full hash."""
        return self.head if FULL_HASH.fullmatch(self.head) else None


def commit_log(
    user,
    *,
    repository: Repository,
    target: LogTarget,
    path: str = "",
    author: str = "",
    cursor: str | None = None,
    at: str | None = None,
) -> CommitLog:
    """A page of the log of `target.ref` (optionally only commits touching `path`), with the author filter applied to
    that page. LiveReadError when it cannot be read; Http404 when Bitbucket knows no such ref."""
    with browse_client(user, workspace=repository.workspace) as reader:
        sites.require_reads(reader.client, "commit_log_page")
        try:
            page = browse_commits.read_log_page(
                reader,
                repository=repository,
                ref=target.ref,
                is_branch=target.is_branch,
                path=path,
                cursor=cursor,
                at=at,
            )
        except NotFound:  # inside the reader, which would make it a message: a ref Bitbucket does not know is a 404
            raise Http404("No such branch or commit.") from None
    rows = _rows(user, repository, page.commits)
    if author:
        rows = [r for r in rows if _matches_author(r, author)]
    return CommitLog(target=target, head=page.head, rows=rows, read=len(page.commits), next_cursor=page.next_cursor)


@dataclass
class CommitDetail:
    commit: Commit
    author_name: str
    author: Account | None
    message: str
    parents: list[str]
    files: list
    truncated: bool
    builds: list[BuildRow]
    reports: list[ReportView]
    pull_requests: list[tuple[str, PullRequest]]  # from the mirror
    live_pull_requests: list[PullRequestRecord] | None  # None: not indexed by Bitbucket
    indexing: bool  # Bitbucket is building that index: the list says nothing yet
    mirrored_numbers: set[int] = field(default_factory=set)


def _build_rows(statuses: list[BuildStatus]) -> list[BuildRow]:
    rows = []
    for s in sorted(statuses, key=lambda s: (s.name or s.key, s.key)):
        status, word = BUILD_STATES.get(s.state, (turns.UNKNOWN, s.state.lower()))
        rows.append(BuildRow(s.key, s.name or s.key, status, word, s.description, s.url or "", s.updated_on))
    return rows


def commit_detail(user, *, repository: Repository, commit: str) -> CommitDetail:
    """One commit: message, parents, diff (split per file, highlighted), build statuses, reports, the pull requests
    that contain it. Cached by hash (see `browse_commits`). Http404 when Bitbucket has no such commit."""
    if not HASH.fullmatch(commit):
        raise Http404("No such commit.")
    with browse_client(user, workspace=repository.workspace) as reader:
        try:
            read = browse_commits.read_commit(
                reader, repository=repository, commit=commit, max_diff_bytes=rendering.MAX_DIFF_BYTES
            )
        except NotFound:
            raise Http404("No such commit.") from None
    files, truncated = rendering.parse_diff(read.diff, truncated=read.diff.truncated)
    reports = [
        ReportView(
            c.report,
            [data_value(d) for d in c.report.data],
            sorted(c.annotations, key=lambda a: (SEVERITY_ORDER.get(a.severity, 4), a.path or "", a.line)),
        )
        for c in read.reports
    ]
    order = {r: i for i, r in enumerate(RESULTS)}
    reports.sort(key=lambda v: order.get(v.report.result, len(RESULTS)))
    c = read.commit
    mirrored = _mirror_pull_requests(repository, [c.hash]).get(c.hash, [])
    return CommitDetail(
        commit=c,
        author_name=author_name(c),
        author=c.author.user if c.author else None,
        message=c.message.rstrip("\n"),
        parents=[p for p in c.parents if HASH.fullmatch(p)],
        files=files,
        truncated=truncated,
        builds=_build_rows(read.statuses),
        reports=reports,
        pull_requests=mirrored,
        live_pull_requests=None if read.pull_requests is None else list(read.pull_requests.pull_requests),
        indexing=bool(read.pull_requests and read.pull_requests.indexing),
        mirrored_numbers={pr.number for _, pr in mirrored},
    )


@dataclass
class HistoryRow:
    entry: FileHistoryEntry
    row: CommitRow
    renamed: bool  # the file had another name at this commit
    linkable: bool  # the path and hash Bitbucket sent are safe to put in a link


@dataclass
class FileHistory:
    location: SourceLocation
    head: str
    rows: list[HistoryRow]
    next_cursor: str | None

    @property
    def pinned(self) -> str | None:
        return self.head if FULL_HASH.fullmatch(self.head) else None


def file_history(
    user, *, repository: Repository, location: SourceLocation, cursor: str | None = None, at: str | None = None
) -> FileHistory:
    """A page of the commits that changed `location.path`, from its branch's tip or commit, renames followed."""
    if not location.path:
        raise Http404("A history is of a file.")
    with browse_client(user, workspace=repository.workspace) as reader:
        sites.require_reads(reader.client, "file_history_page")
        try:
            page = browse_commits.read_file_history_page(
                reader,
                repository=repository,
                ref=location.ref,
                is_branch=location.is_branch,
                path=location.path,
                cursor=cursor,
                at=at,
            )
        except NotFound:
            raise Http404("No such file.") from None
    location.commit = page.head if location.is_branch else location.commit
    rows = _rows(user, repository, [e.commit for e in page.entries])
    return FileHistory(
        location=location,
        head=page.head,
        rows=[
            HistoryRow(
                e,
                r,
                renamed=e.path != location.path,
                linkable=not path_problem(e.path) and bool(HASH.fullmatch(e.commit.hash)),
            )
            for e, r in zip(page.entries, rows, strict=True)
        ],
        next_cursor=page.next_cursor,
    )
