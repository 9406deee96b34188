"""Repository pages: overview (`/<ws>/<repo>/`), branches and watchers ("followers")."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import selectors
from dashboard.filters import SearchForm
from dashboard.selectors.compare import attach_ahead_behind, base_name
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest, fragment


@require_GET
@vary_on_headers("HX-Request")
def repository_detail(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    me = selectors.account_for_user(request.user, workspace=workspace)
    recent = selectors.pull_request_page(
        request.user, workspace=workspace, repository=repository, me=me, filters={"tab": "open"}, number=1
    )
    context = {
        "workspace": workspace,
        "repository": repository,
        "summary": selectors.repository_summary(repository),
        "page": recent,
        "freshness": selectors.freshness(workspace),
        "nav": "workspace",
    }
    # The overview alone for the live refresh (templates/webhooks/_live_poller.html).
    return render(request, fragment(request, "repositories/detail.html", "repo-overview"), context)


@require_GET
@vary_on_headers("HX-Request")
def branch_list(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    form = SearchForm(request.GET)
    page = selectors.branch_page(repository, number=request.GET.get("page"), text=form.cleaned_or_default()["q"])
    # Ahead/behind read before for these rows' tips (no request); the other cells ask once they are on screen.
    base = attach_ahead_behind(request.user, repository, page.object_list)
    context = {
        "base": base.name if base else base_name(request.user, repository),
        "workspace": workspace,
        "repository": repository,
        "form": form,
        "page": page,
        "freshness": selectors.freshness(workspace),
        "nav": "workspace",
    }
    return render(request, fragment(request, "repositories/branches.html", "branch-table"), context)


@require_GET
@vary_on_headers("HX-Request")
def watcher_list(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    page = selectors.watcher_page(repository, number=request.GET.get("page"))
    context = {
        "workspace": workspace,
        "repository": repository,
        "page": page,
        "freshness": selectors.freshness(workspace),
        "nav": "workspace",
    }
    return render(request, fragment(request, "repositories/watchers.html", "watcher-table"), context)
