"""Sync runs (what each sync did, live) and the request ledger (every Bitbucket request, per credential)."""

from django.conf import settings
from django.db import models


class SyncRun(models.Model):
    class Kind(models.TextChoices):
        INCREMENTAL = "incremental"
        FULL = "full"
        ACCESS = "access", "User access"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        PAUSED = "paused", "Paused (rate limit or budget)"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped", "Skipped (another sync was running)"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual", "Sync now"
        COMMAND = "command"
        WEBHOOK = "webhook"

    workspace = models.ForeignKey(
        "bitbucket_sync.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="sync_runs"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credential = models.ForeignKey(
        "bitbucket_sync.Credential", null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_runs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    repositories_total = models.PositiveIntegerField(default=0)
    repositories_done = models.PositiveIntegerField(default=0)
    requests_made = models.PositiveIntegerField(default=0)
    # Counted apart: waiting is Bitbucket (or the budget) asking for time, retrying is Bitbucket failing; each has
    # its own bound in the tasks, so many pauses never use up the retries a failure gets.
    rate_limit_pauses = models.PositiveIntegerField(default=0, help_text="pauses for a 429 or the hourly budget")
    failure_retries = models.PositiveIntegerField(default=0, help_text="retries after Bitbucket was unavailable")
    # {"pull_requests": {"created": 3, "updated": 1, "removed": 0}, ...}
    stats = models.JSONField(default=dict, blank=True)
    # [{"at": iso, "where": "acme/api", "repository_id": 7, "message": "..."}], in plain words for the sync page,
    # which shows an error only to people who may see its repository.
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="syncrun_ws_created"),
            # `stalled_runs` (every minute) and `request_sync` look for active runs among thousands of finished ones.
            models.Index(
                fields=["status"],
                name="syncrun_active",
                condition=models.Q(status__in=["queued", "running", "paused"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} sync of {self.workspace} ({self.status})"


class RequestLedgerEntry(models.Model):
    """One request made to Bitbucket with a credential: the budget (about 1,000 per hour) is counted from these."""

    credential = models.ForeignKey("bitbucket_sync.Credential", on_delete=models.CASCADE, related_name="ledger_entries")
    at = models.DateTimeField(db_index=True)
    method = models.CharField(max_length=8)
    family = models.CharField(max_length=32)
    path = models.CharField(max_length=1000)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    elapsed_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=128, blank=True)
    purpose = models.CharField(max_length=16, default="sync")  # sync | action | check | webhook
    rate_limit = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["credential", "-at"], name="ledger_credential_at"),
            # The budget counts and the credentials page read one credential's family within the last hour.
            models.Index(fields=["credential", "family", "at"], name="ledger_credential_family_at"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"
