"""Credential pages: staff manage every user's Bitbucket credential under /-/credentials/; members see their own at
/-/me/ (and replace it there when BBDASH_CREDENTIAL_SELF_SERVICE allows).

A secret is accepted by a form, checked with Bitbucket, encrypted, and never rendered again: pages show only the
kind, the last four characters, the status and the use. Views that take a secret hide it from Django's error
reports (`sensitive_post_parameters`).
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync.credentials import checks, lifecycle
from bitbucket_sync.ledger import HOURLY_BUDGET
from bitbucket_sync.models import Credential
from dashboard import selectors
from dashboard.forms.credentials import CredentialForm, SyncCredentialForm
from dashboard.views.access import staff_only
from dashboard.views.htmx import HtmxHttpRequest

# Credential administration is for staff: every view of it carries `staff_only` (404 for anyone else).


# -- staff pages ------------------------------------------------------------------------------------------------


@staff_only
@require_GET
def credential_list(request: HtmxHttpRequest) -> HttpResponse:
    workspaces = selectors.workspaces_with_sync_credential()
    return render(
        request,
        "credentials/list.html",
        {
            "rows": selectors.credential_rows(),
            "hourly_budget": HOURLY_BUDGET,
            "sync_forms": [
                (workspace, SyncCredentialForm(workspace=workspace, prefix=f"ws{workspace.pk}"))
                for workspace in workspaces
            ],
        },
    )


@staff_only
@sensitive_post_parameters("secret")
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def credential_user(request: HtmxHttpRequest, user_id: int) -> HttpResponse:
    """One user's credential: status, history, and the form that adds or replaces it."""
    owner = selectors.user_by_id(user_id)
    form = CredentialForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = _save(request, form, owner=owner)
        if result is not None and result.accepted:
            return redirect("credential_user", user_id=owner.pk)
    context = {**selectors.credential_summary(owner), "form": form, "result": result}
    return render(request, "credentials/user.html", context)


@staff_only
@require_POST
@vary_on_headers("HX-Request")
def credential_check(request: HtmxHttpRequest, credential_id: int) -> HttpResponse:
    credential = selectors.credential_by_id(credential_id)
    return _check(request, credential, owner=credential.owner, back=("credential_user", credential.owner_id))


@staff_only
@require_POST
def credential_revoke(request: HtmxHttpRequest, credential_id: int) -> HttpResponse:
    credential = selectors.credential_by_id(credential_id)
    lifecycle.revoke_credential(actor=request.user, credential=credential)
    messages.success(request, f"Revoked {credential}. bbdash no longer uses it; delete the token at Bitbucket too.")
    return redirect("credential_user", user_id=credential.owner_id)


@staff_only
@require_POST
def workspace_sync_credential(request: HtmxHttpRequest, workspace_id: int) -> HttpResponse:
    workspace = selectors.live_workspace_by_id(workspace_id)
    form = SyncCredentialForm(request.POST, workspace=workspace, prefix=f"ws{workspace.pk}")
    if form.is_valid():
        chosen = form.cleaned_data["credential"]
        lifecycle.set_sync_credential(actor=request.user, workspace=workspace, credential=chosen)
        messages.success(request, f"{workspace.slug} syncs with {chosen}." if chosen else f"{workspace.slug}: no sync.")
    else:
        messages.error(request, f"{workspace.slug}: pick one of the valid credentials listed.")
    return redirect("credential_list")


# -- the member's own page --------------------------------------------------------------------------------------


@sensitive_post_parameters("secret")
@sensitive_variables()
@require_http_methods(["GET", "POST"])
def me_detail(request: HtmxHttpRequest) -> HttpResponse:
    self_service = settings.BBDASH_CREDENTIAL_SELF_SERVICE or request.user.is_staff
    form = CredentialForm(request.POST or None, allow_api_url=False) if self_service else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            result = _save(request, form, owner=request.user)
            if result is not None and result.accepted:
                return redirect("me_detail")
    return render(request, "credentials/me.html", {**selectors.credential_summary(request.user), "form": form})


@require_POST
@vary_on_headers("HX-Request")
def me_check(request: HtmxHttpRequest) -> HttpResponse:
    # One credential per site: the form names which (its id), else the one the page shows.
    wanted = request.POST.get("credential", "")
    if wanted:
        credential = next((c for c in selectors.active_credentials(request.user) if str(c.pk) == wanted), None)
    else:
        credential = selectors.credential_summary(request.user)["credential"]
    if credential is None:
        raise Http404
    return _check(request, credential, owner=request.user, back=("me_detail",))


# -- shared steps -----------------------------------------------------------------------------------------------


@sensitive_variables()
def _save(request: HtmxHttpRequest, form: CredentialForm, *, owner) -> checks.CheckResult | None:
    """Check and save; on refusal the form gets Bitbucket's message and comes back with its secret field empty."""
    data = form.cleaned_data
    try:
        _, result = lifecycle.save_credential(
            actor=request.user,
            owner=owner,
            kind=data["kind"],
            login=data["login"],
            secret=data["secret"],
            api_url=data.get("api_url") or "",
            workspace=data.get("workspace") or "",
        )
    except checks.CredentialRejected as rejected:
        form.add_error(None, rejected.result.message)
        return rejected.result
    except ValueError as error:
        form.add_error(None, str(error))
        return None
    messages.success(request, f"Saved and checked: {result.summary()}.")
    for note in result.notes:
        messages.info(request, note)
    return result


def _check(request: HtmxHttpRequest, credential: Credential, *, owner, back: tuple) -> HttpResponse:
    result = lifecycle.recheck_credential(actor=request.user, credential=credential)
    if request.htmx:
        credential.refresh_from_db()
        return render(
            request,
            "credentials/_status.html#credential-status",
            {
                **selectors.credential_summary(owner),
                "credential": credential,
                "result": result,
                "check_url": request.path,
            },
        )
    if result.valid:
        messages.success(request, f"Checked: {result.summary()}.")
    else:
        messages.error(request, f"Check failed: {result.message}")
    return redirect(*back)
