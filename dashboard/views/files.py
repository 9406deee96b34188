"""The source browser: `/<ws>/<repo>/src/<ref>/<path>`, a directory listing or a highlighted file, read live."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from dashboard import selectors
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest


@require_GET
def source_root(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """`/src/` without a ref: Bitbucket opens the main branch, so do we."""
    _, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    rest = f"{repository.main_branch or 'HEAD'}/"
    return redirect(reverse("source_detail", args=[workspace_slug, repo_slug, rest]))


@require_GET
def source_detail(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, rest: str) -> HttpResponse:
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    location = selectors.split_ref_and_path(repository, rest)
    context = {
        "workspace": workspace,
        "repository": repository,
        "location": location,
        "crumbs": _crumbs(location.path),
        # Reversed once (as is the permalink below): rows and lines append to them (see the url_path filter).
        "ref_url": reverse("source_detail", args=[workspace.slug, repository.slug, f"{location.ref}/"]),
        "nav": "workspace",
    }
    try:
        context["source"] = selectors.source_at(request.user, repository=repository, location=location)
    except selectors.LiveReadError as exc:
        context["error"] = str(exc)
    # After the read, which resolves a branch to the commit it is at.
    context["permalink"] = reverse(
        "source_detail", args=[workspace.slug, repository.slug, f"{location.commit}/{location.path}"]
    )
    return render(request, "files/source.html", context)


def _crumbs(path: str) -> list[tuple[str, str]]:
    """(name, path up to it) for each directory of `path`, for the breadcrumb trail."""
    parts = [p for p in path.split("/") if p]
    return [(name, "/".join(parts[: i + 1])) for i, name in enumerate(parts)]
