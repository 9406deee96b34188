"""What a dashboard user keeps for themselves while reviewing: the files of a pull request they marked viewed."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bitbucket_sync.models.mirror import PullRequest


class ViewedFile(models.Model):
    """A file of a pull request its owner marked viewed, with a digest of the file's change at that moment: the
    mark shows only while the pull request's diff of that file has the same digest (a push that touches the file
    clears it; one that does not keeps it)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="viewed_files")
    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="viewed_files")
    path = models.CharField(max_length=1000)
    fingerprint = models.CharField(max_length=64)
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "pull_request", "path"], name="viewed_file_once"),
        ]

    def __str__(self) -> str:
        return f"{self.path} viewed by {self.user_id} on {self.pull_request_id}"
