"""Data Center JSON to the client's records, so code above the client reads one shape for both backends.

The mapping (the reference, §7 and §12):

* ids: Data Center's numeric ids become the records' brace-wrapped ``uuid`` strings, named by kind and qualified by
  the site (``{user-101@1a2b3c4d}``, ``{project-7@1a2b3c4d}``, ``{repository-12@1a2b3c4d}``): the tag is the first 8
  hex digits of the SHA-256 of the normalised server root (``site_tag``), so two Data Center servers' repository 12
  never meet in the mirror, where these uuids are unique; stable on one server, never a Cloud uuid. ``native_id``
  gives Bitbucket's own id back.
* a user: ``account_id`` is the login ``name`` (what request bodies name a user by), ``nickname`` the URL ``slug``;
  a ``SERVICE`` user (behind a project or repository token) has ``type`` ``app_user``.
* a project is the workspace (and its own sole project): ``slug`` is the project key, ``~user`` for personal ones.
* a repository: ``full_name`` ``KEY/slug``; ``is_private`` is ``not public``; ``archived`` kept. Data Center gives a
  repository no timestamps at all, so ``updated_on`` is the moment it was read (a caller comparing it with a
  watermark re-reads the repository rather than missing a change).
* timestamps are epoch milliseconds (ISO strings, which some 10.x payloads carry, are read too).
* reviewer status: ``APPROVED`` -> ``approved``, ``NEEDS_WORK`` -> ``changes_requested``, ``UNAPPROVED`` -> None.
* links: ``links.self[0].href``, kept only when it is http(s).
* a change (``RestChange``) as a diffstat entry: ``ADD`` -> ``added``, ``DELETE`` -> ``removed``, ``MOVE`` ->
  ``renamed`` (``srcPath`` the old path), ``COPY`` -> ``added`` (Cloud has no copies), ``MODIFY`` and anything else
  -> ``modified``; a pull request's change with a ``conflict`` -> ``merge conflict`` (Cloud's merge-preview status).
  Data Center's changes carry no line counts: ``lines_added`` and ``lines_removed`` are None (not known).
* a build status: ``SUCCESSFUL``, ``FAILED``, ``INPROGRESS`` kept, ``CANCELLED`` -> ``STOPPED``; ``UNKNOWN`` (no
  Cloud state says it) is left out by the client.
* repository permissions ``REPO_ADMIN``/``REPO_WRITE``/``REPO_READ`` -> ``admin``/``write``/``read``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..errors import BitbucketSchemaError
from ..records import (
    Account,
    Activity,
    Branch,
    BuildStatus,
    Comment,
    CommentResolution,
    Commit,
    CommitAuthor,
    DiffStat,
    Participant,
    Project,
    PullRequest,
    PullRequestEnd,
    Repository,
    RepositoryPermission,
    RepositoryRef,
    SourceEntry,
    Tag,
    Task,
    Workspace,
    WorkspaceMember,
)
from .http import normalised_root

PARTICIPANT_STATES = {"APPROVED": "approved", "NEEDS_WORK": "changes_requested"}
# Project permissions as Cloud's workspace roles name them.
PROJECT_ROLES = {"PROJECT_ADMIN": "owner", "PROJECT_WRITE": "collaborator", "PROJECT_READ": "member"}
# Pull request activity actions as the Cloud activity feed's kinds (others pass through lower-cased).
_STATE_AFTER = {"OPENED": "OPEN", "REOPENED": "OPEN", "MERGED": "MERGED", "DECLINED": "DECLINED"}


class _Obj:
    """One JSON object, naming the endpoint and field path when something required is missing or mistyped."""

    def __init__(self, data: Any, *, endpoint: str, site: str, path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise BitbucketSchemaError(
                f"expected an object at {path or 'response'}, got {type(data).__name__}", endpoint=endpoint
            )
        self.data = data
        self.endpoint = endpoint
        self.site = site
        self.path = path

    def uuid(self, kind: str, key: str = "id") -> str:
        """The record id of this object's numeric ``key``, qualified by the site (``{repository-12@1a2b3c4d}``)."""
        return "{" + f"{kind}-{self.integer(key)}@{self.site}" + "}"

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str) -> BitbucketSchemaError:
        return BitbucketSchemaError(f"{problem} field {self._name(key)!r}", endpoint=self.endpoint)

    def get(self, key: str, kind: type | tuple[type, ...], *, required: bool = False) -> Any:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.fail(key, "missing required")
            return None
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            raise self.fail(key, "wrong type for")
        return value

    def text(self, key: str) -> str:
        return self.get(key, str, required=True)

    def otext(self, key: str) -> str | None:
        return self.get(key, str)

    def integer(self, key: str) -> int:
        return self.get(key, int, required=True)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key, bool)
        return default if value is None else value

    def child(self, key: str) -> _Obj:
        return _Obj(self.get(key, Mapping, required=True), endpoint=self.endpoint, site=self.site, path=self._name(key))

    def ochild(self, key: str) -> _Obj | None:
        value = self.get(key, Mapping)
        return None if value is None else _Obj(value, endpoint=self.endpoint, site=self.site, path=self._name(key))

    def items(self, key: str) -> list[_Obj]:
        return [
            _Obj(v, endpoint=self.endpoint, site=self.site, path=f"{self._name(key)}[{i}]")
            for i, v in enumerate(self.get(key, list) or [])
        ]

    def time(self, key: str) -> datetime | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise self.fail(key, f"unparseable timestamp {value!r} in") from None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        raise self.fail(key, "wrong type for")

    def rtime(self, key: str) -> datetime:
        value = self.time(key)
        if value is None:
            raise self.fail(key, "missing required")
        return value

    def self_href(self) -> str | None:
        """``links.self[0].href`` when it is an http(s) URL (a link shown to users: never another scheme)."""
        links = self.data.get("links")
        selves = links.get("self") if isinstance(links, Mapping) else None
        if isinstance(selves, list) and selves and isinstance(selves[0], Mapping):
            href = selves[0].get("href")
            if isinstance(href, str) and href.lower().startswith(("http://", "https://")):
                return href
        return None


def site_tag(server_root: str) -> str:
    """The short stable tag of a Data Center site: the first 8 hex digits of the SHA-256 of its normalised server
    root (as ``bitbucket_sync.sites.normalise_api_url`` gives it), so every way of writing the same site's URL gives
    the same tag."""
    return hashlib.sha256(normalised_root(server_root).encode()).hexdigest()[:8]


_RECORD_ID = re.compile(r"^\{(?:user|project|repository)-(\d+)(?:@[0-9a-f]{8})?\}$")


def native_id(uuid: str) -> str:
    """Bitbucket Data Center's own numeric id (``"12"``) of a record id made here (``{repository-12@1a2b3c4d}``);
    ValueError for anything else (a Cloud uuid among them)."""
    match = _RECORD_ID.match(uuid)
    if match is None:
        raise ValueError(f"not a Data Center record id: {uuid!r}")
    return match.group(1)


# -- people and containers ------------------------------------------------------------------------------------------


def _account(o: _Obj) -> Account:
    return Account(
        uuid=o.uuid("user"),
        type="app_user" if o.otext("type") == "SERVICE" else "user",
        display_name=o.otext("displayName") or o.otext("name") or "",
        account_id=o.text("name"),
        nickname=o.otext("slug") or o.otext("name"),
        html_url=o.self_href(),
    )


def account(data: Any, *, endpoint: str, site: str) -> Account:
    """``RestApplicationUser``."""
    return _account(_Obj(data, endpoint=endpoint, site=site))


def _workspace(o: _Obj) -> Workspace:
    return Workspace(
        uuid=o.uuid("project"),
        slug=o.text("key"),
        name=o.otext("name") or o.text("key"),
        is_private=not o.flag("public"),
        html_url=o.self_href(),
    )


def workspace(data: Any, *, endpoint: str, site: str) -> Workspace:
    """``RestProject`` as a workspace: personal projects (``~user``, ``type`` ``PERSONAL``) included."""
    return _workspace(_Obj(data, endpoint=endpoint, site=site))


def project(data: Any, *, endpoint: str, site: str) -> Project:
    """``RestProject`` as the workspace's one project (Data Center has no level between the two)."""
    o = _Obj(data, endpoint=endpoint, site=site)
    return Project(
        uuid=o.uuid("project"),
        key=o.text("key"),
        name=o.otext("name") or o.text("key"),
        description=o.otext("description") or "",
        is_private=not o.flag("public"),
        html_url=o.self_href(),
    )


def member(data: Any, *, endpoint: str, site: str) -> WorkspaceMember:
    """``{user, permission}`` of ``/projects/{key}/permissions/users``: the permission as Cloud's role name."""
    o = _Obj(data, endpoint=endpoint, site=site)
    permission = o.text("permission")
    return WorkspaceMember(user=_account(o.child("user")), permission=PROJECT_ROLES.get(permission, permission))


def _repository_ref(o: _Obj) -> RepositoryRef:
    key = o.child("project").text("key")
    slug = o.text("slug")
    return RepositoryRef(uuid=o.uuid("repository"), full_name=f"{key}/{slug}", name=o.otext("name"))


def repository(data: Any, *, endpoint: str, site: str, default_branch: str | None = None) -> Repository:
    """``RestRepository``. ``default_branch`` (from ``/default-branch``) wins over the rarely sent
    ``defaultBranch``."""
    o = _Obj(data, endpoint=endpoint, site=site)
    project_obj = o.child("project")
    key = project_obj.text("key")
    slug = o.text("slug")
    return Repository(
        uuid=o.uuid("repository"),
        full_name=f"{key}/{slug}",
        slug=slug,
        workspace_slug=key,
        name=o.otext("name") or slug,
        description=o.otext("description") or "",
        is_private=not o.flag("public"),
        updated_on=datetime.now(UTC),
        mainbranch=default_branch or o.otext("defaultBranch"),
        project_key=key,
        project_uuid=project_obj.uuid("project"),
        html_url=o.self_href(),
        archived=o.flag("archived"),
    )


# -- refs and commits -----------------------------------------------------------------------------------------------


def _commit_author(o: _Obj | None) -> CommitAuthor | None:
    if o is None:
        return None
    name = o.otext("name") or ""
    email = o.otext("emailAddress")
    raw = f"{name} <{email}>" if email else name
    # Git's author; enriched with the user's fields only when the e-mail maps to a Bitbucket user.
    user = _account(o) if isinstance(o.data.get("id"), int) and o.otext("slug") else None
    return CommitAuthor(raw=raw, user=user)


def commit(data: Any, *, endpoint: str, site: str) -> Commit:
    """``RestCommit``: ``date`` is the author's (as Cloud's), parents by full id."""
    o = _Obj(data, endpoint=endpoint, site=site)
    return Commit(
        hash=o.text("id"),
        date=o.time("authorTimestamp"),
        message=o.otext("message") or "",
        author=_commit_author(o.ochild("author")),
        parents=tuple(p.text("id") for p in o.items("parents")),
    )


def branch(data: Any, *, endpoint: str, site: str) -> Branch:
    """``RestBranch``: the tip is known by hash only (ask ``get_commit`` for its author and date)."""
    o = _Obj(data, endpoint=endpoint, site=site)
    return Branch(
        name=o.text("displayId"),
        target=Commit(hash=o.otext("latestCommit") or o.text("latestChangeset")),
        is_default=o.get("isDefault", bool),
    )


def tag(data: Any, *, endpoint: str, site: str) -> Tag:
    """``RestTag``: ``latestCommit`` is the peeled commit, ``hash`` the tag object."""
    o = _Obj(data, endpoint=endpoint, site=site)
    return Tag(
        name=o.text("displayId"),
        target=Commit(hash=o.otext("latestCommit") or o.text("latestChangeset")),
        object_hash=o.otext("hash"),
    )


# -- pull requests --------------------------------------------------------------------------------------------------


def _end(o: _Obj) -> PullRequestEnd:
    repository_obj = o.ochild("repository")
    return PullRequestEnd(
        branch=o.text("displayId"),
        commit=o.otext("latestCommit"),
        repository=_repository_ref(repository_obj) if repository_obj else None,
    )


def _participant(o: _Obj) -> Participant:
    status = o.otext("status")
    return Participant(
        user=_account(o.child("user")),
        role=o.otext("role") or "PARTICIPANT",
        approved=o.flag("approved") or status == "APPROVED",
        state=PARTICIPANT_STATES.get(status or ""),
    )


def pull_request(data: Any, *, endpoint: str, site: str) -> PullRequest:
    """``RestPullRequest``. ``participants`` holds the reviewers and the other participants (as Cloud's does) with
    their status; ``comment_count`` and ``task_count`` (open tasks) come from ``properties`` when the server sent
    them; ``merge_commit`` from ``properties.mergeCommit``."""
    o = _Obj(data, endpoint=endpoint, site=site)
    properties = o.ochild("properties")
    merge_commit = properties.ochild("mergeCommit") if properties else None
    author = o.ochild("author")
    reviewers = [_participant(r) for r in o.items("reviewers")]
    others = [_participant(p) for p in o.items("participants")]
    return PullRequest(
        id=o.integer("id"),
        title=o.text("title"),
        description=o.otext("description") or "",
        state=o.text("state"),
        draft=o.flag("draft"),
        author=_account(author.child("user")) if author else None,
        source=_end(o.child("fromRef")),
        destination=_end(o.child("toRef")),
        created_on=o.rtime("createdDate"),
        updated_on=o.rtime("updatedDate"),
        comment_count=(properties.get("commentCount", int) if properties else None) or 0,
        task_count=(properties.get("openTaskCount", int) if properties else None) or 0,
        merge_commit=merge_commit.otext("id") if merge_commit else None,
        reviewers=tuple(r.user for r in reviewers),
        participants=tuple(reviewers + others),
        html_url=o.self_href(),
    )


def _comment(o: _Obj, parent_id: int | None) -> Comment:
    anchor = o.ochild("anchor")
    line = anchor.get("line", int) if anchor else None
    old_side = anchor is not None and (anchor.otext("fileType") == "FROM" or anchor.otext("lineType") == "REMOVED")
    resolved = o.flag("threadResolved")
    resolver = o.ochild("threadResolver")
    resolved_on = o.time("threadResolvedDate")
    path = anchor.get("path", (str, Mapping)) if anchor else None
    if isinstance(path, Mapping):  # a RestPath in the spec, a string on the wire
        path = path.get("toString") if isinstance(path.get("toString"), str) else None
    return Comment(
        id=o.integer("id"),
        content=o.otext("text") or "",
        user=_account(o.child("author")) if o.ochild("author") else None,
        created_on=o.rtime("createdDate"),
        updated_on=o.time("updatedDate"),
        pending=o.otext("state") == "PENDING",
        parent_id=parent_id,
        inline_path=path if anchor else None,
        inline_from=line if old_side else None,
        inline_to=None if old_side else line,
        inline_outdated=anchor.get("orphaned", bool) if anchor else None,
        resolution=(
            CommentResolution(user=_account(resolver) if resolver else None, created_on=resolved_on)
            if resolved and resolved_on is not None
            else None
        ),
    )


def comment_thread(data: Any, *, endpoint: str, site: str, parent_id: int | None = None) -> list[Comment]:
    """A ``RestComment`` and its nested replies (``comments[]``, recursively), thread order, each reply with its
    ``parent_id``."""
    o = _Obj(data, endpoint=endpoint, site=site)
    root = _comment(o, parent_id)
    found = [root]
    for reply in o.items("comments"):
        found.extend(comment_thread(reply.data, endpoint=endpoint, site=site, parent_id=root.id))
    return found


def comment(data: Any, *, endpoint: str, site: str) -> Comment:
    """One ``RestComment`` (its replies are not read)."""
    return _comment(_Obj(data, endpoint=endpoint, site=site), None)


def activity(data: Any, *, endpoint: str, site: str) -> Activity:
    """``RestPullRequestActivity`` as Cloud's activity kinds: ``COMMENTED`` -> ``comment`` (the thread's root as
    the activity carries it), ``APPROVED`` -> ``approval``, ``REVIEWED`` (what setting NEEDS_WORK records) ->
    ``changes_requested``, ``OPENED``/``REOPENED``/``MERGED``/``DECLINED``/``UPDATED``/``RESCOPED`` -> ``update``
    (with the state they lead to), anything else lower-cased (``unapproved``, ``auto_merge_requested``...)."""
    o = _Obj(data, endpoint=endpoint, site=site)
    action = o.text("action")
    user = _account(o.child("user")) if o.ochild("user") else None
    date = o.time("createdDate")
    if action == "COMMENTED":
        thread = o.child("comment")
        return Activity(kind="comment", date=date, user=user, comment=_comment(thread, None))
    if action == "APPROVED":
        return Activity(kind="approval", date=date, user=user)
    if action == "REVIEWED":
        return Activity(kind="changes_requested", date=date, user=user)
    if action in _STATE_AFTER or action in ("UPDATED", "RESCOPED"):
        return Activity(kind="update", date=date, user=user, state=_STATE_AFTER.get(action))
    return Activity(kind=action.lower(), date=date, user=user)


# -- source ---------------------------------------------------------------------------------------------------------


def source_entry(directory: str, at: str) -> Any:
    """A parser of a directory's ``children`` values as ``SourceEntry`` records with repository-absolute paths."""

    def parse(data: Any, *, endpoint: str) -> SourceEntry:
        o = _Obj(data, endpoint=endpoint, site="")
        path_obj = o.child("path")
        name = path_obj.otext("toString") or "/".join(str(c) for c in path_obj.get("components", list) or [])
        if not name:
            raise path_obj.fail("toString", "missing required")
        kind = o.text("type")
        return SourceEntry(
            type="commit_directory" if kind == "DIRECTORY" else "commit_file",
            path=f"{directory}/{name}" if directory else name,
            commit=at,
            size=o.get("size", int),
            attributes=("submodule",) if kind == "SUBMODULE" else (),
        )

    return parse


def change_path(data: Any, *, endpoint: str) -> str:
    """A ``RestChange``'s path (``path.toString``, else its components joined)."""
    path = _Obj(data, endpoint=endpoint, site="").child("path")
    name = path.otext("toString") or "/".join(str(c) for c in path.get("components", list) or [])
    if not name:
        raise path.fail("toString", "missing required")
    return name


def task(data: Any, *, endpoint: str, site: str) -> Task:
    """A ``BLOCKER`` ``RestComment`` as a task: ``OPEN`` -> ``UNRESOLVED``, ``RESOLVED`` kept."""
    o = _Obj(data, endpoint=endpoint, site=site)
    author = o.ochild("author")
    resolver = o.ochild("resolver")
    parent = o.ochild("parent")
    state = o.otext("state") or "OPEN"
    return Task(
        id=o.integer("id"),
        content=o.otext("text") or "",
        state="RESOLVED" if state == "RESOLVED" else "UNRESOLVED",
        created_on=o.rtime("createdDate"),
        creator=_account(author) if author else None,
        updated_on=o.time("updatedDate"),
        resolved_on=o.time("resolvedDate"),
        resolved_by=_account(resolver) if resolver else None,
        comment_id=parent.get("id", int) if parent else None,
    )


# -- changes, builds, permissions -----------------------------------------------------------------------------------

_CHANGE_STATUS = {"ADD": "added", "COPY": "added", "DELETE": "removed", "MOVE": "renamed"}


def _path_text(o: _Obj, key: str) -> str | None:
    path = o.ochild(key)
    if path is None:
        return None
    name = path.otext("toString") or "/".join(str(c) for c in path.get("components", list) or [])
    if not name:
        raise path.fail("toString", "missing required")
    return name


def diffstat(data: Any, *, endpoint: str) -> DiffStat:
    """A ``RestChange`` as a ``DiffStat`` (line counts 0: Data Center's changes do not count lines)."""
    o = _Obj(data, endpoint=endpoint, site="")
    path = _path_text(o, "path")
    if path is None:
        raise o.fail("path", "missing required")
    kind = o.otext("type") or "MODIFY"
    status = "merge conflict" if o.get("conflict", Mapping) else _CHANGE_STATUS.get(kind, "modified")
    old_path = None if kind in ("ADD", "COPY") else (_path_text(o, "srcPath") if kind == "MOVE" else None) or path
    return DiffStat(
        status=status,
        lines_added=None,
        lines_removed=None,
        old_path=old_path,
        new_path=None if kind == "DELETE" else path,
    )


BUILD_STATES = {"SUCCESSFUL": "SUCCESSFUL", "FAILED": "FAILED", "INPROGRESS": "INPROGRESS", "CANCELLED": "STOPPED"}


def build_status(commit: str) -> Any:
    """A parser of a commit's build statuses (the legacy ``{state, key, name, url, description, dateAdded}`` and
    7.14's ``RestBuildStatus`` with ``createdDate``/``updatedDate``/``ref``) as ``BuildStatus`` records of
    ``commit``; None for an ``UNKNOWN`` one. An unheard-of state is a schema error."""

    def parse(data: Any, *, endpoint: str) -> BuildStatus | None:
        o = _Obj(data, endpoint=endpoint, site="")
        state = o.text("state")
        if state == "UNKNOWN":
            return None
        if state not in BUILD_STATES:
            raise o.fail("state", f"unknown value {state!r} in")
        added = o.time("dateAdded")
        ref = o.otext("ref")
        return BuildStatus(
            key=o.text("key"),
            state=BUILD_STATES[state],
            commit=commit,
            name=o.otext("name") or "",
            description=o.otext("description") or "",
            url=o.otext("url") or "",
            refname=ref.removeprefix("refs/heads/") if ref else None,
            created_on=o.time("createdDate") or added,
            updated_on=o.time("updatedDate") or added,
        )

    return parse


REPOSITORY_PERMISSIONS = {"REPO_ADMIN": "admin", "REPO_WRITE": "write", "REPO_READ": "read"}


def repository_permission(permission: str) -> Any:
    """A parser of a ``RestRepository`` as the caller's ``RepositoryPermission`` (``REPO_WRITE`` -> ``write``...),
    for the listing filtered by that permission."""
    level = REPOSITORY_PERMISSIONS[permission]

    def parse(data: Any, *, endpoint: str, site: str) -> RepositoryPermission:
        return RepositoryPermission(
            repository=_repository_ref(_Obj(data, endpoint=endpoint, site=site)), permission=level
        )

    return parse
