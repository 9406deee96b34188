"""What decides whether a pull request may merge, as synced: its build statuses and its repository's merge rules."""

from __future__ import annotations

from django.db import models


class BuildStatus(models.Model):
    """One build status (Bitbucket's commit status, by key) of a pull request's source commit.

    Kept per pull request rather than per commit: the PR page and the inbox need the statuses of the current source
    commit only, and a status change does not move the PR's `updated_on`, so the sync reads them on their own cadence.
    """

    class State(models.TextChoices):
        SUCCESSFUL = "SUCCESSFUL"
        FAILED = "FAILED"
        INPROGRESS = "INPROGRESS", "In progress"
        STOPPED = "STOPPED"

    pull_request = models.ForeignKey("bitbucket_sync.PullRequest", on_delete=models.CASCADE, related_name="statuses")
    key = models.CharField(max_length=255)
    state = models.CharField(max_length=16, choices=State.choices)
    name = models.CharField(max_length=1000, blank=True)
    description = models.TextField(blank=True)
    url = models.TextField(blank=True, help_text="as Bitbucket gives it; shown only when it is http(s)")
    refname = models.CharField(max_length=255, blank=True)
    commit_hash = models.CharField(max_length=40, blank=True)
    created_on = models.DateTimeField(null=True, blank=True)
    updated_on = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["pull_request", "key"], name="build_status_key")]

    def __str__(self) -> str:
        return f"{self.key}: {self.state}"


class BranchRestriction(models.Model):
    """A branch restriction (branch permission or merge check) of a repository, as its admin sees it."""

    repository = models.ForeignKey(
        "bitbucket_sync.Repository", on_delete=models.CASCADE, related_name="branch_restrictions"
    )
    bitbucket_id = models.BigIntegerField()
    kind = models.CharField(max_length=64)
    branch_match_kind = models.CharField(max_length=32, default="glob")
    pattern = models.CharField(max_length=255, blank=True)
    branch_type = models.CharField(max_length=32, blank=True)
    value = models.IntegerField(null=True, blank=True)
    # Who is exempt (push) or may merge (restrict_merges): account uuids and group slugs.
    users = models.JSONField(default=list, blank=True)
    groups = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "pattern"]
        constraints = [
            models.UniqueConstraint(fields=["repository", "bitbucket_id"], name="branch_restriction_id"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.pattern or self.branch_type}"
