"""The Bitbucket Cloud client: the one place that speaks HTTP and Bitbucket JSON.

    from bitbucket_sync.client import ApiToken, BitbucketClient, RateLimited

    client = BitbucketClient(ApiToken("ada@example.com", token), on_request=record_request)
    for pr in client.iter_pull_requests("acme", "web", updated_after=watermark):
        ...

Modules: ``auth`` (what a client speaks with: ``Auth``), ``errors`` (the exception family), ``records`` (frozen
dataclasses built from JSON), ``http`` (session, accounting, error mapping, pagination), ``paths`` (what may go into a
URL), ``client`` (``BitbucketClient``).

Records share their names with the models they are stored in (``PullRequest``, ``Repository``, ``Account``...), so
they are used qualified everywhere outside the client: ``from bitbucket_sync.client import records``, then
``records.PullRequest``; nothing exports them under their bare names.

Rules the rest of the product can rely on:

* ``iter_*`` methods are generators that follow ``next`` exactly as Bitbucket gives it and raise on any failure (a
  listing never ends early, so a completed iteration is a complete listing: only then may the sync prune).
* Errors: ``BitbucketError`` > ``AuthError`` (> ``AppPasswordRemoved``, ``NotRepositoryAdmin``, ``CommentRefused``),
  ``BadRequest``, ``NotFound``, ``Conflict`` (> ``AlreadyResolved``), ``Gone``, ``RateLimited(retry_after)``,
  ``Unavailable``, ``BitbucketSchemaError``, ``MergePending``. Each has ``message``, ``status``, ``request_id``,
  ``endpoint``; none ever holds a secret.
* Paths, refs and slugs that are, or spell, an empty, ``.`` or ``..`` segment raise ``UnsafePath`` (a
  ``ValueError``, not a Bitbucket error) before any request, and every request's final URL must stay under the
  repository or workspace it names (``paths``: the same check the dashboard's views and forms use).
* The client never sleeps and retries nothing but one immediate repeat of a GET whose connection dropped; backing
  off (``RateLimited``, ``Unavailable``) is the caller's job.
* ``on_request`` receives a ``RequestRecord`` per HTTP request; ``family == "repositories"`` is what counts against
  Bitbucket's hourly ``/2.0/repositories/*`` allowance.

Methods of ``BitbucketClient`` (each docstring names its endpoint):

reads
    get_current_user, iter_user_workspaces, get_user_workspace_permission, iter_user_repository_permissions,
    get_workspace, iter_members, iter_workspace_permissions, iter_projects, iter_repositories, get_repository,
    iter_watchers, iter_branch_restrictions, iter_branches, get_branch, iter_tags, get_effective_branching_model,
    iter_commits, commit_range_page, get_commit, commit_log_page, file_history_page, commit_pull_requests,
    get_merge_base, get_diff, iter_diffstat, get_file, get_file_meta, iter_directory,
    iter_pull_requests (+ iter_pull_request_pages), get_pull_request, iter_default_reviewers, get_pull_request_diff,
    iter_pull_request_diffstat, pull_request_conflicts, iter_pull_request_commits, iter_pull_request_activity,
    iter_pull_request_comments,
    get_pull_request_comment, iter_pull_request_statuses, iter_commit_statuses, iter_pull_request_tasks,
    iter_commit_reports, iter_report_annotations, iter_webhooks
writes
    create_branch, delete_branch, create_tag, delete_tag,
    commit_files, create_pull_request, update_pull_request, approve, unapprove,
    request_changes, remove_request_changes, decline_pull_request, comment_pull_request, update_pull_request_comment,
    publish_pull_request_comment, delete_pull_request_comment, resolve_pull_request_comment,
    reopen_pull_request_comment, create_pull_request_task, update_pull_request_task, merge_pull_request
    (+ wait_for_merge), create_webhook, delete_webhook

Bitbucket Data Center: ``DataCenterClient`` (``datacenter/``) keeps every rule above with the same method names,
signatures and records wherever the concept is the same (workspace = project key, personal ``~user`` included);
``BasicAuth`` (username + password or personal token) is its Basic credential, ``AccessToken`` its Bearer one.
Its reads: get_current_user (``X-AUSERNAME``), iter_user_workspaces, get_workspace, iter_members,
iter_workspace_permissions, iter_projects, iter_repositories, get_repository, get_default_branch, iter_branches,
get_branch, iter_tags, iter_commits, commit_range_page, get_commit, get_merge_base, get_diff, get_file,
iter_directory, iter_pull_requests (+ iter_pull_request_pages), get_pull_request, get_pull_request_diff,
pull_request_conflicts, iter_pull_request_commits, iter_pull_request_activity, iter_pull_request_comments,
get_pull_request_comment, iter_pull_request_tasks (blocker comments). Every request takes a token from Data
Center's per-user bucket, so all are charged to ``family == "repositories"``.
``credentials.clients.client_class_for(api_url)`` picks the class by site.
"""

from . import records
from .auth import AccessToken, ApiToken, AppPassword, Auth, BasicAuth
from .client import ALL_STATES, DEFAULT_BASE_URL, MERGE_STRATEGIES, BitbucketClient
from .datacenter import DataCenterClient
from .errors import (
    AlreadyResolved,
    AppPasswordRemoved,
    AuthError,
    BadRequest,
    BitbucketError,
    BitbucketSchemaError,
    CommentRefused,
    Conflict,
    Gone,
    MergePending,
    NotFound,
    NotRepositoryAdmin,
    RateLimited,
    Unavailable,
    Unsupported,
)
from .http import RequestRecord, endpoint_family
from .paths import UnsafePath, name_problem, path_problem, ref_problem

__all__ = [
    "ALL_STATES",
    "DEFAULT_BASE_URL",
    "MERGE_STRATEGIES",
    "AccessToken",
    "AlreadyResolved",
    "ApiToken",
    "AppPassword",
    "AppPasswordRemoved",
    "Auth",
    "AuthError",
    "BadRequest",
    "BasicAuth",
    "BitbucketClient",
    "BitbucketError",
    "BitbucketSchemaError",
    "CommentRefused",
    "Conflict",
    "DataCenterClient",
    "Gone",
    "MergePending",
    "NotFound",
    "NotRepositoryAdmin",
    "RateLimited",
    "RequestRecord",
    "Unavailable",
    "UnsafePath",
    "Unsupported",
    "endpoint_family",
    "name_problem",
    "path_problem",
    "records",
    "ref_problem",
]
