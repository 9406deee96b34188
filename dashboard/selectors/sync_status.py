"""Sync runs, the hourly budget of the credentials, and the live-updates state, as the viewer may read them."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import OuterRef, Prefetch, Q, Subquery

from bitbucket_sync import webhooks
from bitbucket_sync.ledger import HOURLY_BUDGET, requests_in_window, requests_in_window_by_credential
from bitbucket_sync.models import (
    Credential,
    SyncRun,
    WebhookDelivery,
    WebhookSubscription,
    Workspace,
)
from bitbucket_sync.models.credentials import pick_for_site
from bitbucket_sync.sync.pacing import ManualSync, manual_sync
from bitbucket_sync.webhooks import LiveStatus
from dashboard.selectors.visibility import active_credentials, visible_repositories, visible_workspaces

ACTIVE_RUN_STATES = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING, SyncRun.Status.PAUSED)


@dataclass
class Budget:
    used: int
    total: int = HOURLY_BUDGET

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.total)) if self.total else 0

    @property
    def left(self) -> int:
        return max(0, self.total - self.used)


@dataclass
class WorkspaceSync:
    workspace: Workspace
    runs: list[SyncRun] = field(default_factory=list)
    budget: Budget | None = None
    # Whether the viewer may press "Sync now" (the pacing of manual runs), and from when.
    manual: ManualSync = field(default_factory=lambda: ManualSync(allowed=True))

    @property
    def latest(self) -> SyncRun | None:
        return self.runs[0] if self.runs else None

    @property
    def active(self) -> bool:
        return self.latest is not None and self.latest.status in ACTIVE_RUN_STATES

    @property
    def polling(self) -> bool:
        """Queued and running runs change by the second; a paused one waits for the rate limit and is polled too."""
        return self.active


def workspace_syncs(user, *, workspace: Workspace | None = None, runs: int = 5) -> list[WorkspaceSync]:
    """Each visible workspace with its last runs and its sync credential's use of the hourly budget (3 queries)."""
    workspaces = visible_workspaces(user).order_by("slug")
    if workspace is not None:
        workspaces = workspaces.filter(pk=workspace.pk)
    last_manual = SyncRun.objects.filter(workspace=OuterRef("pk"), trigger=SyncRun.Trigger.MANUAL).order_by(
        "-created_at"
    )
    rows = list(
        workspaces.annotate(last_manual_at=Subquery(last_manual.values("created_at")[:1])).prefetch_related(
            Prefetch(
                "sync_runs",
                queryset=SyncRun.objects.order_by("-created_at", "-pk")[:runs],
                to_attr="recent_runs",
            )
        )
    )
    used = requests_in_window_by_credential({w.sync_credential_id for w in rows if w.sync_credential_id})
    _errors_visible_to(user, [run for w in rows for run in w.recent_runs])
    return [
        WorkspaceSync(
            workspace=w,
            runs=w.recent_runs,
            budget=Budget(used=used.get(w.sync_credential_id, 0)) if w.sync_credential_id else None,
            manual=manual_sync(user=user, last_manual_at=w.last_manual_at),
        )
        for w in rows
    ]


def _errors_visible_to(user, runs: list[SyncRun]) -> None:
    """Set each run's `visible_errors` (those `user` may read) and `hidden_errors` (how many others).

    An error about a repository names it (and Bitbucket's message names its path): it is shown only to users who may
    see that repository. Errors written before they carried a `repository_id` are matched by their `where`, which
    was the repository's full name. One query, and none when no run has an error."""
    ids = {e["repository_id"] for run in runs for e in run.errors if e.get("repository_id") is not None}
    names = {e["where"] for run in runs for e in run.errors if e.get("repository_id") is None and e.get("where")}
    visible_ids: set[int] = set()
    visible_names: set[str] = set()
    if ids or names:
        rows = visible_repositories(user).filter(Q(pk__in=ids) | Q(full_name__in=names)).values_list("pk", "full_name")
        for pk, full_name in rows:
            visible_ids.add(pk)
            visible_names.add(full_name)
    for run in runs:
        shown = []
        for error in run.errors:
            if error.get("repository_id") is not None:
                allowed = error["repository_id"] in visible_ids
            else:
                allowed = not error.get("where") or error["where"] in visible_names
            if allowed:
                shown.append(error)
        run.visible_errors = shown  # type: ignore[attr-defined]
        run.hidden_errors = len(run.errors) - len(shown)  # type: ignore[attr-defined]


def webhook_subscription(workspace: Workspace) -> WebhookSubscription | None:
    return WebhookSubscription.objects.filter(workspace=workspace).first()


def live_status(user, *, workspace: Workspace, subscription: WebhookSubscription | None = None) -> LiveStatus:
    """The live-updates state of `workspace` as `user` may read it: a note naming a repository (or its branch) that
    their credential cannot see comes without the name."""
    status = webhooks.live_status(workspace=workspace, subscription=subscription)
    if status.repository_uuid and not (
        visible_repositories(user, workspace=workspace).filter(bitbucket_uuid=status.repository_uuid).exists()
    ):
        return status.without_names()
    return status


def webhook_deliveries(user, *, workspace: Workspace, limit: int) -> list[WebhookDelivery]:
    """The workspace's latest deliveries that `user` may read: one about a repository their credential cannot see
    (its name, the branches and pull request it carried) is left out."""
    names = visible_repositories(user, workspace=workspace).values("full_name")
    deliveries = WebhookDelivery.objects.filter(workspace=workspace).filter(
        Q(repository_full_name="") | Q(repository_full_name__in=names)
    )
    return list(deliveries.defer("payload")[:limit])


def own_budget(user) -> tuple[Credential | None, Budget | None]:
    """The user's Bitbucket Cloud credential (else their first one) and its use of the hourly budget: Cloud's
    per-user allowance is what a person's clicks and syncs share."""
    credentials = active_credentials(user)
    credential = pick_for_site(credentials, settings.BITBUCKET_API_URL) or next(iter(credentials), None)
    if credential is None:
        return None, None
    return credential, Budget(used=requests_in_window(credential))
