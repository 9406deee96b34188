"""``BitbucketClient``: one credential, one ``requests.Session``, every call the product makes to Bitbucket Cloud.

Docs: https://developer.atlassian.com/cloud/bitbucket/rest/ (facts we rely on are restated, with sources, in the
project's Bitbucket reference). Each method's docstring names the endpoint it calls; paths are relative to
``base_url`` (``https://api.bitbucket.org/2.0``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import requests

from .auth import AccessToken, ApiToken, AppPassword, Auth
from .errors import (
    AlreadyResolved,
    AuthError,
    BitbucketError,
    BitbucketSchemaError,
    CommentRefused,
    Conflict,
    MergePending,
    NotRepositoryAdmin,
)
from .http import RequestRecord, Transport, TransportClient
from .paths import UnsafePath, check_name, check_path, check_ref, stays_under
from .records import (
    Account,
    Activity,
    Annotation,
    Branch,
    BranchingModel,
    BranchRestriction,
    BuildStatus,
    Comment,
    CommentResolution,
    Commit,
    CommitPage,
    CommitPullRequests,
    DefaultReviewer,
    DiffStat,
    DiffText,
    FileContent,
    FileHistoryEntry,
    Participant,
    Project,
    PullRequest,
    Report,
    Repository,
    RepositoryPermission,
    SourceEntry,
    Tag,
    Task,
    WebhookSubscription,
    Workspace,
    WorkspaceAccess,
    WorkspaceMember,
    fields_param,
)

DEFAULT_BASE_URL = "https://api.bitbucket.org/2.0"
ALL_STATES: tuple[str, ...] = ("OPEN", "MERGED", "DECLINED", "SUPERSEDED")
MERGE_STRATEGIES: tuple[str, ...] = (
    "merge_commit",
    "squash",
    "fast_forward",
    "squash_fast_forward",
    "rebase_fast_forward",
    "rebase_merge",
)
# POST /src reads these form fields as metadata; a file with one of these names is sent with a leading slash.
_SRC_METADATA_FIELDS = frozenset({"message", "author", "parents", "branch", "files"})

PAGELEN = 100  # the global maximum
PR_PAGELEN = 50  # the pull request list's maximum: pagelen=100 there is a 400 "Invalid pagelen"
COMMIT_PAGELEN = 30  # a page of a commit log as a person reads it (Bitbucket's own default; 100 at most)
# A cursor-paginated listing's `page` token (opaque: base64-like on Bitbucket, page numbers on some listings).
CURSOR = re.compile(r"[A-Za-z0-9_\-=.~]{1,200}")
DIFFSTAT_PAGELEN = 500  # diffstat's default (max 5000; very large pages risk a 555 on big diffs)


def _seg(value: str) -> str:
    """One URL path segment naming one thing (a workspace or repository slug, a uuid with braces, a hook id)."""
    return quote(check_name(str(value)), safe="")


def _ref(value: str) -> str:
    """A branch name (slashes sent as ``feature%2Fx``), commit hash or diff spec (``A..B``) as one segment."""
    return quote(check_ref(str(value)), safe="")


def _file_path(path: str) -> str:
    """A path inside a repository, its slashes kept; empty for the root directory."""
    path = path.strip("/")
    return quote(check_path(path), safe="/") if path else ""


# The resource a request path belongs to: its final URL must stay under it (see ``BitbucketClient._checked``).
_SCOPE = re.compile(r"^/(?:repositories/[^/?]+/[^/?]+|workspaces/[^/?]+|user/workspaces/[^/?]+)")


def _bbql_datetime(value: datetime) -> str:
    """BBQL datetimes are unquoted ISO-8601; milliseconds (truncated) so the watermark item is re-read, never lost."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def _bbql_states(states: Sequence[str]) -> str:
    return "state IN (" + ", ".join(f'"{s}"' for s in states) + ")"


def _account_ref(identifier: str) -> dict[str, str]:
    """Reviewers are sent by uuid (``{…}``) or, failing that, by Atlassian account id."""
    return {"uuid": identifier} if identifier.startswith("{") else {"account_id": identifier}


def _inline_anchor(
    path: str | None, to: int | None, from_: int | None, start_to: int | None, start_from: int | None
) -> dict[str, Any] | None:
    """The ``inline`` object of a new comment, or ``None`` for a comment not on a file.

    ``to``/``from`` hold the last line of a range, ``start_*`` its first (Bitbucket's own order)."""
    if path is None:
        if any(v is not None for v in (to, from_, start_to, start_from)):
            raise ValueError("an inline line needs the file's path")
        return None
    anchor: dict[str, Any] = {"path": check_path(path.strip("/"))}
    for side, last, first in (("to", to, start_to), ("from", from_, start_from)):
        if first is not None and last is None:
            raise ValueError(f"a range's first line (start_{side}) needs its last line ({side})")
        if last is not None:
            if int(last) < 1 or (first is not None and not 1 <= int(first) <= int(last)):
                raise ValueError(f"line numbers must be 1 or more and a range must not end before it starts ({side})")
            anchor[side] = int(last)
            if first is not None:
                anchor[f"start_{side}"] = int(first)
    return anchor


def _error_context(exc: BitbucketError) -> dict[str, Any]:
    """What a re-raised error keeps of the original: status, request id, endpoint, detail and fields."""
    return {
        "status": exc.status,
        "request_id": exc.request_id,
        "endpoint": exc.endpoint,
        "detail": exc.detail,
        "fields": exc.fields,
    }


class BitbucketClient(TransportClient):
    """Bitbucket Cloud REST API 2.0 for one credential.

    ``on_request`` is called once per HTTP request (each redirect hop and the single dropped-connection retry
    included) with a ``RequestRecord``; ``request_count`` counts the same requests in memory.
    """

    def __init__(
        self,
        auth: Auth,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | tuple[float, float] = (5, 30),
        session: requests.Session | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        if not isinstance(auth, ApiToken | AppPassword | AccessToken):
            raise TypeError(f"auth must be an ApiToken, AppPassword or AccessToken, not {type(auth).__name__}")
        self.auth = auth
        self._http = Transport(auth, base_url=base_url, timeout=timeout, session=session, on_request=on_request)

    # -- helpers ----------------------------------------------------------------------------------------------

    @staticmethod
    def _repo(workspace: str, repo: str) -> str:
        return f"/repositories/{_seg(workspace)}/{_seg(repo)}"

    def _pr(self, workspace: str, repo: str, pr_id: int) -> str:
        return f"{self._repo(workspace, repo)}/pullrequests/{int(pr_id)}"

    def _checked(self, path: str) -> str:
        """``path`` unchanged once its final URL, as sent and as the server routes it, is known to stay under the
        repository or workspace its first segments name; ``UnsafePath`` before any request otherwise."""
        scope = _SCOPE.match(path)
        if scope and not stays_under(self._http.url_for(path), self._http.url_for(scope.group())):
            raise UnsafePath(f"the request would leave {scope.group()}: {path!r}")
        return path

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self._http.request(method, self._checked(path), **kwargs)

    def _get(self, path: str, parse: Callable[..., Any], *, params: Mapping[str, Any] | None = None) -> Any:
        return self._send("GET", path, parse, params=params)

    def _send(
        self,
        method: str,
        path: str,
        parse: Callable[..., Any] | None = None,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        response = self._request(method, path, json=json, params=params)
        if parse is None:
            return None
        endpoint = self._http.describe(method, path)
        return parse(self._http.json(response, endpoint), endpoint=endpoint)

    def _iter(
        self,
        path: str,
        parse: Callable[..., Any],
        fields: tuple[str, ...] | None,
        *,
        pagelen: int = PAGELEN,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[Any]:
        return self._http.paginate(
            self._checked(path), parse, params=self._list_query(fields, pagelen=pagelen, params=params)
        )

    @staticmethod
    def _list_query(
        fields: tuple[str, ...] | None, *, pagelen: int, params: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        query: dict[str, Any] = {"pagelen": pagelen}
        if fields is not None:
            query["fields"] = fields_param(fields, paginated=True)
        query.update(params or {})
        return query

    def _text(self, path: str, *, max_bytes: int | None = None, params: Mapping[str, Any] | None = None) -> DiffText:
        """A text body read as it streams in: past ``max_bytes`` the rest is never downloaded (a diff can be
        hundreds of megabytes), and the text says it was cut."""
        response = self._request("GET", path, accept="text/plain", stream=True, params=params)
        return self._read_text(response, path=path, max_bytes=max_bytes)

    # -- the current user and workspaces ----------------------------------------------------------------------

    def get_current_user(self) -> Account:
        """GET /user: the account behind this credential (also how a credential is checked when saved)."""
        return self._get("/user", Account.from_json)

    def iter_user_workspaces(self) -> Iterator[WorkspaceAccess]:
        """GET /user/workspaces: the caller's workspaces with ``administrator`` (replaces the removed /workspaces)."""
        return self._iter("/user/workspaces", WorkspaceAccess.from_json, WorkspaceAccess.FIELDS)

    def get_user_workspace_permission(self, workspace: str) -> WorkspaceMember:
        """GET /user/workspaces/{workspace}/permission: the caller's highest role (owner, member...) there."""
        return self._get(f"/user/workspaces/{_seg(workspace)}/permission", WorkspaceMember.from_json)

    def iter_user_repository_permissions(self, workspace: str) -> Iterator[RepositoryPermission]:
        """GET /user/workspaces/{workspace}/permissions/repositories: repositories the caller has explicit access to."""
        return self._iter(
            f"/user/workspaces/{_seg(workspace)}/permissions/repositories",
            RepositoryPermission.from_json,
            RepositoryPermission.FIELDS,
        )

    def get_workspace(self, workspace: str) -> Workspace:
        """GET /workspaces/{workspace}."""
        return self._get(
            f"/workspaces/{_seg(workspace)}",
            Workspace.from_json,
            params={"fields": fields_param(Workspace.FIELDS, paginated=False)},
        )

    def iter_members(self, workspace: str) -> Iterator[WorkspaceMember]:
        """GET /workspaces/{workspace}/members: every member (the role is not part of this listing)."""
        return self._iter(f"/workspaces/{_seg(workspace)}/members", WorkspaceMember.from_json, WorkspaceMember.FIELDS)

    def iter_workspace_permissions(self, workspace: str) -> Iterator[WorkspaceMember]:
        """GET /workspaces/{workspace}/permissions: every member with their role (owner, collaborator, member)."""
        return self._iter(
            f"/workspaces/{_seg(workspace)}/permissions", WorkspaceMember.from_json, WorkspaceMember.FIELDS
        )

    def iter_projects(self, workspace: str) -> Iterator[Project]:
        """GET /workspaces/{workspace}/projects."""
        return self._iter(f"/workspaces/{_seg(workspace)}/projects", Project.from_json, Project.FIELDS)

    # -- repositories -----------------------------------------------------------------------------------------

    def iter_repositories(self, workspace: str, *, updated_after: datetime | None = None) -> Iterator[Repository]:
        """GET /repositories/{workspace}: the workspace's repositories visible to the caller, newest change first."""
        params: dict[str, Any] = {"sort": "-updated_on"}
        if updated_after is not None:
            params["q"] = f"updated_on > {_bbql_datetime(updated_after)}"
        return self._iter(f"/repositories/{_seg(workspace)}", Repository.from_json, Repository.FIELDS, params=params)

    def get_repository(self, workspace: str, repo: str) -> Repository:
        """GET /repositories/{workspace}/{repo_slug}."""
        return self._get(
            self._repo(workspace, repo),
            Repository.from_json,
            params={"fields": fields_param(Repository.FIELDS, paginated=False)},
        )

    def iter_watchers(self, workspace: str, repo: str) -> Iterator[Account]:
        """GET /repositories/{workspace}/{repo_slug}/watchers: the repository's watchers (bbdash's "followers")."""
        return self._iter(f"{self._repo(workspace, repo)}/watchers", Account.from_json, Account.FIELDS)

    def iter_branch_restrictions(self, workspace: str, repo: str) -> Iterator[BranchRestriction]:
        """GET /repositories/{workspace}/{repo_slug}/branch-restrictions: every rule. Repository admins only (and the
        admin scope): a 403 raises ``NotRepositoryAdmin``, which says the rules are unknown to this credential."""
        try:
            yield from self._iter(
                f"{self._repo(workspace, repo)}/branch-restrictions",
                BranchRestriction.from_json,
                BranchRestriction.FIELDS,
            )
        except AuthError as exc:
            if exc.status != 403:
                raise
            raise NotRepositoryAdmin(
                exc.message,
                status=exc.status,
                request_id=exc.request_id,
                endpoint=exc.endpoint,
                detail=exc.detail,
                required_scopes=exc.required_scopes,
                granted_scopes=exc.granted_scopes,
            ) from None

    # -- branches and commits ---------------------------------------------------------------------------------

    def iter_branches(self, workspace: str, repo: str) -> Iterator[Branch]:
        """GET /repositories/{workspace}/{repo_slug}/refs/branches."""
        return self._iter(f"{self._repo(workspace, repo)}/refs/branches", Branch.from_json, Branch.FIELDS)

    def get_branch(self, workspace: str, repo: str, name: str) -> Branch:
        """GET /repositories/{workspace}/{repo_slug}/refs/branches/{name}."""
        return self._get(
            f"{self._repo(workspace, repo)}/refs/branches/{_ref(name)}",
            Branch.from_json,
            params={"fields": fields_param(Branch.FIELDS, paginated=False)},
        )

    def create_branch(self, workspace: str, repo: str, *, name: str, target: str) -> Branch:
        """POST /repositories/{workspace}/{repo_slug}/refs/branches: a new branch at ``target`` (a full hash)."""
        return self._send(
            "POST",
            f"{self._repo(workspace, repo)}/refs/branches",
            Branch.from_json,
            json={"name": name, "target": {"hash": target}},
        )

    def delete_branch(self, workspace: str, repo: str, name: str) -> None:
        """DELETE /repositories/{workspace}/{repo_slug}/refs/branches/{name} (the main branch cannot be deleted)."""
        self._send("DELETE", f"{self._repo(workspace, repo)}/refs/branches/{_ref(name)}")

    def iter_tags(self, workspace: str, repo: str) -> Iterator[Tag]:
        """GET /repositories/{workspace}/{repo_slug}/refs/tags (newest first: ``sort=-target.date``)."""
        return self._iter(
            f"{self._repo(workspace, repo)}/refs/tags", Tag.from_json, Tag.FIELDS, params={"sort": "-target.date"}
        )

    def create_tag(self, workspace: str, repo: str, *, name: str, target: str, message: str = "") -> Tag:
        """POST /repositories/{workspace}/{repo_slug}/refs/tags: an annotated tag at ``target`` (a full hash); an
        empty message gets Bitbucket's "Added tag <name> for changeset <hash>"."""
        body: dict[str, Any] = {"name": name, "target": {"hash": target}}
        if message:
            body["message"] = message
        return self._send("POST", f"{self._repo(workspace, repo)}/refs/tags", Tag.from_json, json=body)

    def delete_tag(self, workspace: str, repo: str, name: str) -> None:
        """DELETE /repositories/{workspace}/{repo_slug}/refs/tags/{name}."""
        self._send("DELETE", f"{self._repo(workspace, repo)}/refs/tags/{_ref(name)}")

    def get_effective_branching_model(self, workspace: str, repo: str) -> BranchingModel:
        """GET /repositories/{workspace}/{repo_slug}/effective-branching-model (the repository's model, or the one it
        inherits from its project; readable with read access, unlike the settings)."""
        return self._get(
            f"{self._repo(workspace, repo)}/effective-branching-model",
            BranchingModel.from_json,
            params={"fields": fields_param(BranchingModel.FIELDS, paginated=False)},
        )

    def iter_commits(self, workspace: str, repo: str, *, branch: str | None = None) -> Iterator[Commit]:
        """GET /repositories/{workspace}/{repo_slug}/commits[/{branch}]: newest first, cursor-paginated."""
        path = f"{self._repo(workspace, repo)}/commits"
        if branch is not None:
            path += f"/{_ref(branch)}"
        return self._iter(path, Commit.from_json, Commit.FIELDS)

    def commit_log_page(
        self,
        workspace: str,
        repo: str,
        *,
        revision: str | None = None,
        exclude: Sequence[str] = (),
        path: str | None = None,
        cursor: str | None = None,
        pagelen: int = COMMIT_PAGELEN,
    ) -> tuple[list[Commit], str | None]:
        """GET /repositories/{workspace}/{repo_slug}/commits[/{revision}]: one page of the log, newest first, and
        the cursor of the next (None after the last). ``exclude`` (repeated) leaves out what those refs reach;
        ``path`` keeps the commits that touch a file or directory. There is no author filter on Bitbucket's side.

        The listing is cursor-paginated: ``next`` carries an opaque ``page`` token; that token alone is returned,
        and passed back as ``cursor`` it reads the following page of the same query (nothing else of a ``next``
        link from Bitbucket ends up in the dashboard's URLs)."""
        listing = f"{self._repo(workspace, repo)}/commits"
        if revision is not None:
            listing += f"/{_ref(revision)}"
        params: dict[str, Any] = {}
        if exclude:
            params["exclude"] = [check_ref(e) for e in exclude]
        if path:
            params["path"] = check_path(path.strip("/"))
        return self._cursor_page(listing, Commit.from_json, Commit.FIELDS, params, cursor, pagelen)

    def file_history_page(
        self,
        workspace: str,
        repo: str,
        commit: str,
        path: str,
        *,
        cursor: str | None = None,
        pagelen: int = COMMIT_PAGELEN,
    ) -> tuple[list[FileHistoryEntry], str | None]:
        """GET /repositories/{workspace}/{repo_slug}/filehistory/{commit}/{path}: one page of the commits that
        changed a file, newest first, following renames (each entry names the file as it was called then), and the
        next page's cursor, as in ``commit_log_page``."""
        listing = f"{self._repo(workspace, repo)}/filehistory/{_ref(commit)}/{_file_path(path)}"
        return self._cursor_page(listing, FileHistoryEntry.from_json, FileHistoryEntry.FIELDS, {}, cursor, pagelen)

    def _cursor_page(
        self,
        listing: str,
        parse: Callable[..., Any],
        fields: tuple[str, ...],
        params: dict[str, Any],
        cursor: str | None,
        pagelen: int,
    ) -> tuple[list[Any], str | None]:
        if cursor is not None:
            if not CURSOR.fullmatch(cursor):
                raise UnsafePath(f"not a page cursor: {cursor!r}")
            params = {**params, "page": cursor}
        query = self._list_query(fields, pagelen=pagelen, params=params)
        page = self._get(self._checked(listing), lambda data, endpoint: data, params=query)
        endpoint = self._http.describe("GET", listing)
        if not isinstance(page, Mapping) or not isinstance(page.get("values"), list):
            raise BitbucketSchemaError("a page without a 'values' list", endpoint=endpoint)
        items = [parse(item, endpoint=endpoint) for item in page["values"]]
        next_url = page.get("next")
        if next_url is None:
            return items, None
        if not isinstance(next_url, str):
            raise BitbucketSchemaError("'next' is not a URL", endpoint=endpoint)
        tokens = parse_qs(urlsplit(next_url).query).get("page") or [""]
        # Compared decoded: a branch's slash may come back as `%2F` or `/`.
        here, there = (unquote(self._http.api_path(self._http.url_for(u))) for u in (listing, next_url))
        if here != there:
            raise BitbucketSchemaError("'next' belongs to another listing", endpoint=endpoint)
        if not CURSOR.fullmatch(tokens[0]) or tokens[0] == cursor:
            raise BitbucketSchemaError("'next' carries no usable page cursor", endpoint=endpoint)
        return items, tokens[0]

    def commit_pull_requests(self, workspace: str, repo: str, commit: str) -> CommitPullRequests:
        """GET /repositories/{workspace}/{repo_slug}/commit/{commit}/pullrequests: the pull requests that contain a
        commit. Needs the "Pull Request Commit Links" app, which Bitbucket installs the first time someone opens a
        commit's pull requests in its web UI: before that the answer is 404 (``NotFound``), and while it indexes,
        202 with an empty page (``indexing``)."""
        path = self._checked(f"{self._repo(workspace, repo)}/commit/{_ref(commit)}/pullrequests")
        query = self._list_query(PullRequest.BASE_FIELDS, pagelen=PR_PAGELEN, params=None)
        response = self._request("GET", path, params=query)
        endpoint = self._http.describe("GET", path)
        if response.status_code == 202:
            return CommitPullRequests(pull_requests=(), indexing=True)
        page = self._http.json(response, endpoint)
        if not isinstance(page, Mapping) or not isinstance(page.get("values"), list):
            raise BitbucketSchemaError("a page without a 'values' list", endpoint=endpoint)
        found = [PullRequest.from_json(item, endpoint=endpoint) for item in page["values"]]
        if page.get("next"):  # more than 50: rare; the rest as any listing is read
            for records, _ in self._http.pages(path, PullRequest.from_json, start_url=str(page["next"])):
                found += records
        return CommitPullRequests(pull_requests=tuple(found))

    def get_commit(self, workspace: str, repo: str, commit: str) -> Commit:
        """GET /repositories/{workspace}/{repo_slug}/commit/{commit}."""
        return self._get(
            f"{self._repo(workspace, repo)}/commit/{_ref(commit)}",
            Commit.from_json,
            params={"fields": fields_param(Commit.FIELDS, paginated=False)},
        )

    def commit_range_page(
        self,
        workspace: str,
        repo: str,
        *,
        include: Sequence[str],
        exclude: Sequence[str] = (),
        fields: tuple[str, ...] = Commit.FIELDS,
        pagelen: int = PAGELEN,
    ) -> CommitPage:
        """GET /repositories/{workspace}/{repo_slug}/commits?include=…&exclude=…: one page of the commits reachable
        from every ``include`` and from no ``exclude`` (like ``git log A ^B``), newest first, and whether more follow.

        One request: counting past a page would cost a request per hundred commits (cursor pages carry no ``size``).
        """
        if not include:
            raise ValueError("commit_range_page needs at least one ref to include")
        params = {"include": [check_ref(r) for r in include], "exclude": [check_ref(r) for r in exclude]}
        pages = self._http.pages(
            self._checked(f"{self._repo(workspace, repo)}/commits"),
            Commit.from_json,
            params=self._list_query(fields, pagelen=pagelen, params=params),
        )
        commits, next_url = next(iter(pages))
        return CommitPage(commits=tuple(commits), more=next_url is not None)

    def get_merge_base(self, workspace: str, repo: str, spec: str) -> Commit:
        """GET /repositories/{workspace}/{repo_slug}/merge-base/{a}..{b}: their best common ancestor (404 when a ref
        is unknown or they share no history)."""
        if ".." not in spec:
            raise ValueError(f"a merge-base spec is two refs joined by '..', not {spec!r}")
        return self._get(
            f"{self._repo(workspace, repo)}/merge-base/{_ref(spec)}",
            Commit.from_json,
            params={"fields": fields_param(Commit.FIELDS, paginated=False)},
        )

    def get_diff(
        self,
        workspace: str,
        repo: str,
        spec: str,
        *,
        path: str | None = None,
        max_bytes: int | None = None,
        topic: bool = True,
    ) -> DiffText:
        """GET /repositories/{workspace}/{repo_slug}/diff/{spec}: raw diff (``A..B`` is A's changes against B), only
        of ``path`` when given, at most ``max_bytes`` of it read. ``topic=False``: A's tree against B's itself (two
        dots), not against their merge base."""
        params: dict[str, str] = {"path": check_path(path.strip("/"))} if path else {}
        if not topic:
            params["topic"] = "false"
        return self._text(f"{self._repo(workspace, repo)}/diff/{_ref(spec)}", max_bytes=max_bytes, params=params)

    def iter_diffstat(self, workspace: str, repo: str, spec: str, *, topic: bool = True) -> Iterator[DiffStat]:
        """GET /repositories/{workspace}/{repo_slug}/diffstat/{spec} (``topic`` as for ``get_diff``)."""
        return self._iter(
            f"{self._repo(workspace, repo)}/diffstat/{_ref(spec)}",
            DiffStat.from_json,
            DiffStat.FIELDS,
            pagelen=DIFFSTAT_PAGELEN,
            params=None if topic else {"topic": "false"},
        )

    # -- source -----------------------------------------------------------------------------------------------

    def get_file(self, workspace: str, repo: str, commit: str, path: str) -> FileContent:
        """GET /repositories/{workspace}/{repo_slug}/src/{commit}/{path}: the file's raw bytes."""
        response = self._request(
            "GET", f"{self._repo(workspace, repo)}/src/{_ref(commit)}/{_file_path(path)}", accept="*/*"
        )
        return FileContent(
            path=path.strip("/"),
            commit=commit,
            content=response.content,
            content_type=response.headers.get("Content-Type"),
            etag=response.headers.get("ETag"),
        )

    def get_file_meta(self, workspace: str, repo: str, commit: str, path: str) -> SourceEntry:
        """GET /repositories/{workspace}/{repo_slug}/src/{commit}/{path}?format=meta: size, attributes, type."""
        return self._get(
            f"{self._repo(workspace, repo)}/src/{_ref(commit)}/{_file_path(path)}",
            SourceEntry.from_json,
            params={"format": "meta"},
        )

    def iter_directory(self, workspace: str, repo: str, commit: str, path: str = "") -> Iterator[SourceEntry]:
        """GET /repositories/{workspace}/{repo_slug}/src/{commit}/{path}/: a directory's entries (trailing slash)."""
        directory = _file_path(path)
        url = f"{self._repo(workspace, repo)}/src/{_ref(commit)}/" + (f"{directory}/" if directory else "")
        return self._iter(url, SourceEntry.from_json, SourceEntry.FIELDS)

    def commit_files(
        self,
        workspace: str,
        repo: str,
        *,
        branch: str,
        message: str,
        files: Mapping[str, bytes | str] | None = None,
        delete: Iterable[str] = (),
        parents: Sequence[str] | None = None,
        author: str | None = None,
    ) -> str:
        """POST /repositories/{workspace}/{repo_slug}/src: add, change and delete files in one commit.

        ``parents`` is the tip the user started from: if the branch has moved since, Bitbucket answers 409
        (``Conflict``) instead of silently committing over someone else's work. Returns the new commit's hash,
        the last segment of the ``Location`` header.
        """
        data: list[tuple[str, str]] = [("message", message), ("branch", branch)]
        for parent in parents or ():
            data.append(("parents", parent))
        if author:
            data.append(("author", author))
        for path in delete:
            data.append(("files", check_path(path.strip("/"))))
        parts = []
        for path, content in (files or {}).items():
            clean = check_path(path.strip("/"))
            # A file literally called "message" (etc.) would be read as metadata without the leading slash.
            name = f"/{clean}" if clean in _SRC_METADATA_FIELDS else clean
            body = content.encode() if isinstance(content, str) else content
            parts.append((name, (clean.rsplit("/", 1)[-1], body, "application/octet-stream")))
        if not parts and not any(k == "files" for k, _ in data):
            raise ValueError("commit_files needs at least one file to write or delete")
        path = f"{self._repo(workspace, repo)}/src"
        response = self._request("POST", path, data=data, files=parts or None)
        location = response.headers.get("Location")
        if not location:
            raise BitbucketSchemaError(
                "no Location header on the new commit", status=response.status_code, endpoint=f"POST {path}"
            )
        commit_hash = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
        if not commit_hash:
            raise BitbucketSchemaError(f"unreadable Location {location!r}", endpoint=f"POST {path}")
        return commit_hash

    # -- pull requests: reads ---------------------------------------------------------------------------------

    def iter_pull_requests(
        self,
        workspace: str,
        repo: str,
        *,
        updated_after: datetime | None = None,
        states: Sequence[str] = ALL_STATES,
        with_participants: bool = True,
    ) -> Iterator[PullRequest]:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests: all states, newest change first.

        The states go in both the repeated ``state`` parameter and the ``q`` expression (Bitbucket's docs disagree
        on which wins when ``q`` is present, and the default is OPEN only). ``fields`` names reviewers and
        participants, which the listing otherwise omits, so no per-PR request is needed.
        """
        path, query = self._pull_request_listing(workspace, repo, updated_after, states, with_participants)
        return self._http.paginate(self._checked(path), PullRequest.from_json, params=query)

    def iter_pull_request_pages(
        self,
        workspace: str,
        repo: str,
        *,
        updated_after: datetime | None = None,
        start_url: str | None = None,
    ) -> Iterator[tuple[list[PullRequest], str | None]]:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests: ``iter_pull_requests`` page by page.

        Each page comes as ``(records, next_url)`` (all states, with participants). ``next_url`` is Bitbucket's opaque
        link to the following page (``None`` after the last): saved, and passed back as ``start_url``, it resumes an
        interrupted listing there instead of at page one. A ``start_url`` that is not a page of this repository's
        listing on the API host raises ``BitbucketSchemaError`` at the call, before any request.
        """
        path, query = self._pull_request_listing(workspace, repo, updated_after, ALL_STATES, True)
        return self._http.pages(self._checked(path), PullRequest.from_json, params=query, start_url=start_url)

    def _pull_request_listing(
        self,
        workspace: str,
        repo: str,
        updated_after: datetime | None,
        states: Sequence[str],
        with_participants: bool,
    ) -> tuple[str, dict[str, Any]]:
        states = tuple(states)
        if not states:
            raise ValueError("states must name at least one pull request state")
        terms = [_bbql_states(states)]
        if updated_after is not None:
            terms.insert(0, f"updated_on > {_bbql_datetime(updated_after)}")
        fields = PullRequest.FIELDS if with_participants else PullRequest.BASE_FIELDS
        params = {"state": list(states), "q": " AND ".join(terms), "sort": "-updated_on"}
        path = f"{self._repo(workspace, repo)}/pullrequests"
        return path, self._list_query(fields, pagelen=PR_PAGELEN, params=params)

    def get_pull_request(self, workspace: str, repo: str, pr_id: int) -> PullRequest:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id} (includes reviewers and participants)."""
        return self._get(
            self._pr(workspace, repo, pr_id),
            PullRequest.from_json,
            params={"fields": fields_param(PullRequest.FIELDS, paginated=False)},
        )

    def iter_default_reviewers(self, workspace: str, repo: str) -> Iterator[DefaultReviewer]:
        """GET /repositories/{workspace}/{repo_slug}/effective-default-reviewers: the repository's default reviewers
        and those it inherits from its project (``.../default-reviewers`` alone would miss the project's).

        Bitbucket does not add them to a pull request created through the API: the caller sends them as reviewers.
        """
        return self._iter(
            f"{self._repo(workspace, repo)}/effective-default-reviewers",
            DefaultReviewer.from_json,
            DefaultReviewer.FIELDS,
        )

    def get_pull_request_diff(
        self,
        workspace: str,
        repo: str,
        pr_id: int,
        *,
        max_bytes: int | None = None,
        ignore_whitespace: bool = False,
    ) -> DiffText:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/diff (302 to the repository diff, followed), at
        most ``max_bytes`` of it read. ``ignore_whitespace`` is the repository diff's parameter (git's ``-w``), sent
        along with the shortcut so the redirect carries it."""
        params = {"ignore_whitespace": "true"} if ignore_whitespace else None
        return self._text(f"{self._pr(workspace, repo, pr_id)}/diff", max_bytes=max_bytes, params=params)

    def iter_pull_request_diffstat(
        self, workspace: str, repo: str, pr_id: int, *, ignore_whitespace: bool = False
    ) -> Iterator[DiffStat]:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/diffstat (302 to the repository diffstat)."""
        return self._iter(
            f"{self._pr(workspace, repo, pr_id)}/diffstat",
            DiffStat.from_json,
            DiffStat.FIELDS,
            pagelen=DIFFSTAT_PAGELEN,
            params={"ignore_whitespace": "true"} if ignore_whitespace else None,
        )

    def pull_request_conflicts(self, workspace: str, repo: str, pr_id: int) -> tuple[str, ...]:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/diffstat (302 to the merge preview, followed):
        the paths a merge would conflict on (``merge conflict``, ``local deleted``, ``remote deleted``); empty when it
        merges cleanly. Cloud has no can-merge endpoint: this undocumented-but-recorded status is the way to know."""
        return tuple(
            entry.path for entry in self.iter_pull_request_diffstat(workspace, repo, pr_id) if entry.conflicted
        )

    def iter_pull_request_commits(self, workspace: str, repo: str, pr_id: int) -> Iterator[Commit]:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/commits: the commits being merged."""
        return self._iter(f"{self._pr(workspace, repo, pr_id)}/commits", Commit.from_json, Commit.FIELDS)

    def iter_pull_request_activity(self, workspace: str, repo: str, pr_id: int) -> Iterator[Activity]:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/activity: comments, updates, approvals."""
        # No fields= here: entries are unions (comment / update / approval / ...) and naming every branch is fragile.
        return self._iter(f"{self._pr(workspace, repo, pr_id)}/activity", Activity.from_json, None, pagelen=PR_PAGELEN)

    def iter_pull_request_comments(self, workspace: str, repo: str, pr_id: int) -> Iterator[Comment]:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/comments: oldest first, replies, deleted
        comments and the credential's own pending drafts included; ``fields=`` asks only what ``Comment`` stores."""
        return self._iter(f"{self._pr(workspace, repo, pr_id)}/comments", Comment.from_json, Comment.FIELDS)

    def get_pull_request_comment(self, workspace: str, repo: str, pr_id: int, comment_id: int) -> Comment:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/comments/{comment_id}: one comment, e.g. to
        learn a thread's resolution when a list left it out."""
        return self._get(
            self._comment(workspace, repo, pr_id, comment_id),
            Comment.from_json,
            params={"fields": fields_param(Comment.FIELDS, paginated=False)},
        )

    def iter_pull_request_statuses(self, workspace: str, repo: str, pr_id: int) -> Iterator[BuildStatus]:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/statuses: the build statuses the pull request
        shows (its source tip's; hashes in their 12-character form). A status change does not move the PR's
        ``updated_on``, so the sync reads these on their own cadence; one page of 100 covers every real PR."""
        return self._iter(f"{self._pr(workspace, repo, pr_id)}/statuses", BuildStatus.from_json, BuildStatus.FIELDS)

    def iter_commit_statuses(
        self, workspace: str, repo: str, commit: str, *, refname: str | None = None
    ) -> Iterator[BuildStatus]:
        """GET /repositories/{workspace}/{repo_slug}/commit/{commit}/statuses: a commit's build statuses; with
        ``refname``, those made for that branch plus those made without one."""
        params = {"refname": refname} if refname else None
        return self._iter(
            f"{self._repo(workspace, repo)}/commit/{_ref(commit)}/statuses",
            BuildStatus.from_json,
            BuildStatus.FIELDS,
            params=params,
        )

    # -- pull request tasks and Code Insights -------------------------------------------------------------------

    def iter_pull_request_tasks(self, workspace: str, repo: str, pr_id: int) -> Iterator[Task]:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/tasks: open and resolved, oldest first."""
        return self._iter(f"{self._pr(workspace, repo, pr_id)}/tasks", Task.from_json, Task.FIELDS)

    def create_pull_request_task(
        self, workspace: str, repo: str, pr_id: int, *, content: str, comment_id: int | None = None
    ) -> Task:
        """POST /repositories/{workspace}/{repo_slug}/pullrequests/{id}/tasks (201; the read scope is enough)."""
        body: dict[str, Any] = {"content": {"raw": content}}
        if comment_id is not None:
            body["comment"] = {"id": int(comment_id)}
        return self._send("POST", f"{self._pr(workspace, repo, pr_id)}/tasks", Task.from_json, json=body)

    def update_pull_request_task(
        self,
        workspace: str,
        repo: str,
        pr_id: int,
        task_id: int,
        *,
        resolved: bool | None = None,
        content: str | None = None,
    ) -> Task:
        """PUT /repositories/{workspace}/{repo_slug}/pullrequests/{id}/tasks/{task_id}: resolve (``resolved=True``),
        reopen (``False``) and/or reword. Resolving a resolved task changes nothing, so a repeat is harmless."""
        body: dict[str, Any] = {}
        if resolved is not None:
            body["state"] = "RESOLVED" if resolved else "UNRESOLVED"
        if content is not None:
            body["content"] = {"raw": content}
        path = f"{self._pr(workspace, repo, pr_id)}/tasks/{int(task_id)}"
        return self._send("PUT", path, Task.from_json, json=body)

    def iter_commit_reports(self, workspace: str, repo: str, commit: str) -> Iterator[Report]:
        """GET /repositories/{workspace}/{repo_slug}/commit/{commit}/reports: the commit's Code Insights reports."""
        # No fields=: a report's `data` values are unions (scalars, or a link object).
        return self._iter(f"{self._repo(workspace, repo)}/commit/{_ref(commit)}/reports", Report.from_json, None)

    def iter_report_annotations(self, workspace: str, repo: str, commit: str, report_id: str) -> Iterator[Annotation]:
        """GET /repositories/{workspace}/{repo_slug}/commit/{commit}/reports/{report_id}/annotations (at most 1000)."""
        path = f"{self._repo(workspace, repo)}/commit/{_ref(commit)}/reports/{_seg(report_id)}/annotations"
        return self._iter(path, Annotation.from_json, None)

    # -- pull requests: writes --------------------------------------------------------------------------------

    def create_pull_request(
        self,
        workspace: str,
        repo: str,
        *,
        title: str,
        source_branch: str,
        destination_branch: str | None = None,
        description: str = "",
        reviewers: Iterable[str] = (),
        close_source_branch: bool = False,
        draft: bool = False,
    ) -> PullRequest:
        """POST /repositories/{workspace}/{repo_slug}/pullrequests (destination defaults to the main branch)."""
        body: dict[str, Any] = {
            "title": title,
            "description": description,
            "source": {"branch": {"name": source_branch}},
            "reviewers": [_account_ref(r) for r in reviewers],
            "close_source_branch": close_source_branch,
            "draft": draft,
        }
        if destination_branch:
            body["destination"] = {"branch": {"name": destination_branch}}
        return self._send("POST", f"{self._repo(workspace, repo)}/pullrequests", PullRequest.from_json, json=body)

    def update_pull_request(
        self,
        workspace: str,
        repo: str,
        pr_id: int,
        *,
        title: str | None = None,
        description: str | None = None,
        reviewers: Iterable[str] | None = None,
        destination_branch: str | None = None,
        close_source_branch: bool | None = None,
    ) -> PullRequest:
        """PUT /repositories/{workspace}/{repo_slug}/pullrequests/{id} (only OPEN pull requests can change).

        Bitbucket replaces what the body names and may clear what it omits (reviewers, description), so the full
        set is always sent: anything left ``None`` is first read with GET .../pullrequests/{id}.
        """
        if None in (title, description, reviewers, destination_branch, close_source_branch):
            current = self.get_pull_request(workspace, repo, pr_id)
            title = current.title if title is None else title
            description = current.description if description is None else description
            if reviewers is None:
                reviewers = [a.uuid for a in current.reviewers or ()]
            destination_branch = destination_branch or current.destination.branch
            if close_source_branch is None:
                close_source_branch = current.close_source_branch
        body = {
            "title": title,
            "description": description,
            "reviewers": [_account_ref(r) for r in reviewers or ()],
            "destination": {"branch": {"name": destination_branch}},
            "close_source_branch": close_source_branch,
        }
        return self._send("PUT", self._pr(workspace, repo, pr_id), PullRequest.from_json, json=body)

    def approve(self, workspace: str, repo: str, pr_id: int) -> Participant:
        """POST /repositories/{workspace}/{repo_slug}/pullrequests/{id}/approve."""
        return self._send("POST", f"{self._pr(workspace, repo, pr_id)}/approve", Participant.from_json)

    def unapprove(self, workspace: str, repo: str, pr_id: int) -> None:
        """DELETE /repositories/{workspace}/{repo_slug}/pullrequests/{id}/approve."""
        self._send("DELETE", f"{self._pr(workspace, repo, pr_id)}/approve")

    def request_changes(self, workspace: str, repo: str, pr_id: int) -> Participant:
        """POST /repositories/{workspace}/{repo_slug}/pullrequests/{id}/request-changes."""
        return self._send("POST", f"{self._pr(workspace, repo, pr_id)}/request-changes", Participant.from_json)

    def remove_request_changes(self, workspace: str, repo: str, pr_id: int) -> None:
        """DELETE /repositories/{workspace}/{repo_slug}/pullrequests/{id}/request-changes."""
        self._send("DELETE", f"{self._pr(workspace, repo, pr_id)}/request-changes")

    def decline_pull_request(self, workspace: str, repo: str, pr_id: int) -> PullRequest:
        """POST /repositories/{workspace}/{repo_slug}/pullrequests/{id}/decline."""
        return self._send("POST", f"{self._pr(workspace, repo, pr_id)}/decline", PullRequest.from_json)

    def comment_pull_request(
        self,
        workspace: str,
        repo: str,
        pr_id: int,
        *,
        content: str,
        inline_path: str | None = None,
        inline_to: int | None = None,
        inline_from: int | None = None,
        inline_start_to: int | None = None,
        inline_start_from: int | None = None,
        parent_id: int | None = None,
        pending: bool = False,
    ) -> Comment:
        """POST /repositories/{workspace}/{repo_slug}/pullrequests/{id}/comments (global, inline or a reply; 201).

        Inline: ``inline_path`` with ``inline_to`` for a line of the new side or ``inline_from`` for one of the old
        side (neither: the whole file); a range adds its first line as ``inline_start_to`` / ``inline_start_from``.
        A reply names ``parent_id``. ``pending=True`` makes a draft only its author sees until the review is done.
        Anchors that cannot be right (a line without a path, a range ending before it starts) raise ``ValueError``.
        """
        body: dict[str, Any] = {"content": {"raw": content}}
        inline = _inline_anchor(inline_path, inline_to, inline_from, inline_start_to, inline_start_from)
        if inline is not None:
            body["inline"] = inline
        if parent_id is not None:
            body["parent"] = {"id": int(parent_id)}
        if pending:
            body["pending"] = True
        return self._send("POST", f"{self._pr(workspace, repo, pr_id)}/comments", Comment.from_json, json=body)

    def update_pull_request_comment(
        self, workspace: str, repo: str, pr_id: int, comment_id: int, *, content: str
    ) -> Comment:
        """PUT /repositories/{workspace}/{repo_slug}/pullrequests/{id}/comments/{comment_id}: new text (only the
        author's own comment: otherwise 403, raised as ``CommentRefused``)."""
        return self._comment_write(
            "PUT",
            self._comment(workspace, repo, pr_id, comment_id),
            Comment.from_json,
            json={"content": {"raw": content}},
        )

    def publish_pull_request_comment(self, workspace: str, repo: str, pr_id: int, comment_id: int) -> Comment:
        """PUT /repositories/{workspace}/{repo_slug}/pullrequests/{id}/comments/{comment_id} with ``pending: false``:
        the author's draft becomes a comment everybody sees (a published one stays as it is). Someone else's draft is
        not visible to the credential: ``NotFound``; a 403 is ``CommentRefused``."""
        return self._comment_write(
            "PUT", self._comment(workspace, repo, pr_id, comment_id), Comment.from_json, json={"pending": False}
        )

    def delete_pull_request_comment(self, workspace: str, repo: str, pr_id: int, comment_id: int) -> None:
        """DELETE /repositories/{workspace}/{repo_slug}/pullrequests/{id}/comments/{comment_id} (204). A soft
        delete: the comment stays listed with ``deleted`` and no content. Someone else's comment: ``CommentRefused``."""
        self._comment_write("DELETE", self._comment(workspace, repo, pr_id, comment_id))

    def resolve_pull_request_comment(self, workspace: str, repo: str, pr_id: int, comment_id: int) -> CommentResolution:
        """POST /repositories/{workspace}/{repo_slug}/pullrequests/{id}/comments/{comment_id}/resolve: resolve the
        thread this top-level comment starts. A reply (or a comment Bitbucket will not resolve) raises
        ``CommentRefused``; a thread already resolved raises ``AlreadyResolved`` (a ``Conflict``)."""
        path = f"{self._comment(workspace, repo, pr_id, comment_id)}/resolve"
        return self._comment_write("POST", path, CommentResolution.from_json, resolving=True)

    def reopen_pull_request_comment(self, workspace: str, repo: str, pr_id: int, comment_id: int) -> None:
        """DELETE /repositories/{workspace}/{repo_slug}/pullrequests/{id}/comments/{comment_id}/resolve (204): reopen
        a resolved thread. Bitbucket answers 404 (``NotFound``) both for an unknown comment and for a thread that is
        not resolved, so a page should re-read the comment before saying which."""
        self._comment_write("DELETE", f"{self._comment(workspace, repo, pr_id, comment_id)}/resolve")

    def _comment(self, workspace: str, repo: str, pr_id: int, comment_id: int) -> str:
        return f"{self._pr(workspace, repo, pr_id)}/comments/{int(comment_id)}"

    def _comment_write(
        self,
        method: str,
        path: str,
        parse: Callable[..., Any] | None = None,
        *,
        json: Any = None,
        resolving: bool = False,
    ) -> Any:
        """A write to one comment: its refusals become errors a page can show beside the comment."""
        try:
            return self._send(method, path, parse, json=json)
        except AuthError as exc:
            # A 403 naming scopes is about the credential; any other 403 here is about this comment.
            if exc.status != 403 or exc.required_scopes:
                raise
            raise CommentRefused(exc.message, **_error_context(exc)) from exc
        except Conflict as exc:
            if not resolving:
                raise
            raise AlreadyResolved(exc.message, **_error_context(exc)) from exc

    def merge_pull_request(
        self,
        workspace: str,
        repo: str,
        pr_id: int,
        *,
        strategy: str,
        close_source_branch: bool | None = None,
        message: str | None = None,
        wait_seconds: float = 30,
        poll: Callable[[float], None] | None = None,
        asynchronous: bool = False,
    ) -> PullRequest:
        """POST /repositories/{workspace}/{repo_slug}/pullrequests/{id}/merge; on 202 polls .../merge/task-status/{id}.

        Bitbucket answers 200 with the merged pull request, or 202 with a task-status URL in ``Location`` when the
        merge takes long (always with ``asynchronous=True``, i.e. ``?async=true``). The client never sleeps: pass
        ``poll`` (e.g. ``time.sleep``) and it is called with each delay between status checks, up to
        ``wait_seconds`` in total; without ``poll`` the status is checked once. A merge still running after that
        raises ``MergePending`` carrying ``task_url`` for ``wait_for_merge``. 409 (``Conflict``): a ref moved;
        555 (``Unavailable``): Bitbucket timed out, retry later.
        """
        if strategy not in MERGE_STRATEGIES:
            raise ValueError(f"unknown merge strategy {strategy!r}; expected one of {', '.join(MERGE_STRATEGIES)}")
        body: dict[str, Any] = {"type": "pullrequest_merge_parameters", "merge_strategy": strategy}
        if close_source_branch is not None:
            body["close_source_branch"] = close_source_branch
        if message is not None:
            body["message"] = message
        path = f"{self._pr(workspace, repo, pr_id)}/merge"
        params = {"async": "true"} if asynchronous else None
        response = self._request("POST", path, json=body, params=params)
        endpoint = self._http.describe("POST", path)
        if response.status_code == 202:
            task_url = response.headers.get("Location")
            if not task_url:
                raise BitbucketSchemaError("202 without a task-status Location", status=202, endpoint=endpoint)
            return self.wait_for_merge(task_url, wait_seconds=wait_seconds, poll=poll)
        return PullRequest.from_json(self._http.json(response, endpoint), endpoint=endpoint)

    def wait_for_merge(
        self, task_url: str, *, wait_seconds: float = 30, poll: Callable[[float], None] | None = None
    ) -> PullRequest:
        """GET /repositories/{workspace}/{repo_slug}/pullrequests/{id}/merge/task-status/{task_id} until SUCCESS.

        A failed merge comes back as Bitbucket's error envelope (409 ``Conflict``, 400 ``BadRequest``...).
        """
        delays = (0.5, 1.0, 2.0, 3.0, 5.0)
        waited = 0.0
        attempt = 0
        while True:
            response = self._http.request("GET", task_url)
            endpoint = self._http.describe("GET", task_url)
            status = self._http.json(response, endpoint)
            task_status = status.get("task_status") if isinstance(status, Mapping) else None
            if task_status == "SUCCESS":
                result = status.get("merge_result")
                if not isinstance(result, Mapping):
                    raise BitbucketSchemaError("missing required field 'merge_result'", endpoint=endpoint)
                return PullRequest.from_json(result, endpoint=endpoint)
            if task_status != "PENDING":
                raise BitbucketError(f"merge task ended with status {task_status!r}", endpoint=endpoint)
            delay = delays[min(attempt, len(delays) - 1)]
            attempt += 1
            if poll is None or waited + delay > wait_seconds:
                raise MergePending(
                    f"merge still running after {waited:g}s", task_url=task_url, status=202, endpoint=endpoint
                )
            poll(delay)
            waited += delay

    # -- webhooks (workspace-level) ---------------------------------------------------------------------------

    def iter_webhooks(self, workspace: str) -> Iterator[WebhookSubscription]:
        """GET /workspaces/{workspace}/hooks."""
        return self._iter(
            f"/workspaces/{_seg(workspace)}/hooks", WebhookSubscription.from_json, WebhookSubscription.FIELDS
        )

    def create_webhook(
        self,
        workspace: str,
        *,
        url: str,
        events: Iterable[str],
        secret: str | None = None,
        description: str = "bbdash",
        active: bool = True,
    ) -> WebhookSubscription:
        """POST /workspaces/{workspace}/hooks: deliveries for every repository, signed with ``secret`` (HMAC)."""
        body: dict[str, Any] = {"description": description, "url": url, "active": active, "events": list(events)}
        if secret is not None:
            body["secret"] = secret
        return self._send("POST", f"/workspaces/{_seg(workspace)}/hooks", WebhookSubscription.from_json, json=body)

    def delete_webhook(self, workspace: str, uid: str) -> None:
        """DELETE /workspaces/{workspace}/hooks/{uid}."""
        self._send("DELETE", f"/workspaces/{_seg(workspace)}/hooks/{_seg(uid)}")
