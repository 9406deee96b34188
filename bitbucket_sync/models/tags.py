"""Mirrored tags: listed with the branches, on the same cadence (a repository whose `updated_on` moved)."""

from __future__ import annotations

from django.db import models

from bitbucket_sync.models.mirror import LiveQuerySet, Repository


class Tag(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=255)
    target_hash = models.CharField(max_length=40)
    target_date = models.DateTimeField(null=True, blank=True)
    # An annotated tag's own message, date and tagger; empty for a lightweight tag.
    message = models.TextField(blank=True)
    tagged_on = models.DateTimeField(null=True, blank=True)
    tagger_raw = models.CharField(max_length=500, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = LiveQuerySet.as_manager()

    class Meta:
        ordering = ["-tagged_on", "name"]
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="tag_repository_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def date(self):
        """When it was tagged, else its commit's date."""
        return self.tagged_on or self.target_date
