"""Who may see what: per dashboard user, what their own Bitbucket credential can reach.

Synced with each user's own credential (`/user/workspaces` and their repository permissions). Pages show a
workspace, repository or pull request only through these rows; a row not found on the last complete listing is
deleted, so losing access on Bitbucket removes it here.
"""

from django.conf import settings
from django.db import models


class WorkspaceAccess(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspace_access")
    workspace = models.ForeignKey("bitbucket_sync.Workspace", on_delete=models.CASCADE, related_name="user_access")
    administrator = models.BooleanField(default=False)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "workspace"], name="workspace_access_once")]

    def __str__(self) -> str:
        return f"{self.user_id} sees workspace {self.workspace_id}"


class RepositoryAccess(models.Model):
    class Permission(models.TextChoices):
        READ = "read"
        WRITE = "write"
        ADMIN = "admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repository_access")
    repository = models.ForeignKey("bitbucket_sync.Repository", on_delete=models.CASCADE, related_name="user_access")
    permission = models.CharField(max_length=8, choices=Permission.choices)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "repository"], name="repository_access_once")]
        indexes = [models.Index(fields=["repository", "user"], name="repository_access_repo")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.permission} on repository {self.repository_id}"

    @property
    def can_write(self) -> bool:
        return self.permits_writing(self.permission)

    @classmethod
    def permits_writing(cls, permission: str) -> bool:
        """Whether a read/write/admin permission lets its holder push, open and merge (the rule, in one place)."""
        return permission in (cls.Permission.WRITE, cls.Permission.ADMIN)
