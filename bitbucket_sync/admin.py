"""Django admin for operators. Credentials follow the same rules as the credential pages: the secret is a
write-only field, checked with Bitbucket before it is saved, never shown, and never part of the admin's history.
The audit log and sync runs are read-only; mirror rows are read-only too (the sync owns them)."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from bitbucket_sync import sites
from bitbucket_sync.credentials import checks, lifecycle
from bitbucket_sync.models import (
    Account,
    AuditEvent,
    Branch,
    Credential,
    Project,
    PullRequest,
    Repository,
    SyncRun,
    Tag,
    Workspace,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the sync or the audit log: operators look, they do not edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CredentialAdminForm(forms.ModelForm):
    secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: checked with Bitbucket, stored encrypted, never shown. On an existing credential, a "
        "new secret replaces it with a new credential for the same owner (the old one is kept in the history).",
    )

    class Meta:
        model = Credential
        fields = ["owner", "kind", "login", "api_url", "scope_name"]
        labels = {"scope_name": "Workspace (project and repository access tokens)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.check_result: checks.CheckResult | None = None
        if "api_url" in self.fields and not self.instance.pk:
            self.fields["api_url"].initial = settings.BITBUCKET_API_URL

    def clean_api_url(self) -> str:
        # Before the check in clean(): the secret is sent to this URL, so only a configured endpoint is asked.
        try:
            return sites.checked_api_url(self.cleaned_data.get("api_url") or "")
        except sites.ApiUrlNotAllowed as error:
            raise forms.ValidationError(str(error), code="api_url_not_allowed") from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        secret = data.get("secret") or ""
        adding = self.instance.pk is None
        if adding and not secret:
            self.add_error("secret", "A new credential needs its secret.")
        if not secret or self.errors:
            return data
        if adding:
            # A required field: with no error above, it is there.
            kind: str = data["kind"]
            login, api_url, workspace = (data.get(name) or "" for name in ("login", "api_url", "scope_name"))
        else:
            kind, login, api_url, workspace = (
                self.instance.kind,
                self.instance.login,
                self.instance.api_url,
                self.instance.scope_name,
            )
        if kind in (Credential.Kind.API_TOKEN, Credential.Kind.APP_PASSWORD) and not login:
            raise forms.ValidationError("API tokens need the Atlassian email; app passwords the Bitbucket username.")
        try:
            result = checks.check_credential(
                kind=kind, login=login, secret=secret, api_url=api_url or "", workspace=workspace or ""
            )
        except sites.ApiUrlNotAllowed as error:
            # A stored credential whose URL is no longer a configured endpoint: its secret is not sent there.
            raise forms.ValidationError(str(error)) from None
        if not result.accepted:
            raise forms.ValidationError(result.message)
        self.check_result = result
        return data


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialAdminForm
    list_display = ["owner", "kind", "last4", "status", "is_active", "last_checked_at", "last_used_at"]
    list_filter = ["kind", "status", "is_active"]
    search_fields = ["owner__username", "login", "scope_name"]
    list_select_related = ["owner"]
    readonly_fields = [
        "last4",
        "status",
        "account",
        "scope_kind",
        "scopes",
        "can_write",
        "last_checked_at",
        "last_used_at",
        "last_error",
        "is_active",
        "created_by",
        "created_at",
        "revoked_at",
    ]
    actions = ["check_now", "revoke"]

    @admin.display(description="secret")
    def last4(self, obj: Credential) -> str:
        return obj.masked or "(hidden)"

    def get_fields(self, request, obj=None):
        editable = ["owner", "kind", "login", "api_url", "scope_name", "secret"]
        if obj is None:
            return editable
        return ["owner", "kind", "login", "api_url", "scope_name", "secret", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Who, what kind and where are fixed once saved: a different one is a new credential, checked anew.
        return ["owner", "kind", "login", "api_url", "scope_name", *self.readonly_fields]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the audit log and the ledger keep referring to it

    @method_decorator(sensitive_post_parameters("secret"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj: Credential, form: CredentialAdminForm, change: bool) -> None:
        if form.check_result is None:
            return  # a change without a new secret changes nothing (every other field is read-only)
        owner = obj.owner if change else form.cleaned_data["owner"]
        saved, result = lifecycle.save_credential(
            actor=request.user,
            owner=owner,
            kind=obj.kind,
            login=obj.login,
            secret=form.cleaned_data["secret"],
            api_url=obj.api_url,
            workspace=obj.scope_name,
            checked=form.check_result,
        )
        # The admin goes on with `obj` (its history entry, its redirect): point it at the row that was saved.
        obj.pk = saved.pk
        obj.refresh_from_db()
        messages.info(request, f"Checked with Bitbucket: {result.summary()}")

    def construct_change_message(self, request, form, formsets, add=False):
        # Django's default names the changed fields; ours says what happened, and never more.
        if add:
            return "Added a credential (checked with Bitbucket)."
        return "Replaced the secret (checked with Bitbucket)." if form.check_result else "No change."

    @admin.action(description="Check now with Bitbucket")
    def check_now(self, request, queryset):
        for credential in queryset.select_related("owner"):
            result = lifecycle.recheck_credential(actor=request.user, credential=credential)
            level = messages.SUCCESS if result.valid else messages.WARNING
            self.message_user(request, f"{credential}: {result.summary()}", level)

    @admin.action(description="Revoke (bbdash stops using it)")
    def revoke(self, request, queryset):
        for credential in queryset:
            lifecycle.revoke_credential(actor=request.user, credential=credential)
        self.message_user(request, f"Revoked {queryset.count()} credential(s).")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "result", "subject_user", "workspace_slug", "target", "message"]
    list_filter = ["action", "result"]
    search_fields = ["message", "target", "workspace_slug", "repository_full_name", "actor__username"]
    date_hierarchy = "at"


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "workspace", "kind", "status", "trigger", "created_at", "finished_at", "requests_made"]
    list_filter = ["kind", "status", "trigger"]
    list_select_related = ["workspace"]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "nickname", "kind", "account_id", "bitbucket_uuid", "synced_at"]
    search_fields = ["display_name", "nickname", "account_id", "bitbucket_uuid"]
    list_filter = ["kind"]


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "sync_credential", "synced_at", "last_full_sync_at", "removed_at"]
    search_fields = ["slug", "name", "bitbucket_uuid"]
    list_select_related = ["sync_credential__owner"]


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "workspace", "removed_at"]
    search_fields = ["key", "name"]
    list_select_related = ["workspace"]


@admin.register(Repository)
class RepositoryAdmin(ReadOnlyAdmin):
    list_display = ["full_name", "is_private", "updated_on", "synced_at", "removed_at"]
    search_fields = ["full_name", "slug", "bitbucket_uuid"]
    list_filter = ["is_private"]


@admin.register(Branch)
class BranchAdmin(ReadOnlyAdmin):
    list_display = ["name", "repository", "target_hash", "synced_at", "removed_at"]
    search_fields = ["name", "repository__full_name"]
    list_select_related = ["repository"]


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ["name", "repository", "target_hash", "tagged_on", "synced_at", "removed_at"]
    search_fields = ["name", "repository__full_name"]
    list_select_related = ["repository"]


@admin.register(PullRequest)
class PullRequestAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "repository", "state", "updated_on"]
    search_fields = ["title", "repository__full_name"]
    list_filter = ["state"]
    list_select_related = ["repository"]
