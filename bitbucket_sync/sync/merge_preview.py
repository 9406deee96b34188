"""After a sync: read the merge preview of the open pull requests whose tips moved (or were never read), with the
workspace's sync credential, for as long as its budget stays above the reserve people's clicks need.

Each read is two requests (the pull request's diffstat redirects to the repository's), so this pass stops as soon as
``engine.budget_wait`` says the periodic share of the hour is spent, and leaves the rest for the next pass. A pull
request whose tips did not move is never read again: a sync where nothing moved makes no request here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bitbucket_sync import conflicts
from bitbucket_sync.client import BitbucketClient
from bitbucket_sync.models import Credential, PullRequest, Workspace
from bitbucket_sync.sync import engine

log = logging.getLogger("bitbucket_sync.sync")


@dataclass
class Outcome:
    checked: int = 0
    conflicted: int = 0
    # Pull requests left for a later pass because the budget reached the reserve.
    deferred: int = 0


def check_moved_pull_requests(*, workspace: Workspace, client: BitbucketClient, credential: Credential) -> Outcome:
    """Read the merge preview of each open pull request of the workspace whose pair of tips is unread, newest first,
    while ``credential``'s budget allows periodic requests."""
    due = list(
        conflicts.unchecked(PullRequest.objects.filter(workspace=workspace, repository__removed_at__isnull=True))
        .select_related("repository__workspace")
        .order_by("-updated_on")
    )
    outcome = Outcome()
    for index, pull_request in enumerate(due):
        if engine.budget_wait(credential) is not None:
            outcome.deferred = len(due) - index
            log.info("%s: %d merge previews left for later (budget reserve)", workspace.key, outcome.deferred)
            break
        state = conflicts.check_conflicts(pull_request, client)
        outcome.checked += 1
        outcome.conflicted += state == conflicts.CONFLICTED
    return outcome
