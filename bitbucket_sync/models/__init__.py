"""The mirror of Bitbucket and what bbdash keeps about it: one module per area, all importable from here."""

from bitbucket_sync.models.access import RepositoryAccess, WorkspaceAccess
from bitbucket_sync.models.audit import ActionReceipt, AuditEvent
from bitbucket_sync.models.checks import BranchRestriction, BuildStatus
from bitbucket_sync.models.credentials import Credential
from bitbucket_sync.models.mirror import (
    Account,
    Branch,
    Participant,
    Project,
    PullRequest,
    Repository,
    RepositoryWatcher,
    Workspace,
    WorkspaceMembership,
)
from bitbucket_sync.models.review_marks import ViewedFile
from bitbucket_sync.models.runs import RequestLedgerEntry, SyncRun
from bitbucket_sync.models.saved_views import SavedView
from bitbucket_sync.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "Account",
    "ActionReceipt",
    "AuditEvent",
    "Branch",
    "BranchRestriction",
    "BuildStatus",
    "Credential",
    "Participant",
    "Project",
    "PullRequest",
    "Repository",
    "RepositoryAccess",
    "RepositoryWatcher",
    "RequestLedgerEntry",
    "SavedView",
    "SyncRun",
    "ViewedFile",
    "WebhookDelivery",
    "WebhookSubscription",
    "Workspace",
    "WorkspaceAccess",
    "WorkspaceMembership",
]
