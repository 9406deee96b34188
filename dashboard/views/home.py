"""The home page: what waits on the user across workspaces, their workspaces with their counts and how fresh each
one is."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import selectors
from dashboard.views.htmx import HtmxHttpRequest, fragment


@require_GET
@vary_on_headers("HX-Request")
def home(request: HtmxHttpRequest) -> HttpResponse:
    credentials = selectors.active_credentials(request.user)
    credential = credentials[0] if credentials else None
    # Every account of the user (one per site): the workspaces of each site count what waits on its own account.
    me = [c.account for c in credentials if c.account is not None]
    context = {
        "me": me,
        "credential": credential,
        "workspaces": selectors.workspaces_with_counts(request.user, me=me),
        "attention": selectors.attention_counts(me=me, scope=selectors.attention_scope(request.user)),
    }
    # The counts alone for the live refresh (templates/webhooks/_live_poller.html).
    return render(request, fragment(request, "home.html", "home-counts"), context)
