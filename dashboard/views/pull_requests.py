"""Pull request pages: the workspace inbox, a repository's list, and one pull request with its live sections."""

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from dashboard import rendering, selectors
from dashboard.filters import PullRequestFilterForm
from dashboard.forms.pickers import people_url, repository_url
from dashboard.selectors import insights, mentions
from dashboard.selectors.threads import pull_request_discussion_threads
from dashboard.views import access
from dashboard.views.changes import pull_request_version
from dashboard.views.htmx import HtmxHttpRequest, fragment, wants_fragment
from dashboard.views.pull_request_diff import diff_context, is_batch_request

# Bitbucket's own suffixes after /pull-requests/<id>/ and the region of our page each one opens.
SECTIONS = {"diff": "pr-diff", "commits": "pr-commits", "activity": "pr-discussion", "comments": "pr-discussion"}
# Sent when the discussion was read for the page; the review panel (pull_requests/_review.html) loads on it.
DISCUSSION_READ = "discussion-read"
# The regions showing the mirror (title, state, branches; reviewers; readiness) and their templates: they refresh
# themselves when it changes.
LIVE_REGIONS = {
    "pr-summary": "pull_requests/detail.html#pr-summary",
    "pr-reviewers": "pull_requests/detail.html#pr-reviewers",
    "pr-readiness": "pull_requests/_readiness.html#pr-readiness",
}


def _list(request: HtmxHttpRequest, *, workspace, repository=None) -> HttpResponse:
    me = selectors.account_for_user(request.user, workspace=workspace)
    choices = selectors.pull_request_filter_choices(request.user, workspace=workspace, repository=repository)
    form = PullRequestFilterForm(
        request.GET,
        with_repository=repository is None,
        people_url=people_url(workspace=workspace),
        repository_url=repository_url(workspace=workspace),
        **choices,
    )
    filters = form.cleaned_or_default()
    page = selectors.pull_request_page(
        request.user,
        workspace=workspace,
        repository=repository,
        me=me,
        filters=filters,
        number=request.GET.get("page"),
    )
    context = {
        "workspace": workspace,
        "repository": repository,
        "form": form,
        "filters": filters,
        "tabs": PullRequestFilterForm.TABS,
        "page": page,
        "me": me,
        "freshness": selectors.freshness(workspace),
        "nav": "workspace" if repository else "pull_requests",
    }
    return render(request, fragment(request, "pull_requests/list.html", "pr-table"), context)


@require_GET
@vary_on_headers("HX-Request")
def pull_request_list(request: HtmxHttpRequest, workspace_slug: str) -> HttpResponse:
    """The workspace inbox: Bitbucket has no workspace-wide pull request list; this is every repository's in one."""
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    return _list(request, workspace=workspace)


@require_GET
@vary_on_headers("HX-Request")
def repository_pull_request_list(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    return _list(request, workspace=workspace, repository=repository)


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def pull_request_detail(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int, rest: str = ""
) -> HttpResponse:
    """The pull request page. `rest` is what Bitbucket's URLs may carry after the id (`diff`, `commits`, a title
    slug): a known section is read live and shown; with htmx only that region is returned. An htmx request aimed at
    one of the mirrored regions (the live poller's refresh, from whichever of these URLs the page has) gets that
    region alone, read from the mirror only."""
    workspace, repository, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    section = next((SECTIONS[s] for s in reversed(rest.strip("/").split("/")) if s in SECTIONS), None)
    context: dict[str, Any] = {
        "workspace": workspace,
        "repository": repository,
        "pull_request": pull_request,
        "section": section,
        "nav": "pull_requests",
        "pr_url": reverse("pull_request_detail", args=[workspace.slug, repository.slug, pull_request.number]),
        "live_since": pull_request_version(pull_request),
        "live_versions": live_versions(pull_request),
    }
    if section == "pr-diff" and is_batch_request(request):
        # The next files of a diff already on the page: only them, nothing of the rest of the page.
        return render(request, "diffs/_batch.html", {**context, **diff_context(request, pull_request)})
    target = request.htmx.target if wants_fragment(request) else None
    if target is None or target in ("pr-summary", "pr-readiness"):
        # The panel, and the Merge button's note on what blocks it (the summary brings the buttons along).
        context["readiness"] = selectors.pull_request_readiness(
            pull_request,
            viewer=selectors.account_for_user(request.user, workspace=pull_request.workspace),
            pr_url=context["pr_url"],
        )
    if target == "pr-readiness" or (target is None and not (section and wants_fragment(request))):
        # The panel's reports line, once the Reports section has read them (nothing is sent to Bitbucket for it here).
        context["insights_summary"] = insights.reports_summary(request.user, pull_request=pull_request, read=False)
    if target in LIVE_REGIONS:
        # The summary brings the action buttons along (out of band): a merged pull request offers no Merge.
        context["live_refresh"] = True
        return render(request, LIVE_REGIONS[target], context)
    names = mentions.mention_names(workspace, [pull_request.description])
    context["description_html"] = rendering.markdown(pull_request.description, names)
    selectors.refresh_pull_request_conflicts(request.user, pull_request=pull_request)
    if section is not None:
        context.update(_section(request, pull_request, section))
    if section is not None and wants_fragment(request):
        response = render(request, f"pull_requests/detail.html#{section}", context)
        if section == "pr-discussion":
            # The review panel reads the same discussion: it loads now, from the cache this read just filled.
            trigger_client_event(response, DISCUSSION_READ)
        return response
    return render(request, "pull_requests/detail.html", context)


def live_versions(pull_request) -> dict[str, str]:
    """What each live section of the page is read for, as the summary and the section both say it (the summary's
    refresh re-reads a section whose version moved: static/js/live-sections.js). The discussion follows the pull
    request's updates (a new comment moves `updated_on`, which also keys its cached read); the commits and the diff
    follow the source commit: a review or a build elsewhere does not reload a diff someone is reading."""
    return {
        "discussion": f"{pull_request.updated_on.isoformat()}/{pull_request.comment_count}/{pull_request.task_count}",
        "commits": pull_request.source_commit,
        "diff": pull_request.source_commit,
    }


def _section(request: HtmxHttpRequest, pull_request, section: str) -> dict:
    if section == "pr-diff":
        return diff_context(request, pull_request)
    loaders = {
        "pr-commits": ("commits", selectors.pull_request_commits),
        "pr-discussion": ("discussion", pull_request_discussion_threads),
    }
    name, load = loaders[section]
    try:
        return {name: load(request.user, pull_request=pull_request), f"{name}_loaded": True}
    except selectors.LiveReadError as exc:
        return {f"{name}_error": str(exc), f"{name}_loaded": True}
