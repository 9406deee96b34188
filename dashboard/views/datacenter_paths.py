"""Bitbucket Data Center's own web paths, under the site's prefix: `/@<site-label>/projects/<KEY>/repos/<slug>/...`
and `/@<site-label>/users/<user>/repos/<slug>/...` (a personal project, key ``~user``). Each answers a redirect to
the dashboard's page for the same thing, so the path of a Data Center link opens it here.

The prefix starts with ``@``, which no Cloud workspace slug may hold, so these never shadow a Cloud workspace's
paths (and they come before them in urls.py). Every segment is checked before it is looked up; the site must be one
this deployment is configured for and the project one the viewer's own credential sees: anything else is a 404,
worded as for a page that does not exist.
"""

import re

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from bitbucket_sync import sites
from bitbucket_sync.client import path_problem
from bitbucket_sync.models import Repository, Workspace
from dashboard import selectors
from dashboard.views.htmx import HtmxHttpRequest

# Data Center project keys are letters, digits and underscores (its own rule: start with a letter); user slugs and
# repository slugs are what Data Center makes them from names: lower case letters, digits, `.`, `_`, `-`, `@`.
_PROJECT_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
_USER_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,254}")
_REPO_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_COMMIT = re.compile(r"[0-9a-fA-F]{7,40}")
# The pull request tabs Data Center's web paths name, and the dashboard's section for each ("" is the overview).
PULL_REQUEST_TABS = {"overview": "", "diff": "diff", "commits": "commits", "activity": "activity"}
_REF_PREFIXES = ("refs/heads/", "refs/tags/")


def _workspace(request: HtmxHttpRequest, site_label: str, key: str) -> Workspace:
    site = sites.datacenter_site_for_label(site_label)
    if site is None:
        raise Http404("No such Bitbucket Data Center site.")
    workspace = selectors.visible_workspaces(request.user).filter(api_url=site, key=key).first()
    if workspace is None:
        raise Http404("No such project, or your Bitbucket credential cannot see it.")
    return workspace


def _key(project_key: str | None, user_slug: str | None) -> str:
    if user_slug is not None:
        if not _USER_SLUG.fullmatch(user_slug):
            raise Http404("No such user.")
        return f"~{user_slug}"
    if project_key is None or not _PROJECT_KEY.fullmatch(project_key):
        raise Http404("No such project.")
    return project_key.upper()  # Data Center's keys are upper case; its links may spell them either way


def _repository(request: HtmxHttpRequest, kwargs: dict) -> tuple[Workspace, Repository]:
    key = _key(kwargs.get("project_key"), kwargs.get("user_slug"))
    slug = kwargs["repo_slug"]
    if not _REPO_SLUG.fullmatch(slug):
        raise Http404("No such repository.")
    workspace = _workspace(request, kwargs["site_label"], key)
    return workspace, selectors.repository_for_user(request.user, workspace=workspace, slug=slug.lower())


def _to(name: str, workspace: Workspace, repository: Repository, *rest: str | int) -> HttpResponseRedirect:
    """A redirect to the dashboard's page `name` of the repository (`rest`: the path arguments after its slug)."""
    return redirect(reverse(name, args=[workspace.slug, repository.slug, *rest]))


def _ref(value: str) -> str:
    """A ``?at=``/``?until=`` ref as the dashboard's paths name it: a branch or tag by name, a commit by hash."""
    for prefix in _REF_PREFIXES:
        if value.startswith(prefix):
            value = value.removeprefix(prefix)
            break
    if not value or path_problem(value) or any(ch.isspace() for ch in value):
        raise Http404("No such ref.")
    return value


@require_GET
def project_home(
    request: HtmxHttpRequest, site_label: str, project_key: str | None = None, user_slug: str | None = None
) -> HttpResponseRedirect:
    """`/@<label>/projects/<KEY>` (or `/users/<user>`): the project's page."""
    workspace = _workspace(request, site_label, _key(project_key, user_slug))
    return redirect(reverse("workspace_detail", args=[workspace.slug]))


@require_GET
def repository_home(request: HtmxHttpRequest, **kwargs: str) -> HttpResponseRedirect:
    """`.../repos/<slug>`: the repository's page."""
    return _to("repository_detail", *_repository(request, kwargs))


@require_GET
def browse(request: HtmxHttpRequest, path: str = "", **kwargs: str) -> HttpResponseRedirect:
    """`.../browse[/<path>][?at=<ref>]`: the source browser at that ref (the main branch without one)."""
    workspace, repository = _repository(request, kwargs)
    path = path.strip("/")
    if path and path_problem(path):
        raise Http404("No such path.")
    at = request.GET.get("at")
    if at is None and not path:
        return _to("source_root", workspace, repository)
    ref = _ref(at) if at is not None else (repository.main_branch or "HEAD")
    rest = f"{ref}/{path}" if path else f"{ref}/"
    return _to("source_detail", workspace, repository, rest)


@require_GET
def branches(request: HtmxHttpRequest, **kwargs: str) -> HttpResponseRedirect:
    """`.../branches`: the branches page."""
    return _to("branch_list", *_repository(request, kwargs))


@require_GET
def commits(request: HtmxHttpRequest, commit: str = "", **kwargs: str) -> HttpResponseRedirect:
    """`.../commits[?until=<ref>]` (a branch's log) or `.../commits/<hash>` (one commit)."""
    workspace, repository = _repository(request, kwargs)
    if commit:
        if not _COMMIT.fullmatch(commit):
            raise Http404("No such commit.")
        return _to("commit_list_ref", workspace, repository, commit.lower())
    until = request.GET.get("until")
    if until is not None:
        return _to("commit_list_ref", workspace, repository, _ref(until))
    return _to("commit_list", workspace, repository)


@require_GET
def pull_requests(request: HtmxHttpRequest, **kwargs: str) -> HttpResponseRedirect:
    """`.../pull-requests`: the repository's pull requests."""
    return _to("repository_pull_request_list", *_repository(request, kwargs))


@require_GET
def pull_request(request: HtmxHttpRequest, number: int, tab: str = "overview", **kwargs: str) -> HttpResponseRedirect:
    """`.../pull-requests/<n>[/overview|/diff|/commits|/activity]`: the pull request's page, on that tab."""
    if tab not in PULL_REQUEST_TABS:
        raise Http404("No such pull request tab.")
    workspace, repository = _repository(request, kwargs)
    pull_request = selectors.pull_request_for_user(request.user, repository=repository, number=number)
    section = PULL_REQUEST_TABS[tab]
    if section:
        return _to("pull_request_section", workspace, repository, pull_request.number, section)
    return _to("pull_request_detail", workspace, repository, pull_request.number)
