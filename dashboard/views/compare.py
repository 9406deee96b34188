"""Comparing refs: `/<ws>/<repo>/branches/compare/<source>..<destination>` and the branches page's ahead/behind
cells (`/<ws>/<repo>/branches/ahead-behind?branch=`)."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync.browse import LiveReadError
from dashboard.forms.compare import CompareForm
from dashboard.forms.pickers import suggest_branches
from dashboard.selectors import compare as selectors
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest


def compare_url(workspace_slug: str, repo_slug: str, source: str, destination: str) -> str:
    return reverse("branch_compare", args=[workspace_slug, repo_slug, f"{source}..{destination}"])


@require_GET
def branch_compare_form(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """Pick two refs; a valid pair goes to its compare page. ``?source=`` alone (a branch row's "Compare") fills
    the destination with the base branch."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    data = request.GET.copy()
    if "source" in data and not data.get("destination"):
        data["destination"] = selectors.base_name(request.user, repository)
    form = suggest_branches(CompareForm(data if "source" in data else None), repository, "source", "destination")
    if form.is_valid():
        return redirect(compare_url(workspace.slug, repository.slug, **form.cleaned_data))
    context = {
        "workspace": workspace,
        "repository": repository,
        "form": form,
        "nav": "workspace",
    }
    return render(request, "compare/compare.html", context)


@require_GET
def branch_compare(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, spec: str) -> HttpResponse:
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    source, destination = selectors.split_spec(spec)
    context = {
        "workspace": workspace,
        "repository": repository,
        "form": suggest_branches(
            CompareForm(initial={"source": source, "destination": destination}), repository, "source", "destination"
        ),
        "source": source,
        "destination": destination,
        "swap_url": compare_url(workspace.slug, repository.slug, destination, source),
        "nav": "workspace",
    }
    try:
        context["page"] = selectors.compare_page(request.user, repository, source=source, destination=destination)
    except LiveReadError as exc:
        context["error"] = str(exc)
    return render(request, "compare/compare.html", context)


@require_GET
@vary_on_headers("HX-Request")
def branch_ahead_behind(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """One branch row's ahead/behind cell, read when the row comes into view (two requests once per pair of tips)."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    branch, counts = selectors.branch_ahead_behind(request.user, repository, name=request.GET.get("branch", ""))
    context = {
        "workspace": workspace,
        "repository": repository,
        "branch": branch,
        "counts": counts,
        "base": selectors.base_name(request.user, repository),
    }
    return render(request, "compare/_ahead_behind.html", context)
