"""Typed, frozen records built from Bitbucket JSON, in one place.

Each record has a ``from_json(data, *, endpoint)`` classmethod: unknown fields are ignored, a missing required field
raises ``BitbucketSchemaError`` naming the endpoint and the field path, and timestamps become aware ``datetime``
objects (naive ones are taken as UTC, as BBQL does). Each record also lists in ``FIELDS`` the paths the client asks
for with ``fields=``, so what is requested and what is read never drift apart.

Optional lists that Bitbucket only sends on request (a pull request's ``reviewers`` and ``participants``) are
``None`` when absent, so "not fetched" is never mistaken for "empty".
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from .errors import BitbucketSchemaError

_MISSING = object()


class _Reader:
    """Reads one JSON object, naming the endpoint and the full field path when something required is missing."""

    def __init__(self, data: Any, *, endpoint: str, path: str = "") -> None:
        if not isinstance(data, Mapping):
            where = path or "response"
            raise BitbucketSchemaError(f"expected an object at {where}, got {type(data).__name__}", endpoint=endpoint)
        self.data = data
        self.endpoint = endpoint
        self.path = path

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _fail(self, key: str, problem: str) -> BitbucketSchemaError:
        return BitbucketSchemaError(f"{problem} field {self._name(key)!r}", endpoint=self.endpoint)

    def req(self, key: str, kind: type | tuple[type, ...]) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value is None:
            raise self._fail(key, "missing required")
        if kind is int and isinstance(value, bool):
            raise self._fail(key, "wrong type for")
        if not isinstance(value, kind):
            raise self._fail(key, "wrong type for")
        return value

    def opt(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = self.data.get(key)
        if value is None:
            return default
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise self._fail(key, "wrong type for")
        return value

    # Named like the builtin on purpose (r.str("uuid") reads well); below it, annotations say builtins.str.
    def str(self, key: str) -> str:
        return self.req(key, str)

    def ostr(self, key: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        return self.opt(key, str, default)

    def dt(self, key: builtins.str) -> datetime:
        value = self.req(key, str)
        return self._parse_dt(key, value)

    def odt(self, key: builtins.str) -> datetime | None:
        value = self.opt(key, str)
        return None if value is None else self._parse_dt(key, value)

    def _parse_dt(self, key: builtins.str, value: builtins.str) -> datetime:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self._fail(key, f"unparseable timestamp {value!r} in") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def child(self, key: builtins.str) -> _Reader:
        return _Reader(self.req(key, Mapping), endpoint=self.endpoint, path=self._name(key))

    def ochild(self, key: builtins.str) -> _Reader | None:
        value = self.opt(key, Mapping)
        return None if value is None else _Reader(value, endpoint=self.endpoint, path=self._name(key))

    def items(self, key: builtins.str) -> list[_Reader] | None:
        value = self.opt(key, list)
        if value is None:
            return None
        return [_Reader(v, endpoint=self.endpoint, path=f"{self._name(key)}[{i}]") for i, v in enumerate(value)]

    def href(self, name: builtins.str) -> builtins.str | None:
        links = self.data.get("links")
        if not isinstance(links, Mapping):
            return None
        link = links.get(name)
        if isinstance(link, Mapping) and isinstance(link.get("href"), str):
            return link["href"]
        return None


def _prefixed(prefix: str, fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}.{f}" for f in fields)


class _Record:
    """A record read by one ``_read`` from the JSON Bitbucket sent; ``from_json`` names the endpoint for errors."""

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        return cls._read(_Reader(data, endpoint=endpoint))

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        raise NotImplementedError


@dataclass(frozen=True)
class Account(_Record):
    """A user, team or app user (``type`` tells which). Keyed by ``uuid``; ``account_id`` only exists for users."""

    uuid: str
    type: str
    display_name: str
    account_id: str | None = None
    nickname: str | None = None
    avatar_url: str | None = None
    html_url: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "type",
        "uuid",
        "account_id",
        "display_name",
        "nickname",
        "links.avatar.href",
        "links.html.href",
    )

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        return cls(
            uuid=r.str("uuid"),
            type=r.ostr("type", "user") or "user",
            display_name=r.ostr("display_name") or r.ostr("nickname") or "",
            account_id=r.ostr("account_id"),
            nickname=r.ostr("nickname"),
            avatar_url=r.href("avatar"),
            html_url=r.href("html"),
        )


def _oaccount(r: _Reader, key: str) -> Account | None:
    child = r.ochild(key)
    return None if child is None else Account._read(child)


@dataclass(frozen=True)
class Workspace(_Record):
    """A workspace (full, or the ``workspace_base`` form with only uuid and slug)."""

    uuid: str
    slug: str
    name: str | None = None
    is_private: bool | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    html_url: str | None = None
    avatar_url: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "type",
        "uuid",
        "slug",
        "name",
        "is_private",
        "created_on",
        "updated_on",
        "links.html.href",
        "links.avatar.href",
    )

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        return cls(
            uuid=r.str("uuid"),
            slug=r.str("slug"),
            name=r.ostr("name"),
            is_private=r.opt("is_private", bool),
            created_on=r.odt("created_on"),
            updated_on=r.odt("updated_on"),
            html_url=r.href("html"),
            avatar_url=r.href("avatar"),
        )


@dataclass(frozen=True)
class WorkspaceAccess:
    """One of the caller's workspaces from ``/user/workspaces``, with the caller's permission (administrator or not)."""

    workspace: Workspace
    administrator: bool

    FIELDS: ClassVar[tuple[str, ...]] = ("administrator", *_prefixed("workspace", Workspace.FIELDS))

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        return cls(workspace=Workspace._read(r.child("workspace")), administrator=r.req("administrator", bool))


@dataclass(frozen=True)
class WorkspaceMember:
    """A workspace membership: the user, and their role where the endpoint says it (``owner``/``member``/…)."""

    user: Account
    workspace_slug: str | None = None
    permission: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "permission",
        "workspace.slug",
        *_prefixed("user", Account.FIELDS),
    )

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        ws = r.ochild("workspace")
        return cls(
            user=Account._read(r.child("user")),
            workspace_slug=ws.ostr("slug") if ws else None,
            permission=r.ostr("permission"),
        )


@dataclass(frozen=True)
class RepositoryRef:
    """A condensed repository as embedded in other objects."""

    uuid: str
    full_name: str
    name: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ("uuid", "full_name", "name")

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        return cls(uuid=r.str("uuid"), full_name=r.str("full_name"), name=r.ostr("name"))


@dataclass(frozen=True)
class RepositoryPermission:
    """The caller's effective permission (``admin``/``write``/``read``) on one repository."""

    repository: RepositoryRef
    permission: str

    FIELDS: ClassVar[tuple[str, ...]] = ("permission", *_prefixed("repository", RepositoryRef.FIELDS))

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        return cls(repository=RepositoryRef._read(r.child("repository")), permission=r.str("permission"))


@dataclass(frozen=True)
class Project:
    uuid: str
    key: str
    name: str
    description: str = ""
    is_private: bool | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None
    html_url: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "uuid",
        "key",
        "name",
        "description",
        "is_private",
        "created_on",
        "updated_on",
        "links.html.href",
    )

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        return cls(
            uuid=r.str("uuid"),
            key=r.str("key"),
            name=r.str("name"),
            description=r.ostr("description", "") or "",
            is_private=r.opt("is_private", bool),
            created_on=r.odt("created_on"),
            updated_on=r.odt("updated_on"),
            html_url=r.href("html"),
        )


@dataclass(frozen=True)
class Repository:
    """A repository. ``slug`` and ``workspace_slug`` come from ``full_name`` when Bitbucket leaves ``slug`` out."""

    uuid: str
    full_name: str
    slug: str
    workspace_slug: str
    name: str
    description: str
    is_private: bool
    updated_on: datetime
    created_on: datetime | None = None
    language: str = ""
    mainbranch: str | None = None
    project_key: str | None = None
    project_uuid: str | None = None
    size: int | None = None
    html_url: str | None = None
    # Data Center only (Cloud has no archived repositories): read-only, hidden from default listings.
    archived: bool = False

    FIELDS: ClassVar[tuple[str, ...]] = (
        "uuid",
        "full_name",
        "slug",
        "name",
        "description",
        "is_private",
        "created_on",
        "updated_on",
        "language",
        "size",
        "mainbranch.name",
        "project.key",
        "project.uuid",
        "links.html.href",
    )

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        full_name = r.str("full_name")
        if "/" not in full_name:
            raise BitbucketSchemaError(f"field 'full_name' is not workspace/slug: {full_name!r}", endpoint=endpoint)
        workspace_slug, _, derived_slug = full_name.partition("/")
        mainbranch = r.ochild("mainbranch")
        project = r.ochild("project")
        return cls(
            uuid=r.str("uuid"),
            full_name=full_name,
            slug=r.ostr("slug") or derived_slug,
            workspace_slug=workspace_slug,
            name=r.ostr("name") or derived_slug,
            description=r.ostr("description", "") or "",
            is_private=r.req("is_private", bool),
            created_on=r.odt("created_on"),
            updated_on=r.dt("updated_on"),
            language=r.ostr("language", "") or "",
            mainbranch=mainbranch.ostr("name") if mainbranch else None,
            project_key=project.ostr("key") if project else None,
            project_uuid=project.ostr("uuid") if project else None,
            size=r.opt("size", int),
            html_url=r.href("html"),
        )


@dataclass(frozen=True)
class CommitAuthor:
    """A commit's author: the raw ``Name <email>`` and the Bitbucket account when one is linked."""

    raw: str
    user: Account | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ("raw", *_prefixed("user", Account.FIELDS))

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        return cls(raw=r.ostr("raw", "") or "", user=_oaccount(r, "user"))


def same_commit(a: str | None, b: str | None) -> bool:
    """Two hashes name the same commit, compared at the shorter one's length: Bitbucket gives 12 characters in pull
    requests and some embedded objects, 40 in pushes, branches and statuses (at least 7 must match)."""
    if not a or not b:
        return False
    shortest = min(len(a), len(b))
    return shortest >= 7 and a[:shortest] == b[:shortest]


@dataclass(frozen=True)
class Commit(_Record):
    hash: str
    date: datetime | None = None
    message: str = ""
    author: CommitAuthor | None = None
    parents: tuple[str, ...] = ()

    FIELDS: ClassVar[tuple[str, ...]] = (
        "hash",
        "date",
        "message",
        *_prefixed("author", CommitAuthor.FIELDS),
        "parents.hash",
    )

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        author = r.ochild("author")
        return cls(
            hash=r.str("hash"),
            date=r.odt("date"),
            message=r.ostr("message", "") or "",
            author=CommitAuthor._read(author) if author else None,
            parents=tuple(p.str("hash") for p in (r.items("parents") or [])),
        )


@dataclass(frozen=True)
class CommitPage:
    """The first page of a commit listing (newest first) and whether Bitbucket has more after it: a count past one
    page is known only as "more than ``len(commits)``" without reading on."""

    commits: tuple[Commit, ...]
    more: bool


@dataclass(frozen=True)
class Branch:
    """A branch and its tip commit (``target``)."""

    name: str
    target: Commit
    merge_strategies: tuple[str, ...] = ()
    default_merge_strategy: str | None = None
    # Data Center says which branch is the default on each listed branch; None where the answer does not say.
    is_default: bool | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "name",
        "merge_strategies",
        "default_merge_strategy",
        "target.hash",
        "target.date",
        "target.message",
        *_prefixed("target.author", CommitAuthor.FIELDS),
    )

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        return cls(
            name=r.str("name"),
            target=Commit._read(r.child("target")),
            merge_strategies=tuple(r.opt("merge_strategies", list, [])),
            default_merge_strategy=r.ostr("default_merge_strategy"),
        )


@dataclass(frozen=True)
class Tag:
    """A tag, its commit (``target``, peeled) and (annotated tags) its message, date and tagger; a lightweight tag
    may lack them. ``object_hash``: the annotated tag object's own id (Data Center says it; equal to the commit for
    a lightweight tag), None where the answer does not say."""

    name: str
    target: Commit
    message: str = ""
    date: datetime | None = None
    tagger: CommitAuthor | None = None
    object_hash: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "name",
        "message",
        "date",
        *_prefixed("tagger", CommitAuthor.FIELDS),
        "target.hash",
        "target.date",
        "target.message",
        *_prefixed("target.author", CommitAuthor.FIELDS),
    )

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        tagger = r.ochild("tagger")
        return cls(
            name=r.str("name"),
            target=Commit._read(r.child("target")),
            message=(r.ostr("message", "") or "").rstrip("\n"),  # real bodies end the message with a newline
            date=r.odt("date"),
            tagger=CommitAuthor._read(tagger) if tagger else None,
        )


@dataclass(frozen=True)
class BranchingModel:
    """A repository's effective branching model: the development (and production) branch and the enabled prefixes.

    ``development`` is None when the model tracks the main branch of an empty repository; ``branch_types`` holds
    (kind, prefix) pairs of the enabled types only, in Bitbucket's order."""

    development: str | None
    development_exists: bool
    production: str | None = None
    branch_types: tuple[tuple[str, str], ...] = ()

    FIELDS: ClassVar[tuple[str, ...]] = (
        "development.name",
        "development.use_mainbranch",
        "development.branch.name",
        "production.name",
        "production.branch.name",
        "branch_types.kind",
        "branch_types.prefix",
    )

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        development = r.ochild("development")
        production = r.ochild("production")

        def name(part: _Reader | None) -> str | None:
            # The spec's example spells a missing name as the string "null".
            value = part.ostr("name") if part else None
            return None if value in (None, "", "null") else value

        return cls(
            development=name(development),
            development_exists=bool(development and development.ochild("branch")),
            production=name(production),
            branch_types=tuple((t.str("kind"), t.str("prefix")) for t in (r.items("branch_types") or [])),
        )


@dataclass(frozen=True)
class PullRequestEnd:
    """A pull request's source or destination: branch, commit (12-char short hash) and repository."""

    branch: str
    commit: str | None
    repository: RepositoryRef | None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "branch.name",
        "commit.hash",
        *_prefixed("repository", RepositoryRef.FIELDS),
    )

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        commit = r.ochild("commit")
        repository = r.ochild("repository")
        return cls(
            branch=r.child("branch").str("name"),
            # The commit is null once a source branch is deleted (e.g. merged with close_source_branch).
            commit=commit.ostr("hash") if commit else None,
            repository=RepositoryRef._read(repository) if repository else None,
        )


@dataclass(frozen=True)
class Participant(_Record):
    """Someone's role on a pull request: ``REVIEWER`` or ``PARTICIPANT``, approved, or changes requested."""

    user: Account
    role: str
    approved: bool
    state: str | None = None
    participated_on: datetime | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "role",
        "approved",
        "state",
        "participated_on",
        *_prefixed("user", Account.FIELDS),
    )

    @property
    def changes_requested(self) -> bool:
        return self.state == "changes_requested"

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        return cls(
            user=Account._read(r.child("user")),
            role=r.ostr("role", "PARTICIPANT") or "PARTICIPANT",
            approved=bool(r.opt("approved", bool, False)),
            state=r.ostr("state"),
            participated_on=r.odt("participated_on"),
        )


@dataclass(frozen=True)
class DefaultReviewer:
    """A user Bitbucket suggests for every new pull request of a repository; ``reviewer_type`` says where they are set
    (``repository`` or ``project``)."""

    user: Account
    reviewer_type: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ("reviewer_type", *_prefixed("user", Account.FIELDS))

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        return cls(user=Account._read(r.child("user")), reviewer_type=r.ostr("reviewer_type"))


@dataclass(frozen=True)
class PullRequest:
    id: int
    title: str
    description: str
    state: str
    draft: bool
    author: Account | None
    source: PullRequestEnd
    destination: PullRequestEnd
    created_on: datetime
    updated_on: datetime
    comment_count: int = 0
    task_count: int = 0
    close_source_branch: bool = False
    merge_commit: str | None = None
    closed_by: Account | None = None
    reason: str = ""
    reviewers: tuple[Account, ...] | None = None
    participants: tuple[Participant, ...] | None = None
    html_url: str | None = None

    BASE_FIELDS: ClassVar[tuple[str, ...]] = (
        "id",
        "title",
        "description",
        "state",
        "draft",
        "created_on",
        "updated_on",
        "comment_count",
        "task_count",
        "close_source_branch",
        "reason",
        "merge_commit.hash",
        "links.html.href",
        *_prefixed("author", Account.FIELDS),
        *_prefixed("closed_by", Account.FIELDS),
        *_prefixed("source", PullRequestEnd.FIELDS),
        *_prefixed("destination", PullRequestEnd.FIELDS),
    )
    PEOPLE_FIELDS: ClassVar[tuple[str, ...]] = (
        *_prefixed("reviewers", Account.FIELDS),
        *_prefixed("participants", Participant.FIELDS),
    )
    FIELDS: ClassVar[tuple[str, ...]] = BASE_FIELDS + PEOPLE_FIELDS

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        merge_commit = r.ochild("merge_commit")
        reviewers = r.items("reviewers")
        participants = r.items("participants")
        description = r.ostr("description")
        if description is None:
            summary = r.ochild("summary")
            description = (summary.ostr("raw") if summary else None) or ""
        return cls(
            id=r.req("id", int),
            title=r.str("title"),
            description=description,
            state=r.str("state"),
            draft=bool(r.opt("draft", bool, False)),
            author=_oaccount(r, "author"),
            source=PullRequestEnd._read(r.child("source")),
            destination=PullRequestEnd._read(r.child("destination")),
            created_on=r.dt("created_on"),
            updated_on=r.dt("updated_on"),
            comment_count=r.opt("comment_count", int, 0),
            task_count=r.opt("task_count", int, 0),
            close_source_branch=bool(r.opt("close_source_branch", bool, False)),
            merge_commit=merge_commit.ostr("hash") if merge_commit else None,
            closed_by=_oaccount(r, "closed_by"),
            reason=r.ostr("reason", "") or "",
            reviewers=None if reviewers is None else tuple(Account._read(x) for x in reviewers),
            participants=None if participants is None else tuple(Participant._read(x) for x in participants),
            html_url=r.href("html"),
        )


@dataclass(frozen=True)
class BuildStatus(_Record):
    """A commit's build status (Bitbucket's commit status, ``type`` "build"), unique per commit by ``key``.

    ``commit`` is the hash as the endpoint gives it: 12 characters in a pull request's list, 40 elsewhere. A webhook's
    ``commit_status`` may carry it only in ``links.commit.href`` (the documented example does), so it is read from
    there when ``commit.hash`` is absent. ``refname`` is a bare branch name on Cloud, or None.
    """

    key: str
    state: str
    commit: str
    name: str = ""
    description: str = ""
    url: str = ""
    refname: str | None = None
    created_on: datetime | None = None
    updated_on: datetime | None = None

    STATES: ClassVar[tuple[str, ...]] = ("SUCCESSFUL", "FAILED", "INPROGRESS", "STOPPED")
    FIELDS: ClassVar[tuple[str, ...]] = (
        "key",
        "state",
        "name",
        "description",
        "url",
        "refname",
        "commit.hash",
        "created_on",
        "updated_on",
    )

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        commit = r.ochild("commit")
        commit_hash = commit.ostr("hash") if commit else None
        if commit_hash is None:
            href = r.href("commit") or ""
            commit_hash = href.rstrip("/").rsplit("/commit/", 1)[-1] if "/commit/" in href else None
        if not commit_hash:
            raise r._fail("commit", "missing required")
        state = r.str("state")
        if state not in cls.STATES:
            raise r._fail("state", f"unknown value {state!r} in")
        return cls(
            key=r.str("key"),
            state=state,
            commit=commit_hash,
            name=r.ostr("name", "") or "",
            description=r.ostr("description", "") or "",
            url=r.ostr("url", "") or "",
            refname=r.ostr("refname") or None,
            created_on=r.odt("created_on"),
            updated_on=r.odt("updated_on"),
        )


@dataclass(frozen=True)
class DiffStat:
    """One file's change between two commits. ``old_path`` is None for added files, ``new_path`` for removed ones;
    the line counts are None where Bitbucket does not count them (Data Center's changes)."""

    status: str
    lines_added: int | None
    lines_removed: int | None
    old_path: str | None
    new_path: str | None

    FIELDS: ClassVar[tuple[str, ...]] = ("status", "lines_added", "lines_removed", "old.path", "new.path")

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def conflicted(self) -> bool:
        """A merge preview's entry for a file the merge would conflict on."""
        return self.status in CONFLICT_STATUSES

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        old = r.ochild("old")
        new = r.ochild("new")
        return cls(
            status=r.str("status"),
            lines_added=r.opt("lines_added", int, 0),
            lines_removed=r.opt("lines_removed", int, 0),
            old_path=old.str("path") if old else None,
            new_path=new.str("path") if new else None,
        )


# Diffstat statuses of a merge preview (a pull request's diffstat) that mean the merge would conflict: the first two
# are recorded, the third is known by name only.
CONFLICT_STATUSES = frozenset({"merge conflict", "local deleted", "remote deleted"})


@dataclass(frozen=True)
class BranchRestriction:
    """A branch permission or merge check (``/branch-restrictions``): ``kind`` on branches matching ``pattern``
    (``branch_match_kind`` ``glob``) or of ``branch_type`` (``branching_model``); ``value`` a number for the kinds
    that take one; ``users`` (account uuids) and ``groups`` (slugs) exempt from ``push`` or allowed to merge."""

    id: int
    kind: str
    branch_match_kind: str = "glob"
    pattern: str = ""
    branch_type: str = ""
    value: int | None = None
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    FIELDS: ClassVar[tuple[str, ...]] = (
        "id",
        "kind",
        "branch_match_kind",
        "pattern",
        "branch_type",
        "value",
        "users.uuid",
        "groups.slug",
    )

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        return cls(
            id=r.req("id", int),
            kind=r.str("kind"),
            branch_match_kind=r.ostr("branch_match_kind", "glob") or "glob",
            pattern=r.ostr("pattern", "") or "",
            branch_type=r.ostr("branch_type", "") or "",
            value=r.opt("value", int),
            users=tuple(u.str("uuid") for u in r.items("users") or ()),
            groups=tuple(g.str("slug") for g in r.items("groups") or ()),
        )


@dataclass(frozen=True)
class SourceEntry:
    """A file (``commit_file``) or directory (``commit_directory``) at a commit; ``path`` is repo-absolute."""

    type: str
    path: str
    commit: str | None = None
    size: int | None = None
    attributes: tuple[str, ...] = ()
    mimetype: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ("type", "path", "commit.hash", "size", "attributes", "mimetype")

    @property
    def is_dir(self) -> bool:
        return self.type == "commit_directory"

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        commit = r.ochild("commit")
        attributes = r.data.get("attributes") or ()
        if isinstance(attributes, str):  # the spec types it as one string; real answers send a list
            attributes = (attributes,)
        return cls(
            type=r.str("type"),
            path=r.str("path"),
            commit=commit.ostr("hash") if commit else None,
            size=r.opt("size", int),
            attributes=tuple(str(a) for a in attributes),
            mimetype=r.ostr("mimetype"),
        )


@dataclass(frozen=True)
class FileHistoryEntry:
    """One commit that changed a file (a ``filehistory`` value): the file's ``path`` at that commit (it differs
    from the path asked for across a rename) and the commit."""

    path: str
    commit: Commit

    FIELDS: ClassVar[tuple[str, ...]] = ("path", *_prefixed("commit", Commit.FIELDS))

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        return cls(path=r.str("path"), commit=Commit._read(r.child("commit")))


@dataclass(frozen=True)
class CommitPullRequests:
    """The pull requests that contain a commit; ``indexing`` while Bitbucket still builds that index (its 202 with
    an empty page): the list then says nothing yet."""

    pull_requests: tuple[PullRequest, ...]
    indexing: bool = False


@dataclass(frozen=True)
class FileContent:
    """A file's raw bytes at a commit, with what the response headers said about it."""

    path: str
    commit: str
    content: bytes
    content_type: str | None = None
    etag: str | None = None

    @property
    def size(self) -> int:
        return len(self.content)


class DiffText(str):
    """A raw diff as text. ``truncated``: Bitbucket sent more than the byte cap the caller asked for, so this is only
    its beginning (the rest was never read).

    A ``str``, so callers that only show or search a diff need nothing new; it pickles with its flag (caches)."""

    truncated: bool = False

    @classmethod
    def of(cls, text: str, *, truncated: bool) -> DiffText:
        diff = cls(text)
        diff.truncated = truncated
        return diff


@dataclass(frozen=True)
class CommentResolution(_Record):
    """Who resolved a comment thread and when (``comment_resolution``: the body of POST .../comments/{id}/resolve,
    and a resolved comment's ``resolution``)."""

    user: Account | None
    created_on: datetime

    FIELDS: ClassVar[tuple[str, ...]] = ("created_on", *_prefixed("user", Account.FIELDS))

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        return cls(user=_oaccount(r, "user"), created_on=r.dt("created_on"))


@dataclass(frozen=True)
class Comment(_Record):
    """A pull request comment: global, inline (anchored to a file, and to lines of the diff) or a reply.

    Inline anchors: ``inline_to`` is a line on the new side, ``inline_from`` on the old side; a range runs from
    ``inline_start_to`` (or ``inline_start_from``) to ``inline_to`` (``inline_from``), the ``start_*`` being ``None``
    for one line. ``inline_outdated`` is ``None`` when Bitbucket did not say (lists leave it out; the POST answer and
    the activity feed carry it). Replies have ``parent_id``; only a thread's root is resolved. A deleted comment stays
    listed with ``deleted`` and empty content. ``pending``: a draft of a review in progress, seen only by its author.
    ``resolution`` is ``None`` for an open thread, and also when Bitbucket left it out (one list was seen without it).
    """

    id: int
    content: str
    user: Account | None
    created_on: datetime
    updated_on: datetime | None = None
    html: str = ""
    deleted: bool = False
    pending: bool = False
    parent_id: int | None = None
    inline_path: str | None = None
    inline_from: int | None = None
    inline_to: int | None = None
    inline_start_from: int | None = None
    inline_start_to: int | None = None
    inline_outdated: bool | None = None
    resolution: CommentResolution | None = None
    html_url: str | None = None
    code_url: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "id",
        "content.raw",
        "content.html",
        "created_on",
        "updated_on",
        "deleted",
        "pending",
        "parent.id",
        "inline.path",
        "inline.from",
        "inline.to",
        "inline.start_from",
        "inline.start_to",
        "inline.outdated",
        *_prefixed("resolution", CommentResolution.FIELDS),
        "links.html.href",
        "links.code.href",
        *_prefixed("user", Account.FIELDS),
    )

    @property
    def is_inline(self) -> bool:
        return self.inline_path is not None

    @property
    def is_reply(self) -> bool:
        return self.parent_id is not None

    @property
    def resolved(self) -> bool:
        return self.resolution is not None

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        content = r.ochild("content")
        parent = r.ochild("parent")
        inline = r.ochild("inline")
        resolution = r.ochild("resolution")
        return cls(
            id=r.req("id", int),
            content=(content.ostr("raw", "") if content else "") or "",
            html=(content.ostr("html", "") if content else "") or "",
            user=_oaccount(r, "user"),
            created_on=r.dt("created_on"),
            updated_on=r.odt("updated_on"),
            deleted=bool(r.opt("deleted", bool, False)),
            pending=bool(r.opt("pending", bool, False)),
            parent_id=parent.opt("id", int) if parent else None,
            inline_path=inline.ostr("path") if inline else None,
            inline_from=inline.opt("from", int) if inline else None,
            inline_to=inline.opt("to", int) if inline else None,
            inline_start_from=inline.opt("start_from", int) if inline else None,
            inline_start_to=inline.opt("start_to", int) if inline else None,
            inline_outdated=inline.opt("outdated", bool) if inline else None,
            resolution=CommentResolution._read(resolution) if resolution else None,
            html_url=r.href("html"),
            code_url=r.href("code"),
        )


@dataclass(frozen=True)
class Activity:
    """One entry of a pull request's activity feed.

    ``kind`` is the entry's key: ``comment``, ``update``, ``approval``, ``changes_requested`` (the key name of the
    last one is unconfirmed in Bitbucket's docs, so any other single key is passed through as the kind).
    """

    kind: str
    date: datetime | None
    user: Account | None
    comment: Comment | None = None
    state: str | None = None
    title: str | None = None
    # An ``update``'s source commit at that moment: Bitbucket sends it shortened (12 hex digits, as recorded).
    source_commit: str | None = None

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        if (c := r.ochild("comment")) is not None:
            comment = Comment._read(c)
            return cls(kind="comment", date=comment.created_on, user=comment.user, comment=comment)
        if (u := r.ochild("update")) is not None:
            return cls(
                kind="update",
                date=u.odt("date"),
                user=_oaccount(u, "author"),
                state=u.ostr("state"),
                title=u.ostr("title"),
                source_commit=_update_commit(u),
            )
        for key in ("approval", "changes_requested", "request_changes", "changes_request"):
            if (e := r.ochild(key)) is not None:
                kind = "approval" if key == "approval" else "changes_requested"
                return cls(kind=kind, date=e.odt("date"), user=_oaccount(e, "user"))
        other = [k for k in r.data if k not in ("pull_request", "type", "links")]
        if not other:
            raise BitbucketSchemaError("activity entry has no comment, update or approval", endpoint=endpoint)
        return cls(kind=other[0], date=None, user=None)


def _update_commit(update: _Reader) -> str | None:
    source = update.ochild("source")
    commit = source.ochild("commit") if source is not None else None
    return commit.ostr("hash") if commit is not None else None


@dataclass(frozen=True)
class WebhookSubscription:
    uuid: str
    url: str
    events: tuple[str, ...]
    active: bool
    description: str = ""
    subject_type: str | None = None
    created_at: datetime | None = None
    secret_set: bool | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "uuid",
        "url",
        "description",
        "subject_type",
        "active",
        "created_at",
        "events",
        "secret_set",
    )

    @classmethod
    def from_json(cls, data: Any, *, endpoint: str) -> Self:
        r = _Reader(data, endpoint=endpoint)
        return cls(
            uuid=r.str("uuid"),
            url=r.str("url"),
            events=tuple(r.req("events", list)),
            active=r.req("active", bool),
            description=r.ostr("description", "") or "",
            subject_type=r.ostr("subject_type"),
            created_at=r.odt("created_at"),
            secret_set=r.opt("secret_set", bool),
        )


@dataclass(frozen=True)
class Task(_Record):
    """A pull request task (GET .../pullrequests/{id}/tasks); ``comment_id`` is the comment it hangs on, if any."""

    id: int
    content: str
    state: str  # UNRESOLVED | RESOLVED
    created_on: datetime
    creator: Account | None = None
    updated_on: datetime | None = None
    resolved_on: datetime | None = None
    resolved_by: Account | None = None
    comment_id: int | None = None

    FIELDS: ClassVar[tuple[str, ...]] = (
        "id",
        "state",
        "content.raw",
        "created_on",
        "updated_on",
        "resolved_on",
        "comment.id",
        *_prefixed("creator", Account.FIELDS),
        *_prefixed("resolved_by", Account.FIELDS),
    )

    @property
    def resolved(self) -> bool:
        return self.state == "RESOLVED"

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        content = r.ochild("content")
        comment = r.ochild("comment")
        return cls(
            id=r.req("id", int),
            content=(content.ostr("raw", "") if content else "") or "",
            state=r.str("state"),
            created_on=r.dt("created_on"),
            creator=_oaccount(r, "creator"),
            updated_on=r.odt("updated_on"),
            resolved_on=r.odt("resolved_on"),
            resolved_by=_oaccount(r, "resolved_by"),
            comment_id=comment.opt("id", int) if comment else None,
        )


@dataclass(frozen=True)
class ReportData:
    """One of a report's data fields: ``value`` for the scalar types, ``link_text``/``link_href`` for a LINK.

    ``type`` is BOOLEAN, DATE (epoch ms), DURATION (ms), LINK, NUMBER, PERCENTAGE (0-100) or TEXT; a field sent
    without one is typed from its value, as Bitbucket does."""

    title: str
    type: str
    value: bool | int | float | str | None = None
    link_text: str = ""
    link_href: str = ""

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        value = r.data.get("value")
        kind = r.ostr("type")
        if kind is None:
            kind = "BOOLEAN" if isinstance(value, bool) else "NUMBER" if isinstance(value, int | float) else "TEXT"
        if kind == "LINK":
            link = r.ochild("value")
            return cls(
                title=r.ostr("title", "") or "",
                type=kind,
                link_text=(link.ostr("text", "") if link else "") or "",
                link_href=(link.ostr("href", "") if link else "") or "",
            )
        if not isinstance(value, bool | int | float | str):
            value = None if value is None else str(value)
        return cls(title=r.ostr("title", "") or "", type=kind, value=value)


@dataclass(frozen=True)
class Report(_Record):
    """A Code Insights report on a commit (GET .../commit/{commit}/reports)."""

    uuid: str
    title: str
    report_type: str  # SECURITY | COVERAGE | TEST | BUG
    result: str  # PASSED | FAILED | PENDING ("" when the tool set none)
    external_id: str | None = None
    details: str = ""
    reporter: str = ""
    link: str = ""
    data: tuple[ReportData, ...] = ()
    created_on: datetime | None = None
    updated_on: datetime | None = None

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        return cls(
            uuid=r.str("uuid"),
            title=r.ostr("title", "") or "",
            report_type=r.ostr("report_type", "") or "",
            result=r.ostr("result", "") or "",
            external_id=r.ostr("external_id"),
            details=r.ostr("details", "") or "",
            reporter=r.ostr("reporter", "") or "",
            link=r.ostr("link", "") or "",
            data=tuple(ReportData._read(d) for d in r.items("data") or ()),
            created_on=r.odt("created_on"),
            updated_on=r.odt("updated_on"),
        )


@dataclass(frozen=True)
class Annotation(_Record):
    """A report's annotation: a finding on a file's line (``line`` 0: the top of the file; no ``path``: the PR)."""

    uuid: str
    summary: str
    annotation_type: str = ""  # VULNERABILITY | CODE_SMELL | BUG
    external_id: str | None = None
    severity: str = ""  # CRITICAL | HIGH | MEDIUM | LOW
    result: str = ""  # PASSED | FAILED | SKIPPED | IGNORED
    path: str | None = None
    line: int = 0
    details: str = ""
    link: str = ""

    @classmethod
    def _read(cls, r: _Reader) -> Self:
        return cls(
            uuid=r.str("uuid"),
            summary=r.ostr("summary", "") or "",
            annotation_type=r.ostr("annotation_type", "") or "",
            external_id=r.ostr("external_id"),
            severity=r.ostr("severity", "") or "",
            result=r.ostr("result", "") or "",
            path=r.ostr("path"),
            line=r.opt("line", int, 0),
            details=r.ostr("details", "") or "",
            link=r.ostr("link", "") or "",
        )


def fields_param(record_fields: tuple[str, ...], *, paginated: bool) -> str:
    """The ``fields=`` value for a record: paths under ``values.`` plus ``next`` and ``size`` for a page."""
    if not paginated:
        return ",".join(record_fields)
    return ",".join((*_prefixed("values", record_fields), "next", "size"))
