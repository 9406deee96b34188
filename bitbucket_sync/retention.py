"""Retention: the tables that grow with every request, run, action and delivery are pruned on a schedule.

Beat runs ``tasks.prune_history`` hourly; ``prune_history()`` here is the same work for a shell or a test. Each kind
is deleted in batches of ``BATCH`` rows, at most ``MAX_BATCHES`` per call, so one call is short and holds no long
lock; a backlog (a first run on an old install) is worked off over the next calls. Running it twice changes nothing.

| table | kept |
| --- | --- |
| request ledger | ``BBDASH_LEDGER_DAYS`` days (the budget needs one hour; the rest is history) |
| sync runs | the newest ``SYNC_RUNS_KEPT`` finished runs per workspace; active runs are never pruned |
| action receipts | ``RECEIPT_HOURS`` hours (a double submit comes within seconds) |
| webhook deliveries | ``BBDASH_WEBHOOK_LOG_SIZE`` per workspace, as each delivery is applied |
| comment drafts | ``DRAFT_DAYS`` days since last typed in (text nobody came back to) |
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from bitbucket_sync import webhooks
from bitbucket_sync.models import ActionReceipt, CommentDraft, RequestLedgerEntry, SyncRun, WebhookDelivery
from bitbucket_sync.sync.engine import ACTIVE

BATCH = 1000
MAX_BATCHES = 50
SYNC_RUNS_KEPT = 100
RECEIPT_HOURS = 24
DRAFT_DAYS = 30


def delete_in_batches(queryset: QuerySet, *, batch: int = BATCH, max_batches: int = MAX_BATCHES) -> int:
    """Delete the rows of `queryset`, `batch` primary keys at a time and at most `max_batches` times."""
    model = queryset.model
    deleted = 0
    for _ in range(max_batches):
        pks = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
        if not pks:
            break
        _, per_model = model.objects.filter(pk__in=pks).delete()
        deleted += per_model.get(model._meta.label, 0)
        if len(pks) < batch:
            break
    return deleted


def prune_ledger(*, days: int | None = None, max_batches: int = MAX_BATCHES) -> int:
    """Ledger entries older than ``BBDASH_LEDGER_DAYS``."""
    days = settings.BBDASH_LEDGER_DAYS if days is None else days
    old = RequestLedgerEntry.objects.filter(at__lt=timezone.now() - timedelta(days=days))
    return delete_in_batches(old, max_batches=max_batches)


def prune_sync_runs(*, keep: int = SYNC_RUNS_KEPT, max_batches: int = MAX_BATCHES) -> int:
    """Finished runs beyond the newest `keep` of each workspace (a queued, running or paused run always stays)."""
    finished = SyncRun.objects.exclude(status__in=ACTIVE)
    crowded = (
        finished.filter(workspace__isnull=False)
        .values("workspace_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=keep)
        .order_by()
        .values_list("workspace_id", flat=True)
    )
    deleted = 0
    for workspace_id in list(crowded):
        runs = finished.filter(workspace_id=workspace_id)
        newest_dropped = runs.order_by("-created_at", "-pk").values_list("created_at", "pk")[keep : keep + 1]
        row = list(newest_dropped)
        if not row:
            continue
        created_at, pk = row[0]
        older = runs.filter(created_at__lte=created_at).exclude(created_at=created_at, pk__gt=pk)
        deleted += delete_in_batches(older, max_batches=max_batches)
    return deleted


def prune_action_receipts(*, hours: int = RECEIPT_HOURS, max_batches: int = MAX_BATCHES) -> int:
    """Idempotency keys older than `hours`: a form submitted twice is submitted within seconds, not days."""
    old = ActionReceipt.objects.filter(created_at__lt=timezone.now() - timedelta(hours=hours))
    return delete_in_batches(old, max_batches=max_batches)


def prune_comment_drafts(*, days: int = DRAFT_DAYS, max_batches: int = MAX_BATCHES) -> int:
    """Comment text not typed in for `days`: its pull request has long moved on, and it is only ever the user's."""
    old = CommentDraft.objects.filter(updated_at__lt=timezone.now() - timedelta(days=days))
    return delete_in_batches(old, max_batches=max_batches)


def prune_webhook_deliveries() -> int:
    """The delivery log of each workspace down to its size (normally done as each delivery is applied)."""
    workspace_ids = WebhookDelivery.objects.order_by().values_list("workspace_id", flat=True).distinct()
    return sum(webhooks.prune_deliveries(workspace_id=workspace_id) for workspace_id in list(workspace_ids))


def prune_history() -> dict[str, int]:
    """Every kind, once; returns how many rows of each were deleted."""
    return {
        "ledger_entries": prune_ledger(),
        "sync_runs": prune_sync_runs(),
        "action_receipts": prune_action_receipts(),
        "webhook_deliveries": prune_webhook_deliveries(),
        "comment_drafts": prune_comment_drafts(),
    }
