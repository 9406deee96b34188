"""What a dashboard user is typing: comment text kept server-side until it is posted or discarded."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bitbucket_sync.models.mirror import PullRequest


class CommentDraft(models.Model):
    """The text of one comment box (``key`` names it: the general box, a reply, a line, the review summary) of a
    pull request, kept for its author only, so nothing typed is lost on an error or a reload. Not a Bitbucket
    pending comment: those live on Bitbucket; this is what has not been sent anywhere yet."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_drafts")
    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="comment_drafts")
    key = models.CharField(max_length=200)
    text = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "pull_request", "key"], name="comment_draft_once"),
        ]
        # Retention deletes by age.
        indexes = [models.Index(fields=["updated_at"], name="comment_draft_age")]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id}, PR {self.pull_request_id})"
