"""Bitbucket credentials: the secret encrypted at rest, write-only, checked against Bitbucket when saved.

One active credential per user and site (replaced ones are kept, inactive, for the history); an admin picks per
workspace the credential it is synced with (`Workspace.sync_credential`). A client speaking as one comes from
`bitbucket_sync.credentials.clients`.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import models
from django.db.models import Q

from bitbucket_sync import sites
from bitbucket_sync.credentials import encryption

DEFAULT_API_URL = "https://api.bitbucket.org/2.0"


class CredentialQuerySet(models.QuerySet["Credential"]):
    def active(self) -> CredentialQuerySet:
        """Credentials in use: each user's current one (replaced and revoked ones stay, inactive, as history)."""
        return self.filter(is_active=True)

    def active_for(self, user, *, api_url: str | None = None) -> CredentialQuerySet:
        """The user's active credentials, one per site (`one_active_credential`); with ``api_url`` (a normalised
        site, ``Workspace.api_url``) the one for that site, as a query to chain or `.first()`."""
        query = self.active().filter(owner=user)
        return query if api_url is None else query.filter(api_url=api_url)

    def for_site(self, user, api_url: str) -> Credential | None:
        """The user's active credential for the site at ``api_url`` (a workspace's ``api_url``), or None: the one
        credential every request about that workspace's data is sent with. One query.

        A workspace of no site yet (an empty ``api_url``) or of the Cloud API takes the user's Cloud credential when
        none names its URL exactly (one saved before ``BITBUCKET_API_URL`` was set); a Data Center project takes
        only a credential of its own site, never a Cloud one, nor one of another Data Center site."""
        if user is None or not getattr(user, "is_authenticated", True):
            return None
        return pick_for_site(list(self.active_for(user)), api_url)


def pick_for_site(credentials: Sequence[Credential], api_url: str) -> Credential | None:
    """Of one user's active credentials, the one for the site at ``api_url`` (``CredentialQuerySet.for_site``)."""
    for credential in credentials:
        if api_url and sites.same_site(credential.api_url, api_url):
            return credential
    if api_url and sites.site_kind(api_url) == "datacenter":
        return None
    return next((c for c in credentials if sites.site_kind(c.api_url) == "cloud"), None)


class Credential(models.Model):
    class Kind(models.TextChoices):
        API_TOKEN = "api_token", "API token"
        ACCESS_TOKEN = "access_token", "Access token"
        # Bitbucket Cloud stopped accepting app passwords on 2026-07-28; kept so an old one fails with a clear reason.
        APP_PASSWORD = "app_password", "App password (legacy)"
        # Bitbucket Data Center: an HTTP access token (personal, project or repository; Bearer) with the user's
        # Data Center username as login, or a username with a password or personal token (Basic).
        HTTP_ACCESS_TOKEN = "http_access_token", "HTTP access token (Data Center)"
        BASIC = "basic", "Username and password (Data Center)"

    class Status(models.TextChoices):
        UNCHECKED = "unchecked"
        VALID = "valid"
        INVALID = "invalid"
        REVOKED = "revoked"
        EXPIRED = "expired"

    class ScopeKind(models.TextChoices):
        WORKSPACE = "workspace"
        PROJECT = "project"
        REPOSITORY = "repository"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bitbucket_credentials")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The Atlassian email (API token), Bitbucket username (app password) or Data Center username (HTTP access token,
    # basic); empty for Cloud access tokens.
    login = models.CharField(max_length=255, blank=True)
    # For access tokens: what they are scoped to (a workspace, project or repository), as found when checked.
    scope_kind = models.CharField(max_length=16, choices=ScopeKind.choices, blank=True)
    scope_name = models.CharField(max_length=511, blank=True)
    secret_encrypted = models.TextField(editable=False)
    secret_last4 = models.CharField(max_length=4, blank=True, editable=False)
    api_url = models.URLField(max_length=500, default=DEFAULT_API_URL)
    # The Bitbucket account it resolved to when checked.
    account = models.ForeignKey(
        "bitbucket_sync.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="credentials"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNCHECKED)
    scopes = models.JSONField(default=list, blank=True)
    # Bitbucket lists a credential's scopes only in the answer that refuses one: True when it did (then `scopes` is
    # everything granted and `can_write` is known); False when `scopes` holds only what the check's calls proved.
    scopes_complete = models.BooleanField(default=False)
    can_write = models.BooleanField(default=False)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CredentialQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One per site: a person may hold a Bitbucket Cloud credential and a Data Center one side by side.
            models.UniqueConstraint(
                fields=["owner", "api_url"], condition=Q(is_active=True), name="one_active_credential"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} …{self.secret_last4} of {self.owner}"

    def __repr__(self) -> str:
        return f"<Credential {self.pk} {self.kind} …{self.secret_last4} owner={self.owner_id} {self.status}>"

    @property
    def masked(self) -> str:
        """How the secret is named wherever it is shown or audited: its last four characters ("…a1b2"), or nothing."""
        return f"…{self.secret_last4}" if self.secret_last4 else ""

    def set_secret(self, secret: str) -> None:
        """Encrypt and keep the secret; only its last four characters stay readable."""
        self.secret_encrypted = encryption.encrypt(secret)
        self.secret_last4 = secret[-4:] if len(secret) >= 8 else ""

    def get_secret(self) -> str:
        """The secret in the clear, for the client (`credentials.clients.client_for`) and nothing else."""
        return encryption.decrypt(self.secret_encrypted)
