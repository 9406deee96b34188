"""Comparing two refs: commits ahead and behind, their merge base and the diff, read with the viewer's credential.

Everything here is named by a pair of commit hashes, so it never changes: cached for good (until the cache culls
it), per credential like every live read (``browse``). Two places use it:

* the branches page: each branch's ahead/behind against ``comparison_base(repository)``, read lazily for the rows
  on screen (``cached_ahead_behind`` costs nothing; ``read_ahead_behind`` costs two requests once per pair of tips)
  and never past the viewer's budget reserve;
* the compare page: ``read_comparison`` of a source and a destination (up to seven requests cold, none warm).

Counts come from one page of ``commits?include=&exclude=`` (100 commits): past that, Bitbucket is not asked to page
on (a request per hundred), and the count shows as "100+".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from bitbucket_sync import branching
from bitbucket_sync.browse import BRANCH_TIP_SECONDS, CONTENT_SECONDS, LiveReader, LiveReadError, live_reader
from bitbucket_sync.client import NotFound
from bitbucket_sync.client.records import Commit, CommitPage, DiffStat, DiffText
from bitbucket_sync.ledger import HOURLY_BUDGET
from bitbucket_sync.models import Credential, Repository
from bitbucket_sync.sync import engine

COUNT_PAGE = 100  # one page at the global maximum: the most a count reads
# A failed read is remembered briefly, so a page of rows does not ask again on every render, yet a passing outage
# clears within a minute.
FAILED_SECONDS = 60
HEX = re.compile(r"[0-9a-f]{7,40}")
FULL_HASH = re.compile(r"[0-9a-f]{40}")  # the mirror's tips: anything else never reaches a request

KNOWN, UNKNOWN, DEFERRED = "known", "unknown", "deferred"


def comparison_base(repository: Repository, credential: Credential | None = None) -> str:
    """The branch every other branch is counted against: the branching model's development branch as the viewer's
    credential reads it (`branching.branch_options`: one request, cached ten minutes and shared with branch
    creation; not read past the budget reserve), else the repository's main branch. The one place that decides it."""
    if credential is None:
        return repository.main_branch
    options = branching.cached_branch_options(credential=credential, repository=repository)
    if options is None and not reserve_reached(credential):
        options = branching.branch_options(credential=credential, repository=repository)
    return options.development if options is not None and options.from_model else repository.main_branch


@dataclass(frozen=True)
class AheadBehind:
    """A branch against its base: ``known`` counts (``*_more``: past one page, so "100+"), ``unknown`` (Bitbucket
    could not say: ``reason``), or ``deferred`` (not read, to keep the budget reserve: ``reason``)."""

    state: str
    ahead: int = 0
    behind: int = 0
    ahead_more: bool = False
    behind_more: bool = False
    reason: str = ""

    @property
    def ahead_text(self) -> str:
        return f"{self.ahead}+" if self.ahead_more else str(self.ahead)

    @property
    def behind_text(self) -> str:
        return f"{self.behind}+" if self.behind_more else str(self.behind)

    @classmethod
    def of(cls, ahead: CommitPage, behind: CommitPage) -> AheadBehind:
        return cls(KNOWN, len(ahead.commits), len(behind.commits), ahead.more, behind.more)


def _key(kind: str, credential_id: int, repository: Repository, *parts: Any) -> str:
    # Hashed: branch names hold characters (spaces, unicode) that cache backends warn about.
    text = "\x1f".join(str(p) for p in (kind, credential_id, repository.bitbucket_uuid, *parts))
    return "bbdash:compare:" + hashlib.sha256(text.encode()).hexdigest()


def cached_ahead_behind(
    credential: Credential | None, repository: Repository, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], AheadBehind]:
    """What was read before for each (tip, base tip) pair with this credential: one cache round trip, no request."""
    if credential is None or not pairs:
        return {}
    keys = {_key("counts", credential.pk, repository, tip, base): (tip, base) for tip, base in pairs}
    found = cache.get_many(list(keys))
    return {keys[k]: value for k, value in found.items()}


def reserve_reached(credential: Credential) -> str:
    """Why lazy reads stop now ("" while they may go on): the credential's use of the hourly budget reached the
    share the scheduler's own periodic reads stop at, and the rest is kept for the user's actions."""
    if engine.budget_wait(credential) is None:
        return ""
    kept = HOURLY_BUDGET * settings.BBDASH_BUDGET_RESERVE_PERCENT // 100
    return f"not read: keeping {kept} requests for your actions"


def read_ahead_behind(credential: Credential | None, repository: Repository, *, tip: str, base_tip: str) -> AheadBehind:
    """The commits on ``tip`` not on ``base_tip`` and the reverse, counted up to a page each (two requests once per
    pair and credential; nothing when cached, nothing past the budget reserve)."""
    if credential is None:
        return AheadBehind(UNKNOWN, reason="You have no active Bitbucket credential.")
    if not (FULL_HASH.fullmatch(tip) and FULL_HASH.fullmatch(base_tip)):
        return AheadBehind(
            UNKNOWN, reason="bbdash does not know this branch's commit yet: it shows after the next sync"
        )
    key = _key("counts", credential.pk, repository, tip, base_tip)
    found = cache.get(key)
    if found is not None:
        return found
    if reason := reserve_reached(credential):
        return AheadBehind(DEFERRED, reason=reason)
    ws, slug = repository.workspace.key, repository.slug
    try:
        with live_reader(credential) as reader:
            ahead = reader.client.commit_range_page(
                ws, slug, include=[tip], exclude=[base_tip], fields=("hash",), pagelen=COUNT_PAGE
            )
            behind = reader.client.commit_range_page(
                ws, slug, include=[base_tip], exclude=[tip], fields=("hash",), pagelen=COUNT_PAGE
            )
    except LiveReadError as exc:
        counts = AheadBehind(UNKNOWN, reason=str(exc))
        cache.set(key, counts, FAILED_SECONDS)
        return counts
    counts = AheadBehind.of(ahead, behind)
    cache.set(key, counts, CONTENT_SECONDS)
    return counts


# --- the compare page ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """``source`` against ``destination`` (both full hashes): the commits on source not on destination (``ahead``)
    and the reverse (``behind``), their merge base (None: no shared history), and the source's changes since the
    merge base (Bitbucket's ``diff/{source}..{destination}``, read only when there is something ahead)."""

    source: str
    destination: str
    ahead: CommitPage
    behind: CommitPage
    merge_base: Commit | None
    diffstat: tuple[DiffStat, ...]
    diff: DiffText

    @property
    def counts(self) -> AheadBehind:
        return AheadBehind.of(self.ahead, self.behind)


def resolve_ref(reader: LiveReader, repository: Repository, ref: str, *, is_branch: bool) -> str:
    """A ref's commit hash: a branch's tip (cached briefly, as the source browser does), a hash's full form (cached
    for good). A name that is no branch is asked of ``commit/{ref}``, which also names tags."""
    ws, slug, api, client = repository.workspace.key, repository.slug, repository.bitbucket_uuid, reader.client
    if is_branch:
        try:
            return reader.cached(
                reader.key("tip", api, ref), BRANCH_TIP_SECONDS, lambda: client.get_branch(ws, slug, ref).target.hash
            )
        except NotFound:
            pass  # a tag, or nothing: commit/{ref} says which
    timeout = CONTENT_SECONDS if HEX.fullmatch(ref) else BRANCH_TIP_SECONDS
    return reader.cached(reader.key("commit-of", api, ref), timeout, lambda: client.get_commit(ws, slug, ref).hash)


def read_comparison(
    reader: LiveReader, repository: Repository, *, source: str, destination: str, max_diff_bytes: int
) -> Comparison:
    """Compare two commit hashes (see ``Comparison``), each part cached by the pair; the counts go to the cache the
    branches page reads, so a compared branch shows its counts there without another request."""
    ws, slug, client = repository.workspace.key, repository.slug, reader.client

    def cached[T](kind: str, produce: Callable[[], T]) -> T:
        return reader.cached(
            _key(kind, reader.credential_id, repository, source, destination), CONTENT_SECONDS, produce
        )

    ahead: CommitPage = cached(
        "ahead", lambda: client.commit_range_page(ws, slug, include=[source], exclude=[destination])
    )
    behind: CommitPage = cached(
        "behind", lambda: client.commit_range_page(ws, slug, include=[destination], exclude=[source])
    )

    def merge_base() -> Commit | None:
        try:
            return client.get_merge_base(ws, slug, f"{source}..{destination}")
        except NotFound:
            return None  # no shared history

    base: Commit | None = cached("merge-base", merge_base)
    spec = f"{source}..{destination}"
    if ahead.commits:
        diffstat: tuple[DiffStat, ...] = cached("diffstat", lambda: tuple(client.iter_diffstat(ws, slug, spec)))
        diff: DiffText = cached("diff", lambda: client.get_diff(ws, slug, spec, max_bytes=max_diff_bytes))
    else:
        diffstat, diff = (), DiffText.of("", truncated=False)
    comparison = Comparison(source, destination, ahead, behind, base, diffstat, diff)
    cache.set(_key("counts", reader.credential_id, repository, source, destination), comparison.counts, CONTENT_SECONDS)
    return comparison
