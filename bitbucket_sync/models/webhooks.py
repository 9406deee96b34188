"""Live updates: one workspace-level Bitbucket webhook per workspace, and the deliveries it brought.

The subscription's secret signs every delivery (HMAC-SHA256); it is encrypted at rest like a credential and never
shown. Deliveries are kept per workspace up to `BBDASH_WEBHOOK_LOG_SIZE` (the delivery log), unique on Bitbucket's
`X-Request-UUID` so a redelivery is recognised and applied once.
"""

from django.conf import settings
from django.db import models

from bitbucket_sync.credentials import encryption


class WebhookSubscription(models.Model):
    class Status(models.TextChoices):
        OFF = "off", "Off"
        ACTIVE = "active", "Active"
        MISSING = "missing", "Missing on Bitbucket"
        ERROR = "error", "Error"

    workspace = models.OneToOneField(
        "bitbucket_sync.Workspace", on_delete=models.CASCADE, related_name="webhook_subscription"
    )
    # What a staff user asked for; `status` says what Bitbucket has.
    enabled = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFF)
    hook_uuid = models.CharField(max_length=64, blank=True, help_text="Bitbucket's uuid of the subscription")
    url = models.URLField(max_length=500, blank=True)
    events = models.JSONField(default=list, blank=True)
    secret_encrypted = models.TextField(blank=True, editable=False)
    last_error = models.TextField(blank=True)
    enabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enabled_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, help_text="last time Bitbucket was asked about it")
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    # A delivery showed that earlier ones were lost (a push whose old tip is not the mirror's, an event for an unknown
    # pull request or repository): polling is back to normal until a sync that started later has finished.
    gap_detected_at = models.DateTimeField(null=True, blank=True)
    gap_reason = models.CharField(max_length=255, blank=True)
    # The repository (Bitbucket uuid) the reason names, if any: only people who may see it read the reason.
    gap_repository_uuid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"live updates for {self.workspace} ({self.status})"

    def __repr__(self) -> str:
        return f"<WebhookSubscription {self.pk} workspace={self.workspace_id} {self.status} hook={self.hook_uuid}>"

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = encryption.encrypt(secret)

    def get_secret(self) -> str:
        return encryption.decrypt(self.secret_encrypted) if self.secret_encrypted else ""


class WebhookDelivery(models.Model):
    class Result(models.TextChoices):
        QUEUED = "queued", "Queued"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    workspace = models.ForeignKey("bitbucket_sync.Workspace", on_delete=models.CASCADE, related_name="deliveries")
    request_uuid = models.CharField(max_length=64)
    hook_uuid = models.CharField(max_length=64, blank=True)
    event = models.CharField(max_length=64)
    attempt = models.PositiveSmallIntegerField(default=1)
    # Bitbucket sent the same X-Request-UUID again after this row was recorded (answered, not applied again).
    redeliveries = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.QUEUED)
    message = models.TextField(blank=True, help_text="what applying it did, in plain words")
    repository_full_name = models.CharField(max_length=511, blank=True)
    target = models.CharField(max_length=511, blank=True, help_text="the pull request or branches it named")
    body_size = models.PositiveIntegerField(default=0)
    # The parsed body until it is applied; cleared afterwards so the log stays small.
    payload = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "request_uuid"], name="webhook_delivery_once"),
        ]
        indexes = [models.Index(fields=["workspace", "-received_at"], name="webhook_delivery_ws_received")]

    def __str__(self) -> str:
        return f"{self.event} {self.request_uuid} ({self.result})"

    @property
    def latency_ms(self) -> int | None:
        """From receipt to the mirror row written."""
        if self.applied_at is None:
            return None
        return max(0, round((self.applied_at - self.received_at).total_seconds() * 1000))
