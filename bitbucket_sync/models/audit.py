"""The audit log: every write to Bitbucket and every credential change, who did it and what came of it."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    class Result(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    # e.g. "branch.create", "file.commit", "pull_request.merge", "credential.add", "credential.rotate"
    action = models.CharField(max_length=64, db_index=True)
    # Whose credential the action concerned (credential events) or used.
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credential_kind = models.CharField(max_length=32, blank=True)
    workspace_slug = models.CharField(max_length=255, blank=True)
    repository_full_name = models.CharField(max_length=511, blank=True)
    target = models.CharField(max_length=511, blank=True, help_text="what was acted on: a branch, path or PR number")
    result = models.CharField(max_length=16, choices=Result.choices)
    request_id = models.CharField(max_length=128, blank=True, help_text="Bitbucket's request id, when it gave one")
    message = models.TextField(blank=True, help_text="the outcome in plain words; never a secret")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["actor", "-at"], name="audit_actor_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.result}"


class ActionReceipt(models.Model):
    """A used idempotency key: each action form carries a fresh key, so a double submit returns the first result
    instead of acting on Bitbucket twice. Claimed (inserted) before the action runs; the unique key is the lock."""

    key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)  # pruned after a day
    # Where the first submit's result is shown; empty while the action is still running.
    result_url = models.CharField(max_length=1000, blank=True)
    # A merge Bitbucket accepted with 202: its task-status URL, polled until the merge ends.
    task_url = models.CharField(max_length=1000, blank=True)
    # The pull request a merge's key was claimed for: its status is polled only through that pull request's URL.
    pull_request = models.ForeignKey(
        "bitbucket_sync.PullRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.action} {self.key}"
