"""A Bitbucket Data Center instance beside the Cloud world: its users, HTTP access tokens, projects (including
personal `~user` projects), repositories and pull requests.

Data Center is a different product with its own identities (numeric ids, login names and slugs, permission names such
as `REPO_READ`), so it is a sibling of the Cloud state rather than a marked workspace: nothing of it shows through the
Cloud API. Its git-like content reuses the world's `Repository` (commits, trees, branches, tags) and the World's
history helpers (`resolve`, `log`, `merge_base`); its pull requests carry what Data Center has and Cloud lacks
(`version`, the NEEDS_WORK reviewer status, per-repository ids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .merge import merge_trees
from .objects import Repository, WorldError

# Bitbucket permission names; a project grant implies the same level on every repository of the project.
PERMISSION_LEVEL = {
    "PROJECT_VIEW": 1,
    "PROJECT_READ": 1,
    "PROJECT_WRITE": 2,
    "PROJECT_ADMIN": 3,
    "REPO_READ": 1,
    "REPO_WRITE": 2,
    "REPO_ADMIN": 3,
}
PROJECT_PERMISSIONS = ("PROJECT_READ", "PROJECT_WRITE", "PROJECT_ADMIN")
REPO_PERMISSIONS = ("REPO_READ", "REPO_WRITE", "REPO_ADMIN")
TOKEN_KINDS = ("personal", "project", "repository")
PARTICIPANT_STATUSES = ("UNAPPROVED", "NEEDS_WORK", "APPROVED")


class DcError(WorldError):
    """A Data Center error: the status, the message and the Java exception name the `errors` envelope carries."""

    def __init__(self, status: int, message: str, exception: str | None, context: str | None = None):
        super().__init__(status, message)
        self.exception = exception
        self.context = context


EXC = "com.atlassian.bitbucket."


def not_permitted() -> DcError:
    return DcError(401, "You are not permitted to access this resource", EXC + "AuthorisationException")


@dataclass
class DcUser:
    id: int
    name: str  # login name (used in request bodies)
    slug: str  # URL form
    display_name: str
    email: str
    password: str
    uuid: str  # the world's key for authorship of commits, comments and reviews
    active: bool = True
    sysadmin: bool = False
    user_type: str = "NORMAL"  # NORMAL | SERVICE


@dataclass
class DcToken:
    """An HTTP access token: `personal` (of a user), `project` or `repository` (Bearer only, a service user)."""

    id: str  # Data Center token ids are 12-digit strings
    token: str
    name: str
    kind: str  # one of TOKEN_KINDS
    permissions: list[str]
    created: datetime
    owner_slug: str | None = None  # personal tokens
    project_key: str | None = None  # project and repository tokens
    repo_slug: str | None = None  # repository tokens
    service_user: DcUser | None = None  # the user a project/repository token acts as


@dataclass
class DcProject:
    id: int
    key: str  # `~slug` for a personal project
    name: str
    description: str = ""
    public: bool = False
    owner_slug: str | None = None  # personal projects
    permissions: dict[str, str] = field(default_factory=dict)  # user slug -> PROJECT_*

    @property
    def personal(self) -> bool:
        return self.owner_slug is not None


@dataclass
class DcParticipant:
    user_slug: str
    role: str  # AUTHOR | REVIEWER | PARTICIPANT
    status: str = "UNAPPROVED"  # one of PARTICIPANT_STATUSES
    last_reviewed_commit: str | None = None
    status_date: datetime | None = None  # when the status was last set (an APPROVED/REVIEWED activity)


@dataclass
class DcComment:
    id: int
    author_slug: str
    text: str
    created: datetime
    updated: datetime
    version: int = 0
    severity: str = "NORMAL"  # NORMAL | BLOCKER (a task)
    state: str = "OPEN"  # OPEN | RESOLVED
    anchor: dict | None = None  # {path, line, lineType, fileType, fromHash, toHash, diffType} for inline comments
    replies: list[DcComment] = field(default_factory=list)


@dataclass
class DcPullRequest:
    id: int  # per target repository, from 1
    title: str
    description: str
    state: str  # OPEN | MERGED | DECLINED
    from_branch: str
    from_hash: str
    to_branch: str
    to_hash: str
    created: datetime
    updated: datetime
    author: DcParticipant
    version: int = 0
    draft: bool = False
    closed: datetime | None = None
    merge_commit: str | None = None
    reviewers: list[DcParticipant] = field(default_factory=list)
    participants: list[DcParticipant] = field(default_factory=list)
    comments: list[DcComment] = field(default_factory=list)  # thread roots, oldest first

    def everyone(self) -> list[DcParticipant]:
        return [self.author, *self.reviewers, *self.participants]


@dataclass
class DcRepository:
    id: int
    slug: str
    name: str
    project_key: str
    git: Repository  # commits, trees, branches, tags (`git.mainbranch` is the configured default branch)
    description: str = ""
    public: bool = False
    archived: bool = False
    forkable: bool = True
    permissions: dict[str, str] = field(default_factory=dict)  # user slug -> REPO_*
    pull_requests: dict[int, DcPullRequest] = field(default_factory=dict)


BUILD_STATES = ("SUCCESSFUL", "FAILED", "INPROGRESS", "CANCELLED", "UNKNOWN")
FULL_SHA = frozenset("0123456789abcdef")


@dataclass
class DcBuild:
    """A build status of a commit (reference §7.10): one per `key` per commit, a later post replaces it."""

    key: str
    state: str  # one of BUILD_STATES
    url: str
    name: str = ""
    description: str = ""
    added: datetime | None = None  # `dateAdded`: when it was last posted


# The event keys a Data Center webhook may name (reference §9.1); the site emits the `pr:*` and `repo:refs_changed`
# ones it has mutations for (`world.datacenter_changes`), the others are accepted and never sent.
DC_HOOK_EVENTS = frozenset(
    {
        "repo:refs_changed",
        "repo:modified",
        "repo:forked",
        "repo:comment:added",
        "repo:comment:edited",
        "repo:comment:deleted",
        "repo:secret_detected",
        "mirror:repo_synchronized",
        "project:modified",
        "pr:opened",
        "pr:from_ref_updated",
        "pr:modified",
        "pr:merged",
        "pr:declined",
        "pr:deleted",
        "pr:reviewer:updated",
        "pr:reviewer:approved",
        "pr:reviewer:unapproved",
        "pr:reviewer:needs_work",
        "pr:comment:added",
        "pr:comment:edited",
        "pr:comment:deleted",
    }
)


@dataclass
class DcWebhook:
    """A project- or repository-level webhook (reference §7.11, §8.8): `repo_slug` None for a project's."""

    id: int
    name: str
    url: str
    events: list[str]
    active: bool
    scope_type: str  # project | repository
    project_key: str
    repo_slug: str | None
    created: datetime
    updated: datetime
    configuration: dict[str, str] = field(default_factory=dict)  # `secret` signs deliveries; `createdBy`...
    ssl_verification_required: bool = True

    @property
    def secret(self) -> str | None:
        return self.configuration.get("secret") or None


@dataclass
class DataCenterSite:
    """One Data Center instance, served under `context_path` (e.g. `/bitbucket`)."""

    context_path: str = "/bitbucket"
    version: str = "10.0.1"
    build_number: str = "10000001"
    build_date: int = 1_717_000_000_000
    display_name: str = "Bitbucket"
    users: dict[str, DcUser] = field(default_factory=dict)  # by slug
    tokens: dict[str, DcToken] = field(default_factory=dict)  # by secret
    projects: dict[str, DcProject] = field(default_factory=dict)  # by key as written
    repositories: list[DcRepository] = field(default_factory=list)
    next_id: int = 1
    # Build statuses by full commit hash: not per repository (the build-status API is instance-wide).
    builds: dict[str, list[DcBuild]] = field(default_factory=dict)
    webhooks: dict[int, DcWebhook] = field(default_factory=dict)  # by id
    next_webhook_id: int = 1
    # `legacy`: pull request dates in webhook bodies are epoch ms (as in REST); `10.x`: ISO strings (reference §9.4).
    webhook_dates: str = "legacy"
    # Called as listener(event_key, repository, actor slug, **objects) under the world lock after each change worth
    # a webhook (the delivery sender); `World.replace_with` hands them to the site that replaces this one.
    listeners: list[Callable[..., None]] = field(default_factory=list, repr=False, compare=False)
    # Switches for what the reference leaves unconfirmed (§11.1), set through `POST /_emulator/datacenter/switches`:
    # which timestamp `order=NEWEST` sorts pull requests by ("updated" or "created"), and whether a review status
    # (approve, needs work) moves a pull request's `updatedDate` and `version`.
    newest_by: str = "updated"
    reviews_move_updated: bool = False
    # The server's `page.max.pullrequests` (None: the resource's usual cap): tests page a small listing with it.
    pull_request_page_max: int | None = None

    # ---- lookups (missing things answer Data Center's NoSuch* exceptions) -------------------------------------
    def user(self, slug: str) -> DcUser:
        user = self.users.get(slug) or next((u for u in self.users.values() if u.name == slug), None)
        if user is None:
            raise DcError(404, f"User {slug} does not exist.", EXC + "user.NoSuchUserException")
        return user

    def user_by_uuid(self, uuid: str) -> DcUser | None:
        return next((u for u in self.users.values() if u.uuid == uuid), None)

    def project(self, key: str) -> DcProject:
        for p in self.projects.values():
            if p.key.lower() == key.lower():
                return p
        raise DcError(404, f"Project {key} does not exist.", EXC + "project.NoSuchProjectException")

    def repository(self, key: str, slug: str) -> DcRepository:
        project = self.project(key)
        for r in self.repositories:
            if r.project_key == project.key and r.slug == slug.lower():
                return r
        raise DcError(
            404, f"Repository {project.key}/{slug} does not exist.", EXC + "repository.NoSuchRepositoryException"
        )

    def repos_of(self, project: DcProject) -> list[DcRepository]:
        return sorted((r for r in self.repositories if r.project_key == project.key), key=lambda r: r.name.lower())

    def pull_request(self, repo: DcRepository, pr_id: int) -> DcPullRequest:
        pr = repo.pull_requests.get(pr_id)
        if pr is None:
            raise DcError(
                404,
                f"Pull request {pr_id} does not exist in {repo.project_key}/{repo.slug}.",
                EXC + "pull.NoSuchPullRequestException",
            )
        return pr

    def allocate_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    # ---- builds ----------------------------------------------------------------------------------------------
    def post_build(
        self,
        commit: str,
        *,
        key: str,
        state: str,
        url: str,
        when: datetime,
        name: str = "",
        description: str = "",
    ) -> DcBuild:
        """What `POST /rest/build-status/1.0/commits/{commitId}` stores: a full 40-character SHA-1, a known state,
        `key` and `url` required, fields at most 255 characters (`url` 450); a status with the same key replaces
        the commit's earlier one. Anything else is the server's 400."""
        if len(commit) != 40 or not FULL_SHA.issuperset(commit.lower()):
            raise DcError(400, f"{commit} is not a full commit id", None, context="commitId")
        if state not in BUILD_STATES:
            raise DcError(400, f"state must be one of {', '.join(BUILD_STATES)}", None, context="state")
        for label, value, longest in (("key", key, 255), ("url", url, 450), ("name", name, 255)):
            if label != "name" and not value:
                raise DcError(400, f"{label} must be supplied", None, context=label)
            if len(value) > longest:
                raise DcError(400, f"{label} must be at most {longest} characters", None, context=label)
        if len(description) > 255:
            raise DcError(400, "description must be at most 255 characters", None, context="description")
        build = DcBuild(key=key, state=state, url=url, name=name, description=description, added=when)
        kept = [b for b in self.builds.get(commit.lower(), []) if b.key != key]
        self.builds[commit.lower()] = [*kept, build]
        return build

    # ---- permissions -----------------------------------------------------------------------------------------
    def user_project_level(self, user: DcUser | None, project: DcProject) -> int:
        """0 none, 1 read (or view through a repository), 2 write, 3 admin; public projects are readable by all."""
        if user is not None and user.sysadmin:
            return 3
        level = 1 if project.public else 0
        if user is None:
            return level
        if project.owner_slug == user.slug:
            return 3
        return max(level, PERMISSION_LEVEL.get(project.permissions.get(user.slug, ""), 0))

    def user_repo_level(self, user: DcUser | None, repo: DcRepository) -> int:
        project = self.projects[repo.project_key]
        level = max(self.user_project_level(user, project), 1 if repo.public else 0)
        if user is not None:
            level = max(level, PERMISSION_LEVEL.get(repo.permissions.get(user.slug, ""), 0))
        return level

    def can_view_project(self, user: DcUser | None, project: DcProject) -> bool:
        """PROJECT_VIEW: a project grant, a public project, or access to any repository in it."""
        if self.user_project_level(user, project):
            return True
        return any(self.user_repo_level(user, r) for r in self.repos_of(project))

    # ---- webhooks (reference §8.8, §9) -----------------------------------------------------------------------
    def add_webhook(self, hook: DcWebhook) -> DcWebhook:
        hook.id = self.next_webhook_id
        self.next_webhook_id += 1
        self.webhooks[hook.id] = hook
        return hook

    def webhooks_of(self, project_key: str, repo_slug: str | None) -> list[DcWebhook]:
        """The hooks of one scope (a project's own, or a repository's own), oldest first."""
        return [h for h in self.webhooks.values() if h.project_key == project_key and h.repo_slug == repo_slug]

    def webhook(self, project_key: str, repo_slug: str | None, webhook_id: int) -> DcWebhook:
        hook = self.webhooks.get(webhook_id)
        if hook is None or hook.project_key != project_key or hook.repo_slug != repo_slug:
            raise DcError(404, f"No webhook with id {webhook_id} exists.", EXC + "webhook.NoSuchWebhookException")
        return hook

    def subscribed(self, repo: DcRepository, event: str) -> list[DcWebhook]:
        """The active hooks of the repository and of its project that deliver `event`."""
        return [
            h
            for h in self.webhooks.values()
            if h.active and event in h.events and h.project_key == repo.project_key and h.repo_slug in (None, repo.slug)
        ]

    def emit(self, event: str, repo: DcRepository, actor_slug: str | None, **objects) -> None:
        for listener in self.listeners:
            listener(event, repo, actor_slug, **objects)


def token_level(token: DcToken, prefix: str) -> int:
    """The highest level a token's permissions give for `PROJECT_` or `REPO_` names."""
    return max((PERMISSION_LEVEL[p] for p in token.permissions if p.startswith(prefix)), default=0)


# ---- changes a test makes to the site (there are no Data Center write endpoints yet) ---------------------------
NEWEST_BY = ("updated", "created")


def set_switches(
    site: DataCenterSite,
    *,
    newest_by: str | None = None,
    reviews_move_updated: bool | None = None,
    pull_request_page_max: int | None = None,
) -> dict:
    """Change the unconfirmed behaviours (None leaves one as it is; a page max of 0 removes the cap)."""
    if newest_by is not None:
        if newest_by not in NEWEST_BY:
            raise WorldError(400, f"newest_by must be one of {', '.join(NEWEST_BY)}")
        site.newest_by = newest_by
    if reviews_move_updated is not None:
        site.reviews_move_updated = bool(reviews_move_updated)
    if pull_request_page_max is not None:
        if int(pull_request_page_max) < 0:
            raise WorldError(400, "pull_request_page_max must be 0 (no cap) or more")
        site.pull_request_page_max = int(pull_request_page_max) or None
    return switches(site)


def switches(site: DataCenterSite) -> dict:
    return {
        "newest_by": site.newest_by,
        "reviews_move_updated": site.reviews_move_updated,
        "pull_request_page_max": site.pull_request_page_max,
    }


def _touch(pr: DcPullRequest, when: datetime) -> None:
    pr.updated = max(when, pr.updated)
    pr.version += 1


def review(
    site: DataCenterSite, repo: DcRepository, pr_id: int, user_slug: str, status: str, when: datetime
) -> DcParticipant:
    """`user_slug` sets their review status (APPROVED, NEEDS_WORK, UNAPPROVED) on an open pull request, becoming a
    participant if they were not one; the pull request's `updatedDate` and `version` move only when the site's
    `reviews_move_updated` switch says so."""
    if status not in PARTICIPANT_STATUSES:
        raise WorldError(400, f"status must be one of {', '.join(PARTICIPANT_STATUSES)}")
    pr = site.pull_request(repo, pr_id)
    user = site.user(user_slug)
    if pr.state != "OPEN":
        raise DcError(409, "The pull request is not open.", EXC + "pull.IllegalPullRequestStateException")
    if user.slug == pr.author.user_slug:
        raise DcError(400, "The author cannot review their own pull request.", None)
    person = next((p for p in pr.reviewers + pr.participants if p.user_slug == user.slug), None)
    if person is None:
        person = DcParticipant(user.slug, "PARTICIPANT")
        pr.participants.append(person)
    person.status = status
    person.status_date = when
    person.last_reviewed_commit = pr.from_hash if status != "UNAPPROVED" else person.last_reviewed_commit
    if site.reviews_move_updated:
        _touch(pr, when)
    return person


def push_to_source(
    world, site: DataCenterSite, repo: DcRepository, pr_id: int, user_slug: str, files: dict[str, str], when: datetime
) -> str:
    """A commit by `user_slug` on an open pull request's source branch: the branch and the pull request's
    `fromRef.latestCommit` move, and so do its `updatedDate` and `version` (a push always does)."""
    pr = site.pull_request(repo, pr_id)
    if pr.state != "OPEN":
        raise DcError(409, "The pull request is not open.", EXC + "pull.IllegalPullRequestStateException")
    user = site.user(user_slug)
    git = repo.git
    parent = git.branches[pr.from_branch]
    tree = dict(git.commits[parent].tree)
    tree.update({path: content.encode() for path, content in files.items()})
    raw = f"{user.display_name} <{user.email}>"
    commit = world.make_commit(git, [parent], tree, f"Update {', '.join(sorted(files))}", None, raw, when)
    commit.author_uuid = user.uuid
    git.branches[pr.from_branch] = commit.hash
    for other in repo.pull_requests.values():
        if other.state == "OPEN" and other.from_branch == pr.from_branch:
            other.from_hash = commit.hash
            _touch(other, when)
    return commit.hash


def close(
    world, site: DataCenterSite, repo: DcRepository, pr_id: int, user_slug: str, state: str, when: datetime
) -> DcPullRequest:
    """Merge (a merge commit on the target branch) or decline an open pull request, as `user_slug`."""
    if state not in ("MERGED", "DECLINED"):
        raise WorldError(400, "state must be MERGED or DECLINED")
    pr = site.pull_request(repo, pr_id)
    if pr.state != "OPEN":
        raise DcError(409, "The pull request is not open.", EXC + "pull.IllegalPullRequestStateException")
    user = site.user(user_slug)
    if state == "MERGED":
        git = repo.git
        target = git.branches[pr.to_branch]
        base = world.merge_base(git, pr.from_hash, target)
        tree = merge_trees(
            git.commits[base].tree if base else {}, git.commits[target].tree, git.commits[pr.from_hash].tree
        )
        where = f"{repo.project_key}/{repo.slug}"
        message = f"Merge pull request #{pr.id} in {where} from {pr.from_branch} to {pr.to_branch}"
        raw = f"{user.display_name} <{user.email}>"
        commit = world.make_commit(git, [target, pr.from_hash], tree, message, None, raw, when)
        commit.author_uuid = user.uuid
        git.branches[pr.to_branch] = commit.hash
        pr.merge_commit, pr.to_hash = commit.hash, target
        for other in repo.pull_requests.values():
            if other.state == "OPEN" and other is not pr and other.to_branch == pr.to_branch:
                other.to_hash = commit.hash  # a pull request's target follows its branch
    if user.slug != pr.author.user_slug and all(p.user_slug != user.slug for p in pr.reviewers + pr.participants):
        pr.participants.append(DcParticipant(user.slug, "PARTICIPANT"))
    pr.state, pr.closed = state, when
    _touch(pr, when)
    return pr


def create_pull_request(
    site: DataCenterSite,
    repo: DcRepository,
    *,
    title: str,
    from_branch: str,
    author_slug: str,
    when: datetime,
    to_branch: str | None = None,
    reviewers: list[str] | tuple[str, ...] = (),
    from_commit: str | None = None,
) -> DcPullRequest:
    """A new open pull request from `from_branch` (created at `from_commit`, else its tip, when missing) to
    `to_branch` (the default branch)."""
    git = repo.git
    target = to_branch or git.mainbranch
    if from_branch not in git.branches:
        if from_commit is None:
            raise DcError(404, f"Branch {from_branch} does not exist.", EXC + "repository.NoSuchBranchException")
        git.branches[from_branch] = from_commit
    if target not in git.branches:
        raise DcError(404, f"Branch {target} does not exist.", EXC + "repository.NoSuchBranchException")
    author = site.user(author_slug)
    pr = DcPullRequest(
        id=max(repo.pull_requests, default=0) + 1,
        title=title,
        description="",
        state="OPEN",
        from_branch=from_branch,
        from_hash=git.branches[from_branch],
        to_branch=target,
        to_hash=git.branches[target],
        created=when,
        updated=when,
        author=DcParticipant(author.slug, "AUTHOR"),
        reviewers=[DcParticipant(site.user(r).slug, "REVIEWER") for r in reviewers],
    )
    repo.pull_requests[pr.id] = pr
    return pr
