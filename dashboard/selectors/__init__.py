"""Every read a page needs, and who may see what: one module per area, all importable from here.

    from dashboard import selectors
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)  # 404 unless visible

Modules: ``visibility`` (the user's credential and account, the ``*_for_user`` look-ups that raise Http404 for what
their credential cannot see), ``pagination`` (``window``: a page without a COUNT), ``staleness`` (is a workspace's
mirror stale, since when and why), ``workspaces`` (the home page), ``repositories``, ``pull_requests`` (the inbox),
``attention`` (whose turn, across workspaces), ``people``, ``sync_status`` (runs, budgets, live updates,
deliveries), ``changes`` (the token the "changed since" poll compares), ``credentials`` (the credential pages and the
audit log), ``receipts`` (what a repeated action form answers), ``source`` (live Bitbucket reads, made through
``bitbucket_sync.browse``, turned into pages) and ``shared`` (query pieces several areas use).

A page and each of its fragments answer the same, because visibility is decided here, never in a template. List
selectors run a fixed number of queries whatever the number of rows: related rows are joined or prefetched, counts
are correlated subqueries.

``commits`` (the commit log, a commit, a file's history: live reads joined with the mirror; views import the module).

``suggestions``: what the type-ahead pickers offer (people, repositories, branches, always in the viewer's scope) and
the person a typed name means.

``readiness``: may a pull request merge (the PR page's panel and Merge note) and each reviewer's review state.
"""

from bitbucket_sync.browse import LiveReadError
from dashboard.selectors.attention import (
    attention_counts,
    attention_filter_choices,
    attention_page,
    attention_rows,
    saved_views,
)
from dashboard.selectors.attention import scope_for as attention_scope
from dashboard.selectors.attention import tab_explanations as attention_tab_explanations
from dashboard.selectors.changes import mirror_version, mirror_version_everywhere
from dashboard.selectors.credentials import (
    CredentialRow,
    audit_actions,
    audit_events,
    credential_by_id,
    credential_rows,
    credential_summary,
    live_workspace_by_id,
    user_by_id,
    workspaces_with_sync_credential,
)
from dashboard.selectors.pagination import MAX_PAGE, PAGE_SIZE, Window, page_number, window
from dashboard.selectors.people import member_page, person_profile, reviewer_candidates
from dashboard.selectors.pull_requests import (
    PULL_REQUEST_SORTS,
    TABS,
    pull_request_filter_choices,
    pull_request_page,
    pull_requests_filtered,
)
from dashboard.selectors.readiness import Readiness, ReviewState, pull_request_readiness, review_state
from dashboard.selectors.receipts import completed_receipt, merge_receipt
from dashboard.selectors.repositories import (
    REPOSITORY_SORTS,
    branch_names,
    branch_page,
    repository_filter_choices,
    repository_page,
    repository_summary,
    watcher_page,
)
from dashboard.selectors.source import (
    Source,
    SourceLocation,
    browse_client,
    pull_request_commits,
    pull_request_discussion,
    refresh_pull_request_conflicts,
    source_at,
    split_ref_and_path,
)
from dashboard.selectors.staleness import Freshness, freshness, freshness_of, stale_workspaces
from dashboard.selectors.sync_status import (
    ACTIVE_RUN_STATES,
    Budget,
    WorkspaceSync,
    live_status,
    own_budget,
    webhook_deliveries,
    webhook_subscription,
    workspace_syncs,
)
from dashboard.selectors.visibility import (
    account_for_user,
    accounts_for_user,
    active_credential,
    active_credentials,
    person_for_user,
    pull_request_for_user,
    repository_for_user,
    visible_pull_requests,
    visible_repositories,
    visible_repository_ids,
    visible_workspaces,
    visible_workspaces_by_slug,
    workspace_for_user,
)
from dashboard.selectors.workspaces import workspaces_with_counts

__all__ = [
    "ACTIVE_RUN_STATES",
    "MAX_PAGE",
    "PAGE_SIZE",
    "PULL_REQUEST_SORTS",
    "REPOSITORY_SORTS",
    "TABS",
    "Budget",
    "CredentialRow",
    "Freshness",
    "LiveReadError",
    "Readiness",
    "ReviewState",
    "Source",
    "SourceLocation",
    "Window",
    "WorkspaceSync",
    "account_for_user",
    "accounts_for_user",
    "active_credential",
    "active_credentials",
    "attention_counts",
    "attention_filter_choices",
    "attention_page",
    "attention_rows",
    "attention_scope",
    "attention_tab_explanations",
    "audit_actions",
    "audit_events",
    "branch_names",
    "branch_page",
    "browse_client",
    "completed_receipt",
    "credential_by_id",
    "credential_rows",
    "credential_summary",
    "freshness",
    "freshness_of",
    "live_status",
    "live_workspace_by_id",
    "member_page",
    "merge_receipt",
    "mirror_version",
    "mirror_version_everywhere",
    "own_budget",
    "page_number",
    "person_for_user",
    "person_profile",
    "pull_request_commits",
    "pull_request_discussion",
    "pull_request_filter_choices",
    "pull_request_for_user",
    "pull_request_page",
    "pull_request_readiness",
    "pull_requests_filtered",
    "refresh_pull_request_conflicts",
    "repository_filter_choices",
    "repository_for_user",
    "repository_page",
    "repository_summary",
    "review_state",
    "reviewer_candidates",
    "saved_views",
    "source_at",
    "split_ref_and_path",
    "stale_workspaces",
    "user_by_id",
    "visible_pull_requests",
    "visible_repositories",
    "visible_repository_ids",
    "visible_workspaces",
    "visible_workspaces_by_slug",
    "watcher_page",
    "webhook_deliveries",
    "webhook_subscription",
    "window",
    "workspace_for_user",
    "workspace_syncs",
    "workspaces_with_counts",
    "workspaces_with_sync_credential",
]
