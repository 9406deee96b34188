"""The sync engine: Bitbucket records -> mirror rows.

* ``upserts``: records -> rows, keyed by Bitbucket identity (what actions and webhooks call after a write or a
  delivery: ``upsert_pull_request``, ``upsert_branch``, ``mark_branch_removed``, ``upsert_repository``...).
* ``engine``: the services of a sync run (listings, per-repository sync, pruning after complete listings, progress,
  pauses for 429s and the hourly budget), and ``run_inline`` to do a whole run in one process.
* ``statuses``: open pull requests' build statuses, read on their own cadence (``sync_statuses``), stored from a
  complete listing (``store_statuses``) or one webhook delivery (``apply_status``).
* ``policy``: what a step does after a failure (retry after N seconds, pause until a time, or fail), for the Celery
  tasks (``bitbucket_sync.tasks``, which also queue runs) and ``run_inline`` alike.
* ``pacing``: "Sync now", at most one manual run of a workspace every ``BBDASH_MANUAL_SYNC_MINUTES``.
* ``tags``: tags into the mirror, listed with the branches (``sync_tags``; ``upsert_tag``, ``mark_tag_removed`` for
  actions).
* ``access``: each user's workspace and repository access, read with their own credential.
* ``locks``: the per-workspace lock (a conditional UPDATE with an expiry).
* ``merge_preview``: after a run, the merge previews (conflicts) of the open pull requests whose tips moved, within
  the budget reserve (``bitbucket_sync.conflicts`` reads and stores one).
"""

from bitbucket_sync.sync.access import discover_workspaces, sync_user_access
from bitbucket_sync.sync.engine import (
    NoSyncCredential,
    begin_run,
    budget_wait,
    finish_repository,
    finish_run,
    run_inline,
    sync_branches,
    sync_pull_requests,
    sync_repository,
    sync_restrictions,
    sync_watchers,
    sync_workspace_listing,
)
from bitbucket_sync.sync.policy import SyncPaused
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
    "NoSyncCredential",
    "Stats",
    "SyncPaused",
    "begin_run",
    "budget_wait",
    "discover_workspaces",
    "finish_repository",
    "finish_run",
    "mark_branch_removed",
    "run_inline",
    "sync_branches",
    "sync_pull_requests",
    "sync_repository",
    "sync_restrictions",
    "sync_user_access",
    "sync_watchers",
    "sync_workspace_listing",
    "upsert_account",
    "upsert_branch",
    "upsert_pull_request",
    "upsert_repository",
    "upsert_workspace",
]
