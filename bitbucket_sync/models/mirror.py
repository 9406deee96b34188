"""The mirror: Bitbucket's objects keyed by Bitbucket's identity (uuid with braces; account_id for people).

Slugs and names are display fields that can change (a renamed repository keeps its row). Rows that vanish from
Bitbucket get `removed_at`, and only after a listing that completed; nothing here is deleted by a sync.
"""

from __future__ import annotations

from typing import Any, Self

from django.db import models
from django.db.models import Q
from django.urls import reverse


class LiveQuerySet[M: models.Model](models.QuerySet[M]):
    """Rows of a model that keeps `removed_at`: `live()` are those still on Bitbucket at the last complete listing."""

    def live(self) -> Self:
        return self.filter(removed_at__isnull=True)


class WorkspaceQuerySet(LiveQuerySet["Workspace"]):
    def visible_to(self, user: Any) -> Self:
        """Workspaces the user's own credential reaches (their `WorkspaceAccess` rows)."""
        return self.filter(user_access__user=user)


class RepositoryQuerySet(LiveQuerySet["Repository"]):
    def visible_to(self, user: Any) -> Self:
        """Repositories the user's own credential reaches, in a live workspace the user sees too: access rows lag
        behind Bitbucket, and a repository row outlives the workspace it was listed in."""
        return self.filter(
            user_access__user=user,
            workspace__removed_at__isnull=True,
            workspace__user_access__user=user,
        )


class PullRequestQuerySet(models.QuerySet["PullRequest"]):
    def visible_to(self, user: Any) -> Self:
        """Pull requests of the live repositories the user sees (a subquery of their ids, not a join)."""
        return self.filter(repository__in=Repository.objects.live().visible_to(user).values("pk"))


class Account(models.Model):
    """A Bitbucket account: a person (user), an access token's app user, or a team."""

    class Kind(models.TextChoices):
        USER = "user"
        APP_USER = "app_user"
        TEAM = "team"

    bitbucket_uuid = models.CharField(max_length=64, unique=True)
    account_id = models.CharField(max_length=128, blank=True, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.USER)
    display_name = models.CharField(max_length=255, blank=True)
    nickname = models.CharField(max_length=255, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name or self.nickname or self.bitbucket_uuid

    def get_absolute_url(self) -> str:
        """The person's page; "" for an account without an account_id (a team, an unlinked app user): no page."""
        return reverse("person_detail", args=[self.account_id]) if self.account_id else ""


class Workspace(models.Model):
    """A Bitbucket Cloud workspace, or a Data Center project playing its part (``bitbucket_sync.sites``)."""

    bitbucket_uuid = models.CharField(max_length=64, unique=True)
    # The handle in the dashboard's URLs, unique across sites: the Cloud workspace slug, or ``KEY@site-label`` for a
    # Data Center project (``sites.workspace_handle``).
    slug = models.CharField(max_length=255, unique=True)
    # Bitbucket's own name for it, what the API is asked with: the Cloud workspace slug or the Data Center project key.
    key = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=255, blank=True)
    is_private = models.BooleanField(default=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    # The site (API base URL, normalised) the workspace was first synced through; empty until then. Data read
    # through another site never changes it or its rows (bitbucket_sync.sites).
    api_url = models.CharField(max_length=500, blank=True)
    # The credential this workspace is synced with: picked by an admin, else automatically (a workspace access token
    # is best: its own rate limit and every repository in sight).
    sync_credential = models.ForeignKey(
        "bitbucket_sync.Credential", null=True, blank=True, on_delete=models.SET_NULL, related_name="synced_workspaces"
    )
    # True when an admin picked the sync credential: the automatic pick (bitbucket_sync.sync.access) leaves it alone.
    sync_credential_pinned = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    # Whether the member listing could be read: "" never tried, "read" (the WorkspaceMembership rows are the
    # members), "forbidden" when Bitbucket refused it (a Data Center project's people need project admin): the
    # members are then unknown, never guessed and never pruned.
    members_state = models.CharField(max_length=16, blank=True)
    # The sync lock: the run holding it and until when. Claimed with a conditional UPDATE (works on SQLite and
    # PostgreSQL alike); the expiry frees it when a worker dies holding it, and running tasks keep pushing it on.
    sync_locked_by_run = models.PositiveBigIntegerField(null=True, blank=True)
    sync_lock_expires_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.key:
            self.key = self.slug  # a Cloud workspace: its slug is Bitbucket's name for it
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("workspace_detail", args=[self.slug])


class Project(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="projects")
    bitbucket_uuid = models.CharField(max_length=64, unique=True)
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    is_private = models.BooleanField(default=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = LiveQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.name}"


class Repository(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="repositories")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="repositories")
    bitbucket_uuid = models.CharField(max_length=64, unique=True)
    slug = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    full_name = models.CharField(max_length=511)
    description = models.TextField(blank=True)
    is_private = models.BooleanField(default=True)
    language = models.CharField(max_length=64, blank=True)
    main_branch = models.CharField(max_length=255, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    # Archived on Bitbucket Data Center: mirrored and shown, read-only (nothing can be pushed or merged there).
    archived = models.BooleanField(default=False)
    created_on = models.DateTimeField(null=True, blank=True)
    # Bitbucket's own updated_on: it moves on pushes and settings changes, so branches are re-listed only then.
    updated_on = models.DateTimeField(null=True, blank=True)
    # Incremental sync state: the newest PR updated_on seen by a completed listing, and the repository updated_on
    # the branches were last listed at.
    pull_requests_synced_through = models.DateTimeField(null=True, blank=True)
    branches_synced_for = models.DateTimeField(null=True, blank=True)
    # Where an interrupted pull request listing stopped (a 429, a crash): the next page's `next` link, the mark the
    # listing started from (null: all of them), the newest updated_on it had seen and the run that read it. The next
    # attempt reads on from there; all four are cleared when the listing completes.
    pull_requests_resume_url = models.TextField(blank=True)
    pull_requests_resume_since = models.DateTimeField(null=True, blank=True)
    pull_requests_resume_newest = models.DateTimeField(null=True, blank=True)
    pull_requests_resume_run = models.PositiveBigIntegerField(null=True, blank=True)
    watchers_synced_at = models.DateTimeField(null=True, blank=True)
    # When the open pull requests were last listed in full (the open-PR reconcile of a listing that cannot be
    # filtered by update: Data Center), or read by a full sync.
    open_pull_requests_reconciled_at = models.DateTimeField(null=True, blank=True)
    # Branch restrictions (merge rules) need repository admin: "" never tried, "read" when the sync credential could
    # read them (the BranchRestriction rows are the rules), "forbidden" when Bitbucket said it may not.
    restrictions_state = models.CharField(max_length=16, blank=True)
    restrictions_synced_at = models.DateTimeField(null=True, blank=True)
    # The last sync run that finished this repository: a run resumed after a crash or a pause skips those done.
    synced_in_run = models.PositiveBigIntegerField(null=True, blank=True)
    # Open pull requests, kept by `bitbucket_sync.turns.refresh_turns` (every pull request write goes through it):
    # sorting a workspace's repositories by a COUNT over all their pull requests grows with the mirror.
    open_pull_request_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]
        constraints = [
            # A slug is unique among live repositories; a removed one may share it with its replacement.
            models.UniqueConstraint(
                fields=["workspace", "slug"], condition=Q(removed_at__isnull=True), name="repository_live_slug"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "removed_at", "slug"], name="repository_ws_slug"),
            models.Index(fields=["workspace", "removed_at", "-updated_on"], name="repository_ws_updated"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        """Reads `workspace`: select_related it on a list."""
        return reverse("repository_detail", args=[self.workspace.slug, self.slug])


class Branch(models.Model):
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(max_length=255)
    target_hash = models.CharField(max_length=40)
    target_date = models.DateTimeField(null=True, blank=True)
    target_message = models.TextField(blank=True)
    target_author_raw = models.CharField(max_length=500, blank=True)
    target_author = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    synced_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = LiveQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="branch_repository_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The branch in the source browser. Reads `repository` and its `workspace`: select_related them on a list."""
        return reverse("source_detail", args=[self.repository.workspace.slug, self.repository.slug, self.name + "/"])


class PullRequest(models.Model):
    class State(models.TextChoices):
        OPEN = "OPEN"
        MERGED = "MERGED"
        DECLINED = "DECLINED"
        SUPERSEDED = "SUPERSEDED"

    # Denormalised from the repository so the workspace inbox filters and sorts on one index.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pull_requests")
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="pull_requests")
    number = models.PositiveIntegerField(help_text="Bitbucket's id, unique within the repository")
    title = models.CharField(max_length=1000)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=State.choices)
    draft = models.BooleanField(default=False)
    author = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="authored_pull_requests"
    )
    source_branch = models.CharField(max_length=255)
    source_commit = models.CharField(max_length=40, blank=True)
    source_repository_full_name = models.CharField(max_length=511, blank=True)
    destination_branch = models.CharField(max_length=255)
    destination_commit = models.CharField(max_length=40, blank=True)
    close_source_branch = models.BooleanField(default=False)
    merge_commit = models.CharField(max_length=40, blank=True)
    closed_by = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)
    comment_count = models.PositiveIntegerField(default=0)
    # Open tasks (Bitbucket's task_count); resolved ones are known only once the task list was read (None before).
    task_count = models.PositiveIntegerField(default=0)
    resolved_task_count = models.PositiveIntegerField(null=True, blank=True)
    # The build statuses' summary (BuildStatus rows hold each one): "" until they were read for the source commit.
    build_state = models.CharField(max_length=16, blank=True)
    statuses_synced_for = models.CharField(max_length=40, blank=True, help_text="source commit the statuses are for")
    statuses_synced_at = models.DateTimeField(null=True, blank=True)
    # Conflicts from the merge-preview diffstat: "" unknown (never read, or either tip moved since), "clean" or
    # "conflicted"; read for the pair of commits in `conflicts_checked_for` ("<source>..<destination>").
    conflict_state = models.CharField(max_length=16, blank=True)
    conflict_paths = models.JSONField(default=list, blank=True)
    conflicts_checked_for = models.CharField(max_length=100, blank=True)
    # Whose turn it is (bitbucket_sync.turns decides; refresh_turns keeps these current): "author", "reviewers",
    # "ready", "draft" or "closed"; since when, and why, in words shown on hover.
    turn = models.CharField(max_length=16, blank=True)
    turn_since = models.DateTimeField(null=True, blank=True)
    turn_reasons = models.JSONField(default=list, blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    created_on = models.DateTimeField()
    updated_on = models.DateTimeField()
    synced_at = models.DateTimeField(null=True, blank=True)

    objects = PullRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_on"]
        constraints = [models.UniqueConstraint(fields=["repository", "number"], name="pull_request_number")]
        indexes = [
            models.Index(fields=["workspace", "state", "-updated_on"], name="pr_ws_state_updated"),
            models.Index(fields=["workspace", "-updated_on"], name="pr_ws_updated"),
            models.Index(fields=["repository", "state", "-updated_on"], name="pr_repo_state_updated"),
            models.Index(fields=["author", "state", "-updated_on"], name="pr_author_state_updated"),
            models.Index(fields=["repository", "source_branch"], name="pr_repo_source"),
            # "Changed since" polls from open pages: the newest write in a workspace, read from the index alone.
            models.Index(fields=["workspace", "-synced_at"], name="pr_ws_synced"),
            models.Index(fields=["author", "turn", "-updated_on"], name="pr_author_turn_updated"),
            # The attention inbox's "All open" across workspaces: every open pull request, newest change first.
            models.Index(fields=["state", "-updated_on"], name="pr_state_updated"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        """Reads `workspace` and `repository`: select_related them on a list."""
        return reverse("pull_request_detail", args=[self.workspace.slug, self.repository.slug, self.number])

    @property
    def builds_known(self) -> bool:
        """The build statuses were read for the current source commit: `build_state` "" then means no builds."""
        return bool(self.statuses_synced_for) and self.statuses_synced_for == self.source_commit


class Participant(models.Model):
    """A reviewer or participant of a pull request, with their review state."""

    class Role(models.TextChoices):
        REVIEWER = "REVIEWER"
        PARTICIPANT = "PARTICIPANT"

    class ReviewState(models.TextChoices):
        APPROVED = "approved"
        CHANGES_REQUESTED = "changes_requested"

    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="participants")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="participations")
    role = models.CharField(max_length=16, choices=Role.choices)
    approved = models.BooleanField(default=False)
    state = models.CharField(max_length=32, choices=ReviewState.choices, blank=True)
    participated_on = models.DateTimeField(null=True, blank=True)
    # The source commit this participant's review (approval or changes requested) was given on, as far as bbdash
    # knows: the PR's source commit when the review was first seen. "" without a review.
    reviewed_commit = models.CharField(max_length=40, blank=True)
    # A reviewer the open, non-draft PR waits for: no review yet, or commits pushed since (bitbucket_sync.turns).
    needs_review = models.BooleanField(default=False)
    # The reviewer's inbox (bitbucket_sync.turns.reviewer_attention): "due", "waiting" (on someone else) or "", with
    # the pull request's last update, so a reviewer's list is read in order from one index however many reviews
    # they ever gave.
    attention = models.CharField(max_length=8, blank=True)
    pull_request_updated_on = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pull_request", "account"], name="participant_once")]
        indexes = [
            models.Index(fields=["account", "role", "approved"], name="participant_account_role"),
            models.Index(fields=["account", "needs_review"], name="participant_needs_review"),
            models.Index(
                fields=["account", "attention", "-pull_request_updated_on"], name="participant_attention_updated"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} on {self.pull_request_id} ({self.role})"


class WorkspaceMembership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    permission = models.CharField(max_length=32, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = LiveQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "account"], name="membership_once")]

    def __str__(self) -> str:
        return f"{self.account} in {self.workspace}"


class RepositoryWatcher(models.Model):
    """A repository's watcher: shown as its follower (Bitbucket removed user followers from API 2.0)."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="watchers")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="watching")
    synced_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = LiveQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "account"], name="watcher_once")]

    def __str__(self) -> str:
        return f"{self.account} watches {self.repository}"
