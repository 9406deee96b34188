"""Sync status (`/-/sync/`): each workspace's last runs, the running one live, the hourly budget, and "Sync now"."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from bitbucket_sync import tasks
from bitbucket_sync.sync import pacing
from dashboard import selectors
from dashboard.views.htmx import HtmxHttpRequest, wants_fragment


@require_GET
def sync_list(request: HtmxHttpRequest) -> HttpResponse:
    credential, budget = selectors.own_budget(request.user)
    context = {"syncs": selectors.workspace_syncs(request.user), "credential": credential, "own_budget": budget}
    return render(request, "sync/list.html", context)


@require_GET
@vary_on_headers("HX-Request")
def sync_detail(request: HtmxHttpRequest, workspace_slug: str) -> HttpResponse:
    """One workspace's sync region; htmx polls it while a run is active, and polling stops once the run ended."""
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    if not wants_fragment(request):
        return redirect(reverse("sync_list") + f"#sync-{workspace.slug}")
    (sync,) = selectors.workspace_syncs(request.user, workspace=workspace)
    html = render_to_string("sync/list.html#workspace-sync", {"sync": sync}, request=request)
    if sync.polling:
        return HttpResponse(html)
    # 286: htmx swaps this last state in and stops polling.
    return HttpResponseStopPolling(html)


@require_POST
def sync_request(request: HtmxHttpRequest, workspace_slug: str) -> HttpResponse:
    """ "Sync now": queue an incremental sync of the workspace, triggered by this user, unless one was started by
    hand too recently (`BBDASH_MANUAL_SYNC_MINUTES`; staff may send `override=1`). A refusal is a message, not an
    error page."""
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    refused = ""
    try:
        run = tasks.request_manual_sync(
            workspace=workspace, user=request.user, override=request.POST.get("override") == "1"
        )
    except pacing.ManualSyncRefused as exc:
        refused = str(exc)
    if wants_fragment(request):
        (sync,) = selectors.workspace_syncs(request.user, workspace=workspace)
        return render(request, "sync/list.html#workspace-sync", {"sync": sync, "refused": refused})
    if refused:
        messages.warning(request, refused)
    else:
        messages.success(request, f"Sync of {workspace.slug} {run.get_status_display().lower()}.")
    return redirect(reverse("sync_list") + f"#sync-{workspace.slug}")
