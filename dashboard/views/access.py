"""Who may open what: the one place views ask for a repository or pull request on a user's behalf, and the guard of
the staff pages.

The data comes from the selectors, which see only what the user's Bitbucket credential sees: anything else is a 404,
worded as for a page that does not exist. A write needs write permission too: a repository the user sees read only
is a 403 that says so, and nothing is sent to Bitbucket.

A member gets the same 404 on a staff page as for a page that does not exist, so a staff page reveals nothing, not
even that it is there; the guard runs before the method check, so a GET on a staff-only POST answers 404 too.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from bitbucket_sync.models import PullRequest, Repository, Workspace
from dashboard import selectors
from dashboard.selectors import sites

type Need = Literal["read", "write"]


def repository_for_user(
    request: HttpRequest, workspace_slug: str, repo_slug: str, *, need: Need = "read"
) -> tuple[Workspace, Repository]:
    """The workspace and repository named in the URL: 404 unless the user sees them, 403 for a write on read only."""
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    repository = selectors.repository_for_user(request.user, workspace=workspace, slug=repo_slug)
    # Nothing is written where bbdash may not act (Data Center, an archived repository), whatever the permission:
    # the buttons that read `can_write` are not offered, and `acts_on_bitbucket` refuses the write URLs.
    reason = sites.action_refusal(workspace, repository)
    if reason:
        repository.can_write = False
        if need == "write":
            raise PermissionDenied(reason)
    if need == "write" and not repository.can_write:
        raise PermissionDenied(f"You have read-only access to {repository.full_name}.")
    return workspace, repository


def pull_request_for_user(
    request: HttpRequest, workspace_slug: str, repo_slug: str, number: int, *, need: Need = "read"
) -> tuple[Workspace, Repository, PullRequest]:
    """The pull request named in the URL with its workspace and repository, as `repository_for_user` decides."""
    workspace, repository = repository_for_user(request, workspace_slug, repo_slug, need=need)
    return workspace, repository, selectors.pull_request_for_user(request.user, repository=repository, number=number)


def refused(request: HttpRequest, workspace: Workspace, repository: Repository | None = None) -> HttpResponse | None:
    """The 403 page saying why nothing may be written here, or None when acting is allowed."""
    reason = sites.action_refusal(workspace, repository)
    if not reason:
        return None
    context = {"workspace": workspace, "repository": repository, "reason": reason}
    return render(request, "refused.html", context, status=403)


def acts_on_bitbucket[V: Callable[..., HttpResponse]](view: V) -> V:
    """Guard a view that writes to Bitbucket: where bbdash may not act (`sites.action_refusal`: a Data Center project,
    an archived repository) it answers 403 with the reason, for any method, before the view runs and before anything
    is sent. What the user cannot see stays a 404. Tests find these views by the `acts_on_bitbucket` mark."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        workspace = selectors.workspace_for_user(request.user, slug=kwargs["workspace_slug"])
        repository = None
        if "repo_slug" in kwargs:
            repository = selectors.repository_for_user(request.user, workspace=workspace, slug=kwargs["repo_slug"])
        return refused(request, workspace, repository) or view(request, *args, **kwargs)

    guarded.acts_on_bitbucket = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def is_staff(user: Any) -> bool:
    return bool(user.is_active and user.is_staff)


def staff_only[V: Callable[..., HttpResponse]](view: V) -> V:
    """Answer 404 unless the signed-in user is active staff; tests find staff pages by the `staff_only` mark."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_staff(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    guarded.staff_only = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]
