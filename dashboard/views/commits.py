"""History: the commit log (`/<ws>/<repo>/commits/[<ref>]`, `/commits/branch/<name>`), a commit
(`/commits/<hash>`) and a file's history (`/<ws>/<repo>/history/<ref>/<path>`); read live with the viewer's
credential, cached by commit hash (see `bitbucket_sync.browse_commits` for what each view costs)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import selectors
from dashboard.selectors import commits as history
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest, fragment

AUTHOR_MAX = 100


@require_GET
@vary_on_headers("HX-Request")
def commit_list(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, rest: str = "") -> HttpResponse:
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    target = history.log_target(repository, rest)
    if target.commit:
        return commit_detail(request, workspace, repository, target.commit)
    path = history.checked_path(request.GET.get("path"))
    author = (request.GET.get("author") or "").strip()[:AUTHOR_MAX]
    cursor = history.checked_cursor(request.GET.get("page"))
    at = history.checked_head(request.GET.get("at")) if cursor else None
    context = {
        "workspace": workspace,
        "repository": repository,
        "target": target,
        "path": path,
        "author": author,
        "nav": "workspace",
    }
    if not target.ref:
        context["error"] = "This repository has no branches yet."
    else:
        try:
            context["log"] = history.commit_log(
                request.user, repository=repository, target=target, path=path, author=author, cursor=cursor, at=at
            )
        except selectors.LiveReadError as exc:
            context["error"] = str(exc)
    return render(request, fragment(request, "commits/list.html", "commit-table"), context)


def commit_detail(request: HtmxHttpRequest, workspace, repository, commit: str) -> HttpResponse:
    context = {"workspace": workspace, "repository": repository, "hash": commit, "nav": "workspace"}
    try:
        context["detail"] = history.commit_detail(request.user, repository=repository, commit=commit)
    except selectors.LiveReadError as exc:
        context["error"] = str(exc)
    return render(request, "commits/detail.html", context)


@require_GET
@vary_on_headers("HX-Request")
def file_history(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, rest: str) -> HttpResponse:
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    location = selectors.split_ref_and_path(repository, rest)
    cursor = history.checked_cursor(request.GET.get("page"))
    at = history.checked_head(request.GET.get("at")) if cursor else None
    context = {
        "workspace": workspace,
        "repository": repository,
        "location": location,
        "file_url": reverse("source_detail", args=[workspace.slug, repository.slug, f"{location.ref}/{location.path}"]),
        "nav": "workspace",
    }
    try:
        context["history"] = history.file_history(
            request.user, repository=repository, location=location, cursor=cursor, at=at
        )
    except selectors.LiveReadError as exc:
        context["error"] = str(exc)
    return render(request, fragment(request, "commits/history.html", "history-table"), context)
