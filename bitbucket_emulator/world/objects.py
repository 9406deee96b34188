"""The emulated world's objects: accounts, tokens, workspaces, projects, repositories with commits, pull requests.

Plain dataclasses; the rules that change them live in `state.World`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import ids
from .merge import Tree

PERMISSION_RANK = {"none": 0, "read": 1, "write": 2, "admin": 3}
PR_STATES = ("OPEN", "MERGED", "DECLINED", "SUPERSEDED")
STATUS_STATES = ("SUCCESSFUL", "FAILED", "INPROGRESS", "STOPPED")
MERGE_STRATEGIES = [
    "merge_commit",
    "squash",
    "fast_forward",
    "squash_fast_forward",
    "rebase_fast_forward",
    "rebase_merge",
]

# Every new-style (API token) scope the emulator knows; seeded API tokens get all of them unless a seed says otherwise.
ALL_API_SCOPES = [
    "read:user:bitbucket",
    "read:workspace:bitbucket",
    "read:project:bitbucket",
    "read:repository:bitbucket",
    "write:repository:bitbucket",
    "admin:repository:bitbucket",
    "delete:repository:bitbucket",
    "read:pullrequest:bitbucket",
    "write:pullrequest:bitbucket",
    "read:webhook:bitbucket",
    "write:webhook:bitbucket",
    "delete:webhook:bitbucket",
]
ALL_LEGACY_SCOPES = [
    "account",
    "email",
    "project",
    "repository",
    "repository:write",
    "repository:admin",
    "repository:delete",
    "pullrequest",
    "pullrequest:write",
    "webhook",
]

# The event keys a webhook subscription may name: the world emits some of them (World.emit); the others are
# accepted in a subscription and never sent.
HOOK_EVENTS = {
    "repo:push",
    "repo:fork",
    "repo:updated",
    "repo:created",
    "repo:deleted",
    "repo:imported",
    "repo:transfer",
    "repo:commit_comment_created",
    "repo:commit_status_created",
    "repo:commit_status_updated",
    "pullrequest:created",
    "pullrequest:updated",
    "pullrequest:push",
    "pullrequest:approved",
    "pullrequest:unapproved",
    "pullrequest:changes_request_created",
    "pullrequest:changes_request_removed",
    "pullrequest:fulfilled",
    "pullrequest:rejected",
    "pullrequest:comment_created",
    "pullrequest:comment_updated",
    "pullrequest:comment_deleted",
    "pullrequest:comment_resolved",
    "pullrequest:comment_reopened",
    "project:updated",
}


class WorldError(Exception):
    """A rule of the world was broken; the HTTP layer turns it into Bitbucket's error answer."""

    def __init__(
        self,
        status: int,
        message: str,
        detail: str | None = None,
        fields: dict | None = None,
        data: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.fields = fields
        self.data = data


@dataclass
class User:
    uuid: str
    account_id: str
    username: str
    display_name: str
    email: str
    api_token: str
    app_password: str
    created_on: datetime
    api_token_scopes: list[str] = field(default_factory=lambda: list(ALL_API_SCOPES))
    app_password_scopes: list[str] = field(default_factory=lambda: list(ALL_LEGACY_SCOPES))

    @property
    def nickname(self) -> str:
        return self.username


@dataclass
class AccessToken:
    token: str
    name: str
    uuid: str
    scope_kind: str  # workspace | project | repository
    workspace_uuid: str
    project_key: str | None
    repository_uuid: str | None
    scopes: list[str]
    created_on: datetime

    @property
    def account_id(self) -> str:
        return ids.account_id_for(self.uuid)


@dataclass
class Project:
    uuid: str
    key: str
    name: str
    description: str
    is_private: bool
    created_on: datetime
    updated_on: datetime
    default_reviewers: list[str] = field(default_factory=list)  # user uuids, for every repository in the project


@dataclass
class Hook:
    uuid: str
    subject_type: str  # workspace | repository
    subject_uuid: str
    url: str
    description: str
    active: bool
    events: list[str]
    secret: str | None
    created_at: datetime


@dataclass
class Workspace:
    uuid: str
    slug: str
    name: str
    is_private: bool
    created_on: datetime
    updated_on: datetime
    members: dict[str, str] = field(default_factory=dict)  # user uuid -> owner | collaborator | member
    member_since: dict[str, datetime] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    hooks: list[Hook] = field(default_factory=list)


@dataclass
class Commit:
    hash: str
    parents: list[str]
    tree: Tree
    message: str
    author_raw: str
    author_uuid: str | None
    date: datetime


@dataclass
class Participant:
    user_uuid: str
    role: str  # REVIEWER | PARTICIPANT
    approved: bool = False
    state: str | None = None  # approved | changes_requested | None
    participated_on: datetime | None = None


@dataclass
class Comment:
    id: int
    user_uuid: str
    raw: str
    created_on: datetime
    updated_on: datetime
    parent_id: int | None = None
    inline: dict | None = None
    deleted: bool = False
    pending: bool = False  # a draft of a review: visible to its author only, no activity or webhook until published
    resolved_by: str | None = None
    resolved_on: datetime | None = None
    src_rev: str | None = None  # the PR's source and destination tips when the comment was made
    dest_rev: str | None = None


@dataclass
class PullRequest:
    id: int
    title: str
    description: str
    state: str
    draft: bool
    author_uuid: str
    source_branch: str
    source_hash: str
    dest_branch: str
    dest_hash: str
    created_on: datetime
    updated_on: datetime
    close_source_branch: bool = False
    closed_by: str | None = None
    closed_on: datetime | None = None
    merge_commit: str | None = None
    reason: str = ""
    reviewers: list[str] = field(default_factory=list)
    participants: dict[str, Participant] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    activity: list[dict] = field(default_factory=list)
    tasks: list = field(default_factory=list)  # of tasks.Task (that module builds on this one)
    rev: int = 0  # bumped on every change; keys the serialisation cache


@dataclass
class BranchRestriction:
    """A branch permission or merge check of a repository (restrictions.py holds what they do)."""

    id: int
    kind: str
    branch_match_kind: str = "glob"  # glob | branching_model
    pattern: str = ""
    branch_type: str | None = None
    value: int | None = None
    users: list[str] = field(default_factory=list)  # account uuids
    groups: list[str] = field(default_factory=list)  # group slugs


@dataclass
class CommitStatus:
    """A build status of a commit (Bitbucket's `commitstatus`, type "build"); the rules are in statuses.py."""

    key: str
    state: str  # one of STATUS_STATES
    commit: str  # the full hash
    name: str = ""
    description: str = ""
    url: str = ""
    refname: str | None = None  # a bare branch name on Cloud, or None
    created_on: datetime | None = None
    updated_on: datetime | None = None


@dataclass
class Repository:
    uuid: str
    workspace_uuid: str
    slug: str
    name: str
    description: str
    is_private: bool
    project_key: str | None
    language: str
    created_on: datetime
    updated_on: datetime
    mainbranch: str = "main"
    fork_policy: str = "no_public_forks"
    website: str = ""
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # An annotated tag's object: message, date (ISO text), tagger_raw, tagger_uuid; tags without one are lightweight.
    tag_objects: dict[str, dict] = field(default_factory=dict)
    # The branching model's settings as stored (branching.py reads them with Bitbucket's defaults); None: never set.
    branching_model: dict | None = None
    commits: dict[str, Commit] = field(default_factory=dict)
    pullrequests: dict[int, PullRequest] = field(default_factory=dict)
    next_pr_id: int = 1
    watchers: list[str] = field(default_factory=list)
    permissions: dict[str, str] = field(default_factory=dict)  # user uuid -> read | write | admin (explicit)
    hooks: list[Hook] = field(default_factory=list)
    default_reviewers: list[str] = field(default_factory=list)  # user uuids set on the repository itself
    restrictions: list[BranchRestriction] = field(default_factory=list)
    statuses: dict[str, dict[str, CommitStatus]] = field(default_factory=dict)  # commit hash -> key -> status
    reports: dict[str, list] = field(default_factory=dict)  # commit hash -> insights.Report, oldest first
    next_task_id: int = 1
    rev: int = 0


@dataclass
class MergeTask:
    id: str
    repository_uuid: str
    pr_id: int
    status: str = "PENDING"
    error: WorldError | None = None
