"""What a dashboard user keeps for themselves: named views of the attention inbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedView(models.Model):
    """A named set of the attention inbox's filters, kept for its owner only: the query string the URL carries
    (rebuilt from the validated filters when saved, so it holds nothing the form does not know)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_once")]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"
