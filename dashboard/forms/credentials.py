"""Credential forms. The secret is write-only: a password input that never renders a value back."""

from typing import cast

from django import forms
from django.conf import settings
from django.core.validators import validate_email

from bitbucket_sync import sites
from bitbucket_sync.credentials.checks import CLOUD_KINDS, kind_mismatch
from bitbucket_sync.models import Credential


class CredentialForm(forms.Form):
    kind = forms.ChoiceField(
        choices=Credential.Kind.choices,
        initial=Credential.Kind.API_TOKEN,
        help_text=(
            "An API token for a person (with their Atlassian account email); an access token for a workspace, "
            "project or repository. App passwords are legacy: Bitbucket Cloud stopped accepting them on 2026-07-28."
        ),
    )
    login = forms.CharField(
        label="Email or username",
        required=False,
        max_length=255,
        help_text="API token: the Atlassian account email. App password: the Bitbucket username. Access token: empty.",
    )
    secret = forms.CharField(
        label="Secret",
        strip=True,
        max_length=4096,
        # render_value=False: a failed or repeated submit never sends the secret back to the browser.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again; only its last four characters are kept readable.",
    )
    workspace = forms.CharField(
        required=False,
        max_length=255,
        help_text="Project and repository access tokens only: the workspace the token belongs to (they cannot list "
        "their workspaces themselves).",
    )
    api_url = forms.URLField(
        label="API base URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Leave empty for the site's Bitbucket API URL.",
    )

    def __init__(self, *args, allow_api_url: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        datacenter = [url for url in sites.allowed_api_urls() if sites.site_kind(url) == "datacenter"]
        kind = cast(forms.ChoiceField, self.fields["kind"])
        if datacenter:
            # A choice among the configured sites (Cloud first, the default), on the member's own page too: each
            # is an endpoint this deployment already trusts with secrets.
            cloud = sites.checked_api_url("")
            self.fields["api_url"] = forms.ChoiceField(
                label="Site",
                choices=[(cloud, f"Bitbucket Cloud ({cloud})")]
                + [(url, f"Bitbucket Data Center ({url})") for url in datacenter],
                initial=cloud,
                help_text="Each person has one credential per site; saving replaces only the one of this site.",
            )
            kind.help_text += (
                " Data Center: an HTTP access token (personal, with your username; project or repository, without "
                "one) or your username and password."
            )
            self.fields["login"].help_text += " Data Center: the username (empty for a project or repository token)."
            self.fields["workspace"].help_text += " Data Center project or repository token: KEY or KEY/repo."
        else:
            # No Data Center site: its kinds could only be refused.
            kind.choices = [(value, label) for value, label in Credential.Kind.choices if value in CLOUD_KINDS]
            self.fields["api_url"].widget.attrs["placeholder"] = settings.BITBUCKET_API_URL
            if not allow_api_url:
                del self.fields["api_url"]

    def clean_api_url(self) -> str:
        # Checked here too (the service checks again), so a wrong URL is named on its own field, before Bitbucket
        # is asked anything.
        return clean_api_url(self.cleaned_data.get("api_url") or "")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        login = (data.get("login") or "").strip()
        if kind == Credential.Kind.API_TOKEN:
            if not login:
                self.add_error("login", "An API token is used with the Atlassian account email it belongs to.")
            else:
                try:
                    validate_email(login)
                except forms.ValidationError:
                    self.add_error(
                        "login", "Use the Atlassian account email (not the Bitbucket username) with an API token."
                    )
        elif kind == Credential.Kind.APP_PASSWORD and not login:
            self.add_error("login", "An app password is used with the Bitbucket username.")
        elif kind == Credential.Kind.ACCESS_TOKEN:
            login = ""
        elif kind == Credential.Kind.BASIC and not login:
            self.add_error("login", "A Data Center password is used with the username it belongs to.")
        if kind and "api_url" in data and (mismatch := kind_mismatch(kind, data["api_url"] or "")) is not None:
            # Said before Bitbucket is asked anything: the secret is not sent to a site of the other kind.
            self.add_error("kind", mismatch)
        data["login"] = login
        return data


def clean_api_url(value: str) -> str:
    """A credential's API URL, normalised; one the site is not configured for is a field error."""
    try:
        return sites.checked_api_url(value)
    except sites.ApiUrlNotAllowed as error:
        raise forms.ValidationError(str(error), code="api_url_not_allowed") from None


class SyncCredentialForm(forms.Form):
    """The credential one workspace is synced with: any active, valid credential, access tokens first."""

    credential = forms.ModelChoiceField(
        queryset=Credential.objects.none(),
        required=False,
        empty_label="— none (not synced) —",
        help_text=(
            "Prefer a workspace access token: it has its own rate-limit allowance, so syncing does not use up a "
            "person's 1,000 requests an hour, and it keeps working when that person leaves."
        ),
    )

    def __init__(self, *args, workspace=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        # Access tokens sort first ("access_token" < "api_token" < "app_password").
        credential = cast(forms.ModelChoiceField, self.fields["credential"])
        credential.queryset = (
            Credential.objects.active()
            .filter(status=Credential.Status.VALID)
            .select_related("owner")
            .order_by("kind", "owner__username")
        )
        # Django documents overriding label_from_instance; per instance is enough here.
        credential.label_from_instance = _credential_label  # type: ignore[method-assign, assignment]
        if workspace is not None:
            self.initial.setdefault("credential", workspace.sync_credential_id)

    def clean_credential(self) -> Credential | None:
        chosen = self.cleaned_data.get("credential")
        site = self.workspace.api_url if self.workspace is not None else ""
        if chosen is not None and site and not sites.same_site(chosen.api_url, site):
            raise forms.ValidationError(f"This workspace is synced through {site}; pick a credential of that site.")
        return chosen


def _credential_label(credential: Credential) -> str:
    reach = f" ({credential.scope_kind} {credential.scope_name})" if credential.scope_name else ""
    return f"{credential.get_kind_display()}{reach} of {credential.owner.get_username()} …{credential.secret_last4}"
