"""Credentials as their pages show them: every user's (staff), one user's with its history, the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from bitbucket_sync import ledger
from bitbucket_sync.ledger import HOURLY_BUDGET
from bitbucket_sync.models import AuditEvent, Credential, Workspace, WorkspaceAccess
from bitbucket_sync.models.credentials import pick_for_site


def user_by_id(user_id: int):
    """A dashboard user for the staff pages; 404 when there is none."""
    return get_object_or_404(get_user_model(), pk=user_id)


def credential_by_id(credential_id: int) -> Credential:
    """Any credential, with its owner and account, for the staff pages; 404 when there is none."""
    return get_object_or_404(Credential.objects.select_related("owner", "account"), pk=credential_id)


def live_workspace_by_id(workspace_id: int) -> Workspace:
    """A workspace still in the mirror, for the staff pages; 404 otherwise."""
    return get_object_or_404(Workspace.objects.live(), pk=workspace_id)


def workspaces_with_sync_credential() -> QuerySet[Workspace]:
    """Every live workspace with its sync credential and that credential's owner (staff: the sync credential form)."""
    return Workspace.objects.live().select_related("sync_credential__owner")


@dataclass
class CredentialRow:
    user: object
    credential: Credential | None
    requests_last_hour: int
    workspaces: list[str]
    other_sites: list[Credential]  # the user's credentials for the other sites (one per site)


def credential_rows() -> list[CredentialRow]:
    """Every active user with their active credential, its requests in the last hour and the workspaces they see."""
    active = Credential.objects.active().annotate(recent=ledger.requests_in_window_of_each()).order_by("api_url")
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .order_by("username")
        .prefetch_related(
            Prefetch("bitbucket_credentials", queryset=active, to_attr="active_credentials"),
            Prefetch(
                "workspace_access",
                queryset=WorkspaceAccess.objects.select_related("workspace").order_by("workspace__slug"),
            ),
        )
    )
    rows = []
    for user in users:
        credentials = user.active_credentials
        credential = pick_for_site(credentials, settings.BITBUCKET_API_URL) or next(iter(credentials), None)
        rows.append(
            CredentialRow(
                user=user,
                credential=credential,
                requests_last_hour=getattr(credential, "recent", 0),  # annotated on the prefetch
                workspaces=[access.workspace.slug for access in user.workspace_access.all()],
                other_sites=[c for c in credentials if c != credential],
            )
        )
    return rows


def credential_summary(owner) -> dict:
    """`owner`'s active credential (the Cloud one, else their first: one per site), its use of the hourly budget,
    their credentials for the other sites, their earlier credentials, the workspaces they see and those synced with
    it: the context of a credential page."""
    credentials = list(Credential.objects.active_for(owner).select_related("account", "created_by").order_by("api_url"))
    credential = pick_for_site(credentials, settings.BITBUCKET_API_URL) or next(iter(credentials), None)
    return {
        "owner": owner,
        "credential": credential,
        "other_credentials": [c for c in credentials if c != credential],
        "requests_last_hour": ledger.requests_in_window(credential) if credential is not None else 0,
        "hourly_budget": HOURLY_BUDGET,
        "history": Credential.objects.filter(owner=owner, is_active=False).select_related("created_by")[:20],
        "workspaces": WorkspaceAccess.objects.filter(user=owner)
        .select_related("workspace")
        .order_by("workspace__slug"),
        "synced_with": Workspace.objects.filter(sync_credential=credential).order_by("slug") if credential else [],
    }


def audit_events(user, *, filters: dict | None = None) -> QuerySet[AuditEvent]:
    """The audit log as `user` may read it (staff: every event; anyone else: those by or about them), newest first.

    `filters` come from the audit filter form; the actor filter applies to staff only."""
    events = AuditEvent.objects.select_related("actor")
    if not user.is_staff:
        events = events.filter(Q(actor=user) | Q(subject_user=user))
    filters = filters or {}
    if filters.get("action"):
        events = events.filter(action=filters["action"])
    if filters.get("result"):
        events = events.filter(result=filters["result"])
    if filters.get("repository"):
        events = events.filter(repository_full_name__icontains=filters["repository"])
    if filters.get("actor") and user.is_staff:
        events = events.filter(actor__username__icontains=filters["actor"])
    return events.order_by("-at", "-pk")


def audit_actions(user) -> list[str]:
    """The actions named in the part of the audit log `user` may read, for the filter form."""
    return sorted(set(audit_events(user).order_by().values_list("action", flat=True).distinct()))
