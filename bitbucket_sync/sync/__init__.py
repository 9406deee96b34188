"""The sync engine: Bitbucket records -> mirror rows.

``upserts`` turns records into rows (what actions and webhooks call after a write or a delivery); the services that
list Bitbucket and prune only after a complete listing come with the rest of the engine.
"""

from bitbucket_sync.sync.upserts import (
    Counts,
    Stats,
    mark_branch_removed,
    upsert_account,
    upsert_branch,
    upsert_pull_request,
    upsert_repository,
    upsert_workspace,
)

__all__ = [
    "Counts",
    "Stats",
    "mark_branch_removed",
    "upsert_account",
    "upsert_branch",
    "upsert_pull_request",
    "upsert_repository",
    "upsert_workspace",
]
