"""Workspace pages: the repository list of a workspace (`/<workspace>/`)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import selectors
from dashboard.filters import RepositoryFilterForm
from dashboard.views.htmx import HtmxHttpRequest, fragment


@require_GET
@vary_on_headers("HX-Request")
def workspace_detail(request: HtmxHttpRequest, workspace_slug: str) -> HttpResponse:
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    choices = selectors.repository_filter_choices(request.user, workspace=workspace)
    form = RepositoryFilterForm(request.GET, **choices)
    page = selectors.repository_page(
        request.user, workspace=workspace, filters=form.cleaned_or_default(), number=request.GET.get("page")
    )
    context = {
        "workspace": workspace,
        "form": form,
        "page": page,
        "freshness": selectors.freshness(workspace),
        "nav": "workspace",
    }
    return render(request, fragment(request, "workspaces/detail.html", "repo-table"), context)
