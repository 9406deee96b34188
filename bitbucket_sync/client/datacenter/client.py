"""``DataCenterClient``: Bitbucket Data Center (Server) REST API 1.0 for one credential, read side, with the method
names, signatures and records of ``BitbucketClient`` wherever the concept is the same.

The words map as: workspace = project key (``PRJ``, personal ``~jsmith``), repo = repository slug, pull request id =
per repository (as on Cloud). Each docstring names the endpoint (relative to the server root with its context path)
and says where Data Center cannot do what the Cloud method does.

The client keeps the rules of ``bitbucket_sync.client``: ``iter_*`` are generators following ``nextPageStart`` that
never end early; errors are the same family; ``UnsafePath`` before any request; ``on_request`` sees every request; it
never sleeps and repeats nothing but one dropped GET.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests

from ..auth import AccessToken, BasicAuth
from ..client import ALL_STATES, COMMIT_PAGELEN, _file_path, _seg
from ..errors import AuthError, BitbucketSchemaError, NotFound
from ..http import RequestRecord, TransportClient
from ..paths import UnsafePath, check_path, check_ref, stays_under
from ..records import (
    Account,
    Activity,
    Branch,
    BuildStatus,
    Comment,
    Commit,
    CommitPage,
    CommitPullRequests,
    DiffStat,
    DiffText,
    FileContent,
    FileHistoryEntry,
    Project,
    PullRequest,
    Repository,
    RepositoryPermission,
    SourceEntry,
    Tag,
    Task,
    WebhookSubscription,
    Workspace,
    WorkspaceAccess,
    WorkspaceMember,
)
from . import convert
from .http import DataCenterTransport, server_root
from .unsupported import NotYetOnDataCenter

API = "/rest/api/1.0"
DC_STATES: tuple[str, ...] = ("OPEN", "MERGED", "DECLINED")

# Page sizes asked for (the server may cap them lower, and says so in the answer's `limit`, which paging follows):
# big pages save tokens from the user's bucket; pull requests and activities are heavy objects.
LIMIT = 500
PR_LIMIT = 100
ACTIVITY_LIMIT = 100
CHANGES_LIMIT = 1000

# The resource a request path belongs to: its final URL must stay under it.
_SCOPE = re.compile(rf"^{re.escape(API)}/(?:projects/[^/?]+/repos/[^/?]+|projects/[^/?]+|users/[^/?]+)")

DataCenterAuth = AccessToken | BasicAuth
T = TypeVar("T")


class DataCenterClient(TransportClient, NotYetOnDataCenter):
    """Bitbucket Data Center for one credential: ``AccessToken`` (Bearer: a personal, project or repository HTTP
    access token) or ``BasicAuth`` (username with a password or a personal HTTP access token).

    ``base_url`` is the server's root with its context path (``https://git.example.com/bitbucket``); an API root
    (``…/rest/api/1.0``, ``…/rest/api/latest``, ``…/rest``) is accepted and taken back to the server root.
    """

    _http: DataCenterTransport

    def __init__(
        self,
        auth: DataCenterAuth,
        *,
        base_url: str,
        timeout: float | tuple[float, float] = (5, 30),
        session: requests.Session | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        if not isinstance(auth, AccessToken | BasicAuth):
            raise TypeError(f"auth must be an AccessToken or BasicAuth, not {type(auth).__name__}")
        self.auth = auth
        root = server_root(base_url)
        # What qualifies this server's ids in the records (``convert.site_tag``): two servers' repository 12 differ.
        self.site = convert.site_tag(root)
        self._http = DataCenterTransport(auth, base_url=root, timeout=timeout, session=session, on_request=on_request)
        # Each pull request's source commit as last read by this client (``_seen``), for its build statuses.
        self._source_commits: dict[tuple[str, str, int], str] = {}

    # -- helpers ----------------------------------------------------------------------------------------------

    def _p(self, parse: Callable[..., T]) -> Callable[..., T]:
        """A ``convert`` parser bound to this server's site tag (its records' ids carry it)."""
        return functools.partial(parse, site=self.site)

    @staticmethod
    def _project(key: str) -> str:
        return f"{API}/projects/{_seg(key)}"

    def _repo(self, key: str, slug: str) -> str:
        return f"{self._project(key)}/repos/{_seg(slug)}"

    def _pr(self, key: str, slug: str, pr_id: int) -> str:
        return f"{self._repo(key, slug)}/pull-requests/{int(pr_id)}"

    def _checked(self, path: str) -> str:
        """``path`` once its final URL, as sent and as routed, stays under the project or repository it names."""
        scope = _SCOPE.match(path)
        if scope and not stays_under(self._http.url_for(path), self._http.url_for(scope.group())):
            raise UnsafePath(f"the request would leave {scope.group()}: {path!r}")
        return path

    def _get(self, path: str, parse: Callable[..., Any], *, params: Mapping[str, Any] | None = None) -> Any:
        response = self._http.request("GET", self._checked(path), params=params)
        endpoint = self._http.describe("GET", path)
        return parse(self._http.json(response, endpoint), endpoint=endpoint)

    def _iter(
        self, path: str, parse: Callable[..., Any], *, limit: int = LIMIT, params: Mapping[str, Any] | None = None
    ) -> Iterator[Any]:
        return self._http.dc_paginate(self._checked(path), parse, params=params, limit=limit)

    @staticmethod
    def _at(ref: str) -> str:
        return check_ref(str(ref))

    # -- the current user and projects (workspaces) -----------------------------------------------------------

    def get_current_user(self) -> Account:
        """GET /rest/api/1.0/application-properties, then GET /rest/api/1.0/users/{slug}: Data Center has no "me"
        endpoint; the username is the ``X-AUSERNAME`` header of any authenticated answer (two requests). A
        credential the server took as anonymous (no header) raises ``AuthError``."""
        path = f"{API}/application-properties"
        response = self._http.request("GET", path)
        username = response.headers.get("X-AUSERNAME", "").strip()
        if not username or username == "anonymous":
            raise AuthError(
                "the server did not recognise this credential (no X-AUSERNAME on its answer)",
                status=response.status_code,
                endpoint=self._http.describe("GET", path),
            )
        # The slug is the username lower-cased in all but exotic cases; users/{slug} is the only per-user read.
        return self._get(f"{API}/users/{_seg(username.lower())}", self._p(convert.account))

    def iter_user_workspaces(self) -> Iterator[WorkspaceAccess]:
        """GET /rest/api/1.0/projects?permission=PROJECT_ADMIN, then GET /rest/api/1.0/projects: the projects the
        caller can see (Cloud's workspaces), ``administrator`` for those it administers. Two listings: Data Center's
        project has no "my permission" field. Personal (``~user``) projects may be missing from these listings (the
        reference leaves it open); ``get_workspace`` reads one by its key."""
        admin = {
            w.slug
            for w in self._iter(f"{API}/projects", self._p(convert.workspace), params={"permission": "PROJECT_ADMIN"})
        }
        for project in self._iter(f"{API}/projects", self._p(convert.workspace)):
            yield WorkspaceAccess(workspace=project, administrator=project.slug in admin)

    def get_workspace(self, workspace: str) -> Workspace:
        """GET /rest/api/1.0/projects/{key} (``~user`` for a personal project)."""
        return self._get(self._project(workspace), self._p(convert.workspace))

    def iter_members(self, workspace: str) -> Iterator[WorkspaceMember]:
        """GET /rest/api/1.0/projects/{key}/permissions/users: the users granted a permission on the project
        directly (not through a group), with it as Cloud's role (``PROJECT_ADMIN`` -> ``owner``, ``PROJECT_WRITE``
        -> ``collaborator``, ``PROJECT_READ`` -> ``member``). Project admins only: anyone else gets ``AuthError``
        (Data Center answers 401)."""
        return self._iter(f"{self._project(workspace)}/permissions/users", self._p(convert.member))

    def iter_workspace_permissions(self, workspace: str) -> Iterator[WorkspaceMember]:
        """GET /rest/api/1.0/projects/{key}/permissions/users: as ``iter_members`` (Data Center's listing of a
        project's people always carries their permission)."""
        return self.iter_members(workspace)

    def iter_projects(self, workspace: str) -> Iterator[Project]:
        """GET /rest/api/1.0/projects/{key}: Data Center has no level between project and repository, so a
        workspace (a project) holds exactly one project, itself (one request, not a listing)."""
        yield self._get(self._project(workspace), self._p(convert.project))

    # -- repositories -----------------------------------------------------------------------------------------

    def iter_repositories(self, workspace: str, *, updated_after: datetime | None = None) -> Iterator[Repository]:
        """GET /rest/api/1.0/projects/{key}/repos: the project's repositories the caller can read, in the server's
        order (by name).

        ``updated_after`` has no Data Center counterpart: a repository carries no timestamp and the listing no
        filter, so it is ignored and every repository is listed (each one's ``updated_on`` is the moment it was
        read, so a caller comparing against its watermark reads it again rather than missing a change)."""
        del updated_after
        return self._iter(f"{self._project(workspace)}/repos", self._p(convert.repository))

    def get_repository(self, workspace: str, repo: str) -> Repository:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}, then GET .../default-branch when the answer leaves out
        ``defaultBranch`` (it usually does): ``mainbranch`` as on Cloud, at the cost of a second request. An empty
        repository's default branch is the configured name, which may not exist yet."""
        path = self._repo(workspace, repo)
        endpoint = self._http.describe("GET", path)
        data = self._http.json(self._http.request("GET", self._checked(path)), endpoint)
        default = data.get("defaultBranch") if isinstance(data, Mapping) else None
        if not isinstance(default, str) or not default:
            default = self.get_default_branch(workspace, repo)
        return convert.repository(data, endpoint=endpoint, site=self.site, default_branch=default)

    def get_default_branch(self, workspace: str, repo: str) -> str | None:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/default-branch: the configured default branch's name, None
        when the server answers 204 (no default configured). Data Center only."""
        path = f"{self._repo(workspace, repo)}/default-branch"
        response = self._http.request("GET", self._checked(path))
        if response.status_code == 204 or not response.content:
            return None
        data = self._http.json(response, self._http.describe("GET", path))
        name = data.get("displayId") if isinstance(data, Mapping) else None
        if not isinstance(name, str) or not name:
            raise BitbucketSchemaError(
                "a default branch without 'displayId'", endpoint=self._http.describe("GET", path)
            )
        return name

    # -- branches, tags and commits ---------------------------------------------------------------------------

    def iter_branches(self, workspace: str, repo: str) -> Iterator[Branch]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/branches: each with ``is_default``; the tip known by hash
        only (Cloud's listing embeds the tip commit: here ``get_commit`` reads it)."""
        return self._iter(f"{self._repo(workspace, repo)}/branches", self._p(convert.branch))

    def get_branch(self, workspace: str, repo: str, name: str) -> Branch:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/branches?filterText={name}: Data Center's core API reads no
        single branch, so the filtered listing is walked for the exact name; ``NotFound`` when none matches."""
        wanted = check_ref(str(name)).removeprefix("refs/heads/")
        path = f"{self._repo(workspace, repo)}/branches"
        for branch in self._iter(path, self._p(convert.branch), params={"filterText": wanted}):
            if branch.name == wanted:
                return branch
        raise NotFound(f"Branch {wanted!r} does not exist.", status=404, endpoint=self._http.describe("GET", path))

    def iter_tags(self, workspace: str, repo: str) -> Iterator[Tag]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/tags. (The Cloud client reads no tags yet.)"""
        return self._iter(f"{self._repo(workspace, repo)}/tags", self._p(convert.tag))

    def iter_commits(self, workspace: str, repo: str, *, branch: str | None = None) -> Iterator[Commit]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/commits[?until={branch}]: newest first; the default
        branch's history without ``branch``."""
        params = {"until": self._at(branch)} if branch is not None else None
        return self._iter(f"{self._repo(workspace, repo)}/commits", self._p(convert.commit), params=params)

    def get_commit(self, workspace: str, repo: str, commit: str) -> Commit:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/commits/{id} (a hash: refs are refused by the server)."""
        return self._get(f"{self._repo(workspace, repo)}/commits/{_seg(commit)}", self._p(convert.commit))

    def commit_range_page(
        self,
        workspace: str,
        repo: str,
        *,
        include: Sequence[str],
        exclude: Sequence[str] = (),
        fields: tuple[str, ...] | None = None,
        pagelen: int = LIMIT,
    ) -> CommitPage:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/commits?until={include}&since={exclude}: one page of the
        commits reachable from ``include`` and not from ``exclude`` (``git log A ^B``), newest first, and whether
        more follow. Data Center takes one ref on each side: more than one raises ``ValueError``. ``fields`` has no
        counterpart (the whole commit always comes)."""
        del fields
        if len(include) != 1 or len(exclude) > 1:
            raise ValueError("Data Center ranges take exactly one ref to include and at most one to exclude")
        params = {"until": self._at(include[0])}
        if exclude:
            params["since"] = self._at(exclude[0])
        pages = self._http.dc_pages(
            self._checked(f"{self._repo(workspace, repo)}/commits"),
            self._p(convert.commit),
            params=params,
            limit=pagelen,
        )
        commits, next_url = next(iter(pages))
        return CommitPage(commits=tuple(commits), more=next_url is not None)

    def get_merge_base(self, workspace: str, repo: str, spec: str) -> Commit:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/commits/{a}/merge-base?otherCommitId={b}, for Cloud's
        ``a..b`` spec; ``NotFound`` when they share no history (the server answers 204)."""
        if ".." not in spec:
            raise ValueError(f"a merge-base spec is two refs joined by '..', not {spec!r}")
        first, _, second = spec.partition("..")
        path = f"{self._repo(workspace, repo)}/commits/{_seg(first)}/merge-base"
        response = self._http.request("GET", self._checked(path), params={"otherCommitId": self._at(second)})
        endpoint = self._http.describe("GET", path)
        if response.status_code == 204 or not response.content:
            raise NotFound("the two commits share no history", status=204, endpoint=endpoint)
        return convert.commit(self._http.json(response, endpoint), endpoint=endpoint, site=self.site)

    def get_diff(self, workspace: str, repo: str, spec: str, *, max_bytes: int | None = None) -> DiffText:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/diff?until={a}[&since={b}] (``Accept: text/plain``): the
        raw unified diff for Cloud's spec, ``a..b`` (a's changes against b) or one commit (against its first
        parent), at most ``max_bytes`` of it read.

        Not quite Cloud's ``a..b``: Cloud diffs ``a`` against the merge base of the two, Data Center's ``since`` is
        the tree to diff from, so when ``b`` moved on after ``a`` branched off, its later changes show reversed.
        The two agree whenever ``b`` is an ancestor of ``a`` (a commit and its parent, a branch and its fork point);
        a caller that needs the merge-base diff passes ``get_merge_base``'s hash as ``b``."""
        until, dots, since = spec.partition("..")
        params = {"until": self._at(until)}
        if dots:
            params["since"] = self._at(since)
        return self._text(f"{self._repo(workspace, repo)}/diff", params=params, max_bytes=max_bytes)

    def _text(self, path: str, *, params: Mapping[str, Any] | None = None, max_bytes: int | None) -> DiffText:
        """A text body read as it streams in; past ``max_bytes`` the rest is never downloaded."""
        response = self._http.request("GET", self._checked(path), params=params, accept="text/plain", stream=True)
        return self._read_text(response, path=path, max_bytes=max_bytes)

    # -- source -----------------------------------------------------------------------------------------------

    def get_file(self, workspace: str, repo: str, commit: str, path: str) -> FileContent:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/raw/{path}?at={commit}: the file's raw bytes."""
        clean = _file_path(path)
        if not clean:
            raise UnsafePath("a file needs a path")
        response = self._http.request(
            "GET",
            self._checked(f"{self._repo(workspace, repo)}/raw/{clean}"),
            params={"at": self._at(commit)},
            accept="*/*",
        )
        return FileContent(
            path=path.strip("/"),
            commit=commit,
            content=response.content,
            content_type=response.headers.get("Content-Type"),
            etag=response.headers.get("ETag"),
        )

    def iter_directory(self, workspace: str, repo: str, commit: str, path: str = "") -> Iterator[SourceEntry]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/browse[/{path}]?at={commit}: a directory's entries (its
        ``children`` page), with repository-absolute paths; a submodule is a file with the ``submodule``
        attribute."""
        directory = _file_path(path)
        url = f"{self._repo(workspace, repo)}/browse" + (f"/{directory}" if directory else "")
        return self._http.dc_paginate(
            self._checked(url),
            convert.source_entry(path.strip("/"), commit),
            params={"at": self._at(commit)},
            limit=LIMIT,
            values=lambda body: body.get("children"),
        )

    # -- pull requests ----------------------------------------------------------------------------------------

    def iter_pull_requests(
        self,
        workspace: str,
        repo: str,
        *,
        updated_after: datetime | None = None,
        states: Sequence[str] = ALL_STATES,
        with_participants: bool = True,
    ) -> Iterator[PullRequest]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests?state=…&order=NEWEST: newest first.

        Data Center has no "updated since" filter (the reference, §11): with ``updated_after`` the listing is still
        read in full and only the pull requests updated after it are yielded (the same result as Cloud's, not the
        same cost). The Data Center way to spend less is ``iter_pull_request_pages`` and stopping after a page
        without changes. ``SUPERSEDED`` does not exist there; several states but not all are filtered here from
        ``state=ALL``. Reviewers and participants always come with the listing (``with_participants`` is moot).
        """
        del with_participants
        wanted, query = self._pull_request_query(states)
        if not wanted:
            return  # only states Data Center does not have (SUPERSEDED): none exist, nothing to read
        threshold = None
        if updated_after is not None:
            threshold = updated_after if updated_after.tzinfo else updated_after.replace(tzinfo=UTC)
        for pull_request in self._iter(
            f"{self._repo(workspace, repo)}/pull-requests", self._p(convert.pull_request), limit=PR_LIMIT, params=query
        ):
            self._seen(workspace, repo, pull_request)
            if pull_request.state in wanted and (threshold is None or pull_request.updated_on > threshold):
                yield pull_request

    def iter_pull_request_pages(
        self,
        workspace: str,
        repo: str,
        *,
        updated_after: datetime | None = None,
        start_url: str | None = None,
    ) -> Iterator[tuple[list[PullRequest], str | None]]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests?state=ALL&order=NEWEST page by page, as
        ``(records, next_url)``: ``next_url`` (the listing with the next ``start``) passed back as ``start_url``
        resumes there. ``updated_after`` filters each page's records (Data Center cannot: see
        ``iter_pull_requests``); a caller that stops after a page without changes is the documented Data Center
        incremental read."""
        _, query = self._pull_request_query(ALL_STATES)
        threshold = None
        if updated_after is not None:
            threshold = updated_after if updated_after.tzinfo else updated_after.replace(tzinfo=UTC)
        for records, next_url in self._http.dc_pages(
            self._checked(f"{self._repo(workspace, repo)}/pull-requests"),
            self._p(convert.pull_request),
            params=query,
            limit=PR_LIMIT,
            start_url=start_url,
        ):
            for pull_request in records:
                self._seen(workspace, repo, pull_request)
            if threshold is not None:
                records = [pr for pr in records if pr.updated_on > threshold]
            yield records, next_url

    @staticmethod
    def _pull_request_query(states: Sequence[str]) -> tuple[frozenset[str], dict[str, Any]]:
        wanted = frozenset(states) & frozenset(DC_STATES)
        if not states:
            raise ValueError("states must name at least one pull request state")
        state = next(iter(wanted)) if len(wanted) == 1 else "ALL"
        return wanted, {"state": state, "order": "NEWEST"}

    def get_pull_request(self, workspace: str, repo: str, pr_id: int) -> PullRequest:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id} (reviewers and participants included)."""
        return self._seen(workspace, repo, self._get(self._pr(workspace, repo, pr_id), self._p(convert.pull_request)))

    def get_pull_request_diff(
        self, workspace: str, repo: str, pr_id: int, *, max_bytes: int | None = None, ignore_whitespace: bool = False
    ) -> DiffText:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}.diff: the raw unified diff, at most
        ``max_bytes`` of it read; ``whitespace=ignore-all`` with ``ignore_whitespace``."""
        return self._text(
            f"{self._repo(workspace, repo)}/pull-requests/{int(pr_id)}.diff",
            params={"whitespace": "ignore-all"} if ignore_whitespace else None,
            max_bytes=max_bytes,
        )

    def pull_request_conflicts(self, workspace: str, repo: str, pr_id: int) -> tuple[str, ...]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}/changes: the paths whose change carries a
        ``conflict`` (what a merge would conflict on); empty when it merges cleanly. One request: this listing is a
        single page (``start`` is ignored), capped by the server's ``page.max.changes``, so on a huge pull request
        the conflicts past the cap are not seen."""
        path = f"{self._pr(workspace, repo, pr_id)}/changes"

        def parse(data: Any, *, endpoint: str) -> str | None:
            return (
                convert.change_path(data, endpoint=endpoint)
                if isinstance(data, Mapping) and data.get("conflict")
                else None
            )

        pages = self._http.dc_pages(self._checked(path), parse, limit=CHANGES_LIMIT, single_page=True)
        paths, _ = next(iter(pages))
        return tuple(p for p in paths if p)

    def iter_pull_request_commits(self, workspace: str, repo: str, pr_id: int) -> Iterator[Commit]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}/commits: the commits being merged."""
        return self._iter(f"{self._pr(workspace, repo, pr_id)}/commits", self._p(convert.commit))

    def iter_pull_request_activity(self, workspace: str, repo: str, pr_id: int) -> Iterator[Activity]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}/activities: newest first (Cloud's feed
        is too), as Cloud's activity kinds (``convert.activity``)."""
        return self._iter(
            f"{self._pr(workspace, repo, pr_id)}/activities", self._p(convert.activity), limit=ACTIVITY_LIMIT
        )

    def iter_pull_request_comments(self, workspace: str, repo: str, pr_id: int) -> Iterator[Comment]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}/activities: Data Center lists a pull
        request's comments only inside its activities (``/comments`` needs a file path), so every ``COMMENTED``
        activity's thread is read, replies included (each with ``parent_id``), once each, oldest thread first, each
        thread as the newest activity carrying it shows it.
        The whole feed is read before the first comment is yielded (the order needs it); a thread appears as it
        stands now, edits included."""
        threads: list[list[Comment]] = []
        path = f"{self._pr(workspace, repo, pr_id)}/activities"

        def parse(data: Any, *, endpoint: str) -> list[Comment]:
            if isinstance(data, Mapping) and data.get("action") == "COMMENTED" and data.get("comment") is not None:
                return convert.comment_thread(data["comment"], endpoint=endpoint, site=self.site)
            return []

        threads = [thread for thread in self._iter(path, parse, limit=ACTIVITY_LIMIT) if thread]
        # A reply's own activity may carry the reply alone: it is yielded inside its thread, with its parent.
        replies = {comment.id for thread in threads for comment in thread[1:]}
        newest: dict[int, list[Comment]] = {}
        for thread in threads:  # newest activity first: the fullest copy of a thread is the latest one
            if thread[0].id not in replies:
                newest.setdefault(thread[0].id, thread)
        seen: set[int] = set()
        for thread in sorted(newest.values(), key=lambda t: (t[0].created_on, t[0].id)):
            for comment in thread:
                if comment.id not in seen:
                    seen.add(comment.id)
                    yield comment

    def iter_pull_request_tasks(self, workspace: str, repo: str, pr_id: int) -> Iterator[Task]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}/blocker-comments: Data Center's tasks
        are comments of severity ``BLOCKER`` (8.0+; older servers answer ``NotFound``), open and resolved, with
        ``OPEN`` as Cloud's ``UNRESOLVED``; ``comment_id`` is the comment a task replies to, if any."""
        return self._iter(f"{self._pr(workspace, repo, pr_id)}/blocker-comments", self._p(convert.task))

    def get_pull_request_comment(self, workspace: str, repo: str, pr_id: int, comment_id: int) -> Comment:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}/comments/{comment_id}."""
        return self._get(f"{self._pr(workspace, repo, pr_id)}/comments/{int(comment_id)}", self._p(convert.comment))

    # -- source: one entry, history -----------------------------------------------------------------------------

    def get_file_meta(self, workspace: str, repo: str, commit: str, path: str) -> SourceEntry:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/browse[/{parent}]?at={commit}: the entry as its directory's
        listing shows it (type, size, ``submodule``), usually one request; ``NotFound`` when the directory has no
        such entry. Data Center may list a chain of single directories as one child (``a/b``): a path the listing
        does not show is then asked with GET .../browse/{path}?at={commit}&type=true (a directory, or a file of
        unknown size). Data Center says nothing of LFS or symbolic links here (no such attributes)."""
        clean = path.strip("/")
        if not clean:
            raise UnsafePath("a file needs a path")
        check_path(clean)
        parent = clean.rpartition("/")[0]
        for entry in self.iter_directory(workspace, repo, commit, parent):
            if entry.path == clean:
                return entry
            if entry.is_dir and (clean.startswith(entry.path + "/") or entry.path.startswith(clean + "/")):
                break  # a collapsed chain of directories (`a/b`) holds it or is it: ask the path itself
        else:
            raise NotFound(
                f"The path {clean!r} does not exist at {commit!r}.",
                status=404,
                endpoint=self._http.describe("GET", f"{self._repo(workspace, repo)}/browse"),
            )
        kind = self._get(
            f"{self._repo(workspace, repo)}/browse/{_file_path(clean)}",
            lambda data, endpoint: data.get("type") if isinstance(data, Mapping) else None,
            params={"at": self._at(commit), "type": "true"},
        )
        if kind not in ("FILE", "DIRECTORY", "SUBMODULE"):
            raise BitbucketSchemaError(
                f"a path type {kind!r}", endpoint=self._http.describe("GET", f"{self._repo(workspace, repo)}/browse")
            )
        return SourceEntry(
            type="commit_directory" if kind == "DIRECTORY" else "commit_file",
            path=clean,
            commit=commit,
            attributes=("submodule",) if kind == "SUBMODULE" else (),
        )

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
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/commits?until={revision}&since={exclude}&path={path}: one
        page of the log, newest first (the default branch's without ``revision``), and the cursor of the next (None
        after the last). The cursor is the next page's ``start`` offset as a string; passed back, it reads that page
        of the same query. Data Center takes one ref to exclude: more raise ``ValueError``."""
        if len(exclude) > 1:
            raise ValueError("Data Center's commit log excludes at most one ref")
        params: dict[str, Any] = {}
        if revision is not None:
            params["until"] = self._at(revision)
        if exclude:
            params["since"] = self._at(exclude[0])
        if path:
            params["path"] = check_path(path.strip("/"))
        return self._offset_page(
            f"{self._repo(workspace, repo)}/commits", self._p(convert.commit), params, cursor, pagelen
        )

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
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/commits?until={commit}&path={path}&followRenames=true: one
        page of the commits that changed a file, newest first, and the next page's cursor (as ``commit_log_page``).

        Unlike Cloud's ``filehistory``, Data Center's commits do not say what the file was called in each: every
        entry carries the path asked for, also the commits from before a rename that ``followRenames`` reaches.
        (The emulator models no renames and ignores ``followRenames``.)"""
        clean = path.strip("/")
        if not clean:
            raise UnsafePath("a file history needs a path")
        params = {"until": self._at(commit), "path": check_path(clean), "followRenames": "true"}

        def parse(data: Any, *, endpoint: str) -> FileHistoryEntry:
            return FileHistoryEntry(path=clean, commit=convert.commit(data, endpoint=endpoint, site=self.site))

        return self._offset_page(f"{self._repo(workspace, repo)}/commits", parse, params, cursor, pagelen)

    def _offset_page(
        self, path: str, parse: Callable[..., T], params: dict[str, Any], cursor: str | None, limit: int
    ) -> tuple[list[T], str | None]:
        if cursor is not None and not re.fullmatch(r"[0-9]{1,9}", cursor):
            raise UnsafePath(f"not a page cursor: {cursor!r}")
        items, following = self._http.dc_page_at(
            self._checked(path), parse, params=params, start=int(cursor or 0), limit=limit
        )
        return items, None if following is None else str(following)

    def commit_pull_requests(self, workspace: str, repo: str, commit: str) -> CommitPullRequests:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/commits/{id}/pull-requests: the repository's pull requests
        that contain the commit (every page). Data Center keeps this index itself: never ``indexing``."""
        path = f"{self._repo(workspace, repo)}/commits/{_seg(commit)}/pull-requests"
        return CommitPullRequests(pull_requests=tuple(self._iter(path, self._p(convert.pull_request), limit=PR_LIMIT)))

    # -- diffstats ----------------------------------------------------------------------------------------------

    def iter_diffstat(self, workspace: str, repo: str, spec: str, *, topic: bool = True) -> Iterator[DiffStat]:
        """The files a diff spec changes, as ``DiffStat`` records (``convert.diffstat``):

        * ``a..b``: GET /rest/api/1.0/projects/{key}/repos/{slug}/compare/changes?from={a}&to={b}, what ``a`` changes
          since its common ancestor with ``b`` (Cloud's ``topic`` diffstat);
        * ``a..b`` with ``topic=False``: GET .../commits/{a}/changes?since={b}, ``a``'s tree against ``b``'s (``a``
          a commit hash: that resource refuses ref names);
        * one commit: GET .../commits/{id}/changes, against its first parent.

        Data Center's changes carry no line counts: ``lines_added`` and ``lines_removed`` are None (not known)."""
        first, dots, second = spec.partition("..")
        base = self._repo(workspace, repo)
        if dots and topic:
            path, params = f"{base}/compare/changes", {"from": self._at(first), "to": self._at(second)}
        elif dots:
            path, params = f"{base}/commits/{_seg(first)}/changes", {"since": self._at(second)}
        else:
            path, params = f"{base}/commits/{_seg(first)}/changes", {}
        return self._iter(path, convert.diffstat, limit=CHANGES_LIMIT, params=params)

    def iter_pull_request_diffstat(
        self, workspace: str, repo: str, pr_id: int, *, ignore_whitespace: bool = False
    ) -> Iterator[DiffStat]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}/changes: the files the pull request
        changes (a change with a ``conflict`` as ``merge conflict``), line counts 0 (Data Center's changes count no
        lines). One page (the server ignores ``start``), capped by its ``page.max.changes``: on a huge pull request
        the files past the cap are not listed. ``ignore_whitespace`` has no counterpart (a file whose change is
        only whitespace is still listed)."""
        del ignore_whitespace
        pages = self._http.dc_pages(
            self._checked(f"{self._pr(workspace, repo, pr_id)}/changes"),
            convert.diffstat,
            limit=CHANGES_LIMIT,
            single_page=True,
        )
        for items, _ in pages:
            yield from items

    # -- builds -------------------------------------------------------------------------------------------------

    def iter_commit_statuses(
        self, workspace: str, repo: str, commit: str, *, refname: str | None = None
    ) -> Iterator[BuildStatus]:
        """GET /rest/build-status/1.0/commits/{id}: a commit's build statuses, newest first, one per ``key`` (the
        newest, should the listing repeat a key). The build-status API is the one that lists a commit's builds
        (7.14's ``.../commits/{id}/builds`` reads one ``key`` at a time); it is instance-wide, so the statuses
        posted for this commit from any repository are read, and it keeps the most recent 100. ``commit`` is a
        hash. ``CANCELLED`` is Cloud's ``STOPPED``; an ``UNKNOWN`` status is left out. With ``refname``, those
        made for that branch plus those made without one (legacy statuses name no branch)."""
        del workspace, repo
        if not re.fullmatch(r"[0-9a-fA-F]{7,64}", str(commit)):
            raise UnsafePath(f"not a commit hash: {commit!r}")
        seen: set[str] = set()
        for status in self._http.dc_paginate(
            f"/rest/build-status/1.0/commits/{commit}", convert.build_status(str(commit)), limit=PR_LIMIT
        ):
            if status is None or status.key in seen:
                continue
            seen.add(status.key)
            if refname and status.refname not in (None, refname):
                continue
            yield status

    def iter_pull_request_statuses(self, workspace: str, repo: str, pr_id: int) -> Iterator[BuildStatus]:
        """GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests/{id}, then GET
        /rest/build-status/1.0/commits/{source tip}: the build statuses of the pull request's source commit (what
        its page shows), full hashes. Data Center lists no statuses per pull request: two requests, or one when this
        client has read the pull request already (a sync's listing)."""
        source = self._source_commits.get((workspace, repo, int(pr_id)))
        if source is None:
            source = self.get_pull_request(workspace, repo, pr_id).source.commit
        if not source:
            raise BitbucketSchemaError(
                "a pull request without 'fromRef.latestCommit'",
                endpoint=self._http.describe("GET", self._pr(workspace, repo, pr_id)),
            )
        yield from self.iter_commit_statuses(workspace, repo, source)

    def _seen(self, workspace: str, repo: str, pull_request: PullRequest) -> PullRequest:
        """Remember a pull request's source commit as this client last read it: the statuses of a pull request
        read in the same listing (a sync) then cost one request, not two."""
        if pull_request.source.commit:
            self._source_commits[(workspace, repo, pull_request.id)] = pull_request.source.commit
        return pull_request

    # -- the caller's permissions -------------------------------------------------------------------------------

    def get_user_workspace_permission(self, workspace: str) -> WorkspaceMember:
        """The caller's role on a project, as Cloud's names (``owner``, ``collaborator``, ``member``; None when the
        caller sees the project only through a repository grant):

        GET /rest/api/1.0/projects/{key} (its name, and the caller's username from ``X-AUSERNAME``), GET
        /rest/api/1.0/users/{slug}, then GET /rest/api/1.0/projects?name={name}&permission=PROJECT_ADMIN, then
        ``PROJECT_WRITE``, then ``PROJECT_READ`` until one lists the project (three to five requests: Data Center's
        project carries no "my permission", and these listings are what it answers for the caller's effective
        permission, group grants included). A personal project (``~user``) is its owner's (``owner``) and nobody
        else's (two requests)."""
        path = self._project(workspace)
        response = self._http.request("GET", self._checked(path))
        endpoint = self._http.describe("GET", path)
        project = convert.workspace(self._http.json(response, endpoint), endpoint=endpoint, site=self.site)
        username = response.headers.get("X-AUSERNAME", "").strip()
        if not username or username == "anonymous":
            raise AuthError(
                "the server did not recognise this credential (no X-AUSERNAME on its answer)",
                status=response.status_code,
                endpoint=endpoint,
            )
        me = self._get(f"{API}/users/{_seg(username.lower())}", self._p(convert.account))
        role: str | None = None
        if project.slug.startswith("~"):
            role = "owner" if project.slug[1:].lower() == (me.nickname or "").lower() else None
        else:
            for permission in ("PROJECT_ADMIN", "PROJECT_WRITE", "PROJECT_READ"):
                listed = self._iter(
                    f"{API}/projects",
                    self._p(convert.workspace),
                    params={"name": project.name, "permission": permission},
                )
                if any(p.slug == project.slug for p in listed):
                    role = convert.PROJECT_ROLES[permission]
                    break
        return WorkspaceMember(user=me, workspace_slug=project.slug, permission=role)

    def iter_user_repository_permissions(self, workspace: str) -> Iterator[RepositoryPermission]:
        """GET /rest/api/1.0/repos?projectkey={key}&permission=REPO_ADMIN&archived=ALL, then ``REPO_WRITE``, then
        ``REPO_READ``: each repository of the project the caller was granted access to (directly, through the
        project or a group), once, at its highest permission (``admin``, ``write``, ``read``); archived ones
        included. Three listings (``projectkey`` needs Data Center 8.0+)."""
        seen: set[str] = set()
        for permission in ("REPO_ADMIN", "REPO_WRITE", "REPO_READ"):
            for found in self._iter(
                f"{API}/repos",
                self._p(convert.repository_permission(permission)),
                params={"projectkey": workspace, "permission": permission, "archived": "ALL"},
            ):
                if found.repository.uuid not in seen:
                    seen.add(found.repository.uuid)
                    yield found

    # -- webhooks (project-level) -----------------------------------------------------------------------------
    # A project's webhooks deliver the events of every repository in it: the Data Center counterpart of Cloud's
    # workspace hooks. The hook's numeric id is the record's ``uuid`` (as a string); ``description`` is its name.

    @staticmethod
    def _webhook(data: Any, *, endpoint: str) -> WebhookSubscription:
        """``RestWebhook`` (with the ``id`` and dates servers add): Data Center never sends the secret back, so
        ``secret_set`` is None."""
        o = convert._Obj(data, endpoint=endpoint, site="")  # a hook id is not a mirror identity: no site tag
        events = o.get("events", list, required=True)
        if not all(isinstance(event, str) for event in events):
            raise o.fail("events", "wrong type for")
        return WebhookSubscription(
            uuid=str(o.integer("id")),
            url=o.text("url"),
            events=tuple(events),
            active=o.flag("active"),
            description=o.otext("name") or "",
            subject_type=o.otext("scopeType"),
            created_at=o.time("createdDate"),
        )

    def iter_webhooks(self, workspace: str) -> Iterator[WebhookSubscription]:
        """GET /rest/api/1.0/projects/{key}/webhooks (PROJECT_ADMIN): the project's own hooks."""
        return self._iter(f"{self._project(workspace)}/webhooks", self._webhook)

    def create_webhook(
        self,
        workspace: str,
        *,
        url: str,
        events: Sequence[str],
        secret: str | None = None,
        description: str = "bbdash",
        active: bool = True,
    ) -> WebhookSubscription:
        """POST /rest/api/1.0/projects/{key}/webhooks (PROJECT_ADMIN): deliveries for every repository of the
        project, signed with ``secret`` (``X-Hub-Signature: sha256=…``). ``events`` are Data Center event keys."""
        body: dict[str, Any] = {
            "name": description,
            "url": url,
            "active": active,
            "events": list(events),
            "sslVerificationRequired": True,
        }
        if secret is not None:
            body["configuration"] = {"secret": secret}
        path = self._checked(f"{self._project(workspace)}/webhooks")
        response = self._http.request("POST", path, json=body)
        endpoint = self._http.describe("POST", path)
        return self._webhook(self._http.json(response, endpoint), endpoint=endpoint)

    def delete_webhook(self, workspace: str, uid: str) -> None:
        """DELETE /rest/api/1.0/projects/{key}/webhooks/{id} (PROJECT_ADMIN); ``uid`` is the hook's numeric id."""
        if not str(uid).isdigit():
            raise NotFound(f"no webhook {uid!r}: Data Center webhook ids are numbers", status=404)
        self._http.request("DELETE", self._checked(f"{self._project(workspace)}/webhooks/{int(uid)}"))
