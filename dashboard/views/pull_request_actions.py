"""Pull request actions: open, edit, review, comment, merge (with live progress of Bitbucket's merge task), decline."""

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from bitbucket_sync import actions, drafts
from bitbucket_sync.actions import receipts
from bitbucket_sync.models import Account, Workspace
from dashboard import selectors
from dashboard.forms.pickers import branch_url, people_url
from dashboard.forms.writes import (
    REVIEW_VERDICTS,
    CommentForm,
    DeclineForm,
    MergeForm,
    PullRequestForm,
    PullRequestUpdateForm,
    ReviewForm,
)
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest, fragment
from dashboard.views.writes import branch_from_url, done, live_branches, perform, replay

# The page polls Bitbucket's merge task this often; each poll is one request against the user's hourly budget.
MERGE_POLL_SECONDS = 1
# The general comment box's name among the user's saved comment drafts (its textarea's data-draft-key).
GENERAL_DRAFT = "general"
# Fast merges finish within this wait on the server, so the page goes straight to the merged pull request.
MERGE_WAIT_SECONDS = 2.0


def _pr_url(workspace, repository, pull_request) -> str:
    return reverse("pull_request_detail", args=[workspace.slug, repository.slug, pull_request.number])


def reviewer_candidates(request: HtmxHttpRequest, workspace: Workspace) -> list[Account]:
    """Workspace members a pull request can name as reviewers (Bitbucket refuses the author as one)."""
    return selectors.reviewer_candidates(workspace, me=selectors.account_for_user(request.user, workspace=workspace))


def picking(workspace: Workspace, repository, *, branches=(), people=()) -> dict[str, Any]:
    """A write form's picker arguments: the branches and people it may name, and where its boxes find suggestions
    (the reviewer box leaves out the viewer, as `reviewer_candidates` does)."""
    return {
        "branches": branches,
        "branch_url": branch_url(repository),
        "people": people,
        "suggest_url": people_url(workspace=workspace, exclude_me=True),
    }


@dataclass(frozen=True)
class ReviewerDefaults:
    """What a new pull request's form preselects, and one quiet line saying why (or why not)."""

    preselected: list[str]
    note: str = ""


def reviewer_defaults(request: HtmxHttpRequest, repository, people) -> ReviewerDefaults:
    """The repository's effective default reviewers among ``people`` (the form's choices), read from Bitbucket.

    Reading them costs one request per form; when it fails the form still works, with nobody preselected.
    """
    found = actions.default_reviewers(user=request.user, repository=repository)
    if found.problem:
        return ReviewerDefaults([], f"Default reviewers not preselected: {found.problem}")
    offered = {p.bitbucket_uuid for p in people}
    preselected = [a.uuid for a in found.accounts if a.uuid in offered]
    # A default reviewer the mirror does not list as a member yet (the next sync brings them) cannot be offered.
    missing = [a.display_name or a.nickname or a.uuid for a in found.accounts if a.uuid not in offered]
    notes = []
    if preselected:
        notes.append("This repository's default reviewers are preselected.")
    if missing:
        notes.append(f"Default reviewers not among the members here yet: {', '.join(missing)}.")
    return ReviewerDefaults(preselected, " ".join(notes))


def _require_open(pull_request):
    if pull_request.state != "OPEN":
        raise PermissionDenied(f"Pull request #{pull_request.number} is {pull_request.state.lower()}.")


# --- open ----------------------------------------------------------------------------------------------------------


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def pull_request_create(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """New pull request; ``?source=&destination=`` choose the branches and prefill title and description."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need="write")
    branches = live_branches(repository)
    people = reviewer_candidates(request, workspace)
    pickers = picking(workspace, repository, branches=branches, people=people)
    context = {"workspace": workspace, "repository": repository, "nav": "workspace"}

    def page(form, failure=None):
        context.update(form=form, failure=failure)
        return render(request, fragment(request, "pull_requests/create.html", "pr-form"), context)

    if request.method == "GET":
        source = branch_from_url(request, "source", next((b for b in branches if b != repository.main_branch), ""))
        destination = branch_from_url(request, "destination", repository.main_branch)
        defaults = reviewer_defaults(request, repository, people)
        context["reviewer_note"] = defaults.note
        initial = {
            "source": source,
            "destination": destination,
            "close_source_branch": True,
            "reviewers": defaults.preselected,
        }
        if source and destination and source != destination:
            initial["title"], initial["description"] = actions.pull_request_draft(
                user=request.user, repository=repository, source=source, destination=destination
            )
        return page(PullRequestForm(initial=initial, workspace=workspace, **pickers))

    form = PullRequestForm(request.POST, workspace=workspace, **pickers)
    if not form.is_valid():
        return page(form)
    data = form.cleaned_data

    def run():
        pull_request = actions.open_pull_request(
            user=request.user,
            repository=repository,
            source=data["source"],
            destination=data["destination"],
            title=data["title"],
            description=data["description"],
            reviewers=data["reviewers"],
            close_source_branch=data["close_source_branch"],
            draft=data["draft"],
        )
        return _pr_url(workspace, repository, pull_request), f"Opened pull request #{pull_request.number}."

    return perform(request, form=form, action="pull_request.open", run=run, failed=lambda f: page(form, f))


# --- update --------------------------------------------------------------------------------------------------------


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def pull_request_update(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int) -> HttpResponse:
    workspace, repository, pull_request = access.pull_request_for_user(
        request, workspace_slug, repo_slug, number, need="write"
    )
    if request.method == "POST" and (earlier := replay(request, "pull_request.update")):
        return earlier
    _require_open(pull_request)
    branches = [b for b in live_branches(repository) if b != pull_request.source_branch]
    people = reviewer_candidates(request, workspace)
    pickers = picking(workspace, repository, branches=branches, people=people)
    context = {"workspace": workspace, "repository": repository, "pull_request": pull_request, "nav": "workspace"}

    def page(form, failure=None):
        context.update(form=form, failure=failure)
        return render(request, fragment(request, "pull_requests/update.html", "pr-edit-form"), context)

    if request.method == "GET":
        reviewers = pull_request.reviewers  # type: ignore[attr-defined]  # set by selectors.pull_request_for_user
        initial = {
            "title": pull_request.title,
            "description": pull_request.description,
            "destination": pull_request.destination_branch,
            "reviewers": [p.account.bitbucket_uuid for p in reviewers],
        }
        return page(PullRequestUpdateForm(initial=initial, workspace=workspace, **pickers))

    form = PullRequestUpdateForm(request.POST, workspace=workspace, **pickers)
    if not form.is_valid():
        return page(form)
    data = form.cleaned_data

    def run():
        actions.update_pull_request(
            user=request.user,
            pull_request=pull_request,
            title=data["title"],
            description=data["description"],
            reviewers=data["reviewers"],
            destination=data["destination"],
        )
        return _pr_url(workspace, repository, pull_request), f"Updated pull request #{number}."

    return perform(request, form=form, action="pull_request.update", run=run, failed=lambda f: page(form, f))


# --- review and comment ----------------------------------------------------------------------------------------------


def _action_panel(
    request: HtmxHttpRequest, workspace, repository, pull_request, *, failure=None, comment_form=None
) -> HttpResponse:
    """The pull request page's action region (#pr-actions) alone, e.g. to show a failed review in place."""
    context = {
        "workspace": workspace,
        "repository": repository,
        "pull_request": pull_request,
        "failure": failure,
        "comment_form": comment_form,
    }
    if request.htmx:
        return render(request, "pull_requests/_actions.html", context)
    return render(request, "pull_requests/failed.html", context)


@access.acts_on_bitbucket
@require_POST
def pull_request_review(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int) -> HttpResponse:
    """Approve, request changes, or withdraw either: read access is enough, as on Bitbucket."""
    workspace, repository, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        raise Http404("Unknown review.")
    verdict = form.cleaned_data["verdict"]
    service = getattr(actions, verdict)

    def run():
        service(user=request.user, pull_request=pull_request)
        return _pr_url(workspace, repository, pull_request), f"{REVIEW_VERDICTS[verdict]}: done."

    return perform(
        request,
        form=form,
        action=f"pull_request.{verdict}",
        run=run,
        failed=lambda f: _action_panel(request, workspace, repository, pull_request, failure=f),
    )


@access.acts_on_bitbucket
@require_POST
def pull_request_comment(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int) -> HttpResponse:
    workspace, repository, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _action_panel(
            request,
            workspace,
            repository,
            pull_request,
            comment_form=form,
            failure=actions.ActionFailed("Write something to comment.", kind="invalid"),
        )

    pending = form.cleaned_data["pending"]

    def run():
        actions.comment(user=request.user, pull_request=pull_request, text=form.cleaned_data["text"], pending=pending)
        drafts.discard_draft(request.user, pull_request, GENERAL_DRAFT)
        return _pr_url(workspace, repository, pull_request), "Added to your review." if pending else "Comment posted."

    return perform(
        request,
        form=form,
        action="pull_request.comment",
        run=run,
        failed=lambda f: _action_panel(request, workspace, repository, pull_request, failure=f, comment_form=form),
    )


# --- merge ---------------------------------------------------------------------------------------------------------


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def pull_request_merge(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int) -> HttpResponse:
    """The merge form: the strategies the destination allows (its default first), a message per strategy, and the
    source commit the page was loaded at, which the service checks again before merging."""
    workspace, repository, pull_request = access.pull_request_for_user(
        request, workspace_slug, repo_slug, number, need="write"
    )
    if request.method == "POST" and (earlier := replay(request, "pull_request.merge")):
        return earlier
    _require_open(pull_request)
    try:
        options = actions.merge_options(user=request.user, pull_request=pull_request)
    except actions.ActionRefused as refused:
        raise PermissionDenied(refused.message) from None
    context = {
        "workspace": workspace,
        "repository": repository,
        "pull_request": pull_request,
        "options": options,
        "nav": "workspace",
        # What Bitbucket will refuse and what is only advice, from the mirror: said above the form, never enforced
        # here (the mirror may be a little behind; Bitbucket decides).
        "readiness": selectors.pull_request_readiness(
            pull_request,
            viewer=selectors.account_for_user(request.user, workspace=workspace),
            pr_url=_pr_url(workspace, repository, pull_request),
        ),
    }

    def page(form, failure=None, region="merge-form"):
        context.update(form=form, failure=failure)
        return render(request, fragment(request, "pull_requests/merge.html", region), context)

    if request.method == "GET":
        strategy = request.GET.get("strategy")
        if strategy in options.strategies and request.htmx:
            # The strategy select asks for its message: only the message region comes back.
            context["message"] = options.messages[strategy]
            return render(request, "pull_requests/merge.html#merge-message", context)
        form = MergeForm(
            initial={
                "strategy": options.default,
                "message": options.messages[options.default],
                "close_source_branch": pull_request.close_source_branch,
                "expected_source_commit": pull_request.source_commit,
            },
            strategies=options.strategies,
        )
        context["message"] = options.messages[options.default]
        return page(form)

    form = MergeForm(request.POST, strategies=options.strategies)
    context["message"] = request.POST.get("message", "")
    if not form.is_valid():
        return page(form)
    data = form.cleaned_data
    receipt, fresh = receipts.claim(
        user=request.user, key=data["idempotency_key"], action="pull_request.merge", pull_request=pull_request
    )
    if not fresh:
        if receipt.user_id != request.user.pk or receipt.pull_request_id != pull_request.pk:
            raise Http404("No such form.")
        if receipt.result_url:
            return done(request, receipt.result_url, "That merge was already done (the form was sent twice).")
        return _merge_progress(request, context, receipt)
    try:
        outcome = actions.merge_pull_request(
            user=request.user,
            pull_request=pull_request,
            strategy=data["strategy"],
            expected_source_commit=data["expected_source_commit"],
            message=data["message"],
            close_source_branch=data["close_source_branch"],
            wait_seconds=MERGE_WAIT_SECONDS,
        )
    except actions.ActionRefused as refused:
        receipts.release(receipt)
        raise PermissionDenied(refused.message) from None
    except actions.ActionFailed as failure:
        receipts.release(receipt)
        form.with_fresh_key()
        if isinstance(failure, actions.SourceMoved):
            # The form now vouches for the commit the user has just been shown.
            data_copy = cast(dict[str, Any], form.data).copy()  # request.POST, a QueryDict: a dict that copies
            data_copy["expected_source_commit"] = failure.details.get("current", "")
            form.data = data_copy
        return page(form, failure)
    except BaseException:
        receipts.release(receipt)  # a fault of ours: the same form may be sent again
        raise
    url = _pr_url(workspace, repository, pull_request)
    if outcome.pending:
        receipts.complete(receipt, result_url="", task_url=outcome.task_url)
        return _merge_progress(request, context, receipt, strategy=data["strategy"])
    receipts.complete(receipt, result_url=url)
    return done(request, url, f"Merged pull request #{number}.")


def _merge_progress(
    request: HtmxHttpRequest, context, receipt, *, strategy="", failure=None, status=200
) -> HttpResponse:
    status_url = reverse(
        "pull_request_merge_status",
        args=[context["workspace"].slug, context["repository"].slug, context["pull_request"].number, receipt.key],
    )
    context.update(
        receipt=receipt,
        status_url=f"{status_url}?{urlencode({'strategy': strategy})}" if strategy else status_url,
        poll_seconds=MERGE_POLL_SECONDS,
        failure=failure,
    )
    if request.htmx:
        return render(request, "pull_requests/merge.html#merge-form", context, status=status)
    return render(request, "pull_requests/merge.html", context, status=status)


@require_GET
@vary_on_headers("HX-Request")
def pull_request_merge_status(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int, key: str
) -> HttpResponse:
    """One look at a running merge (the page polls this): still running, merged, or failed with the reason."""
    workspace, repository, pull_request = access.pull_request_for_user(
        request, workspace_slug, repo_slug, number, need="write"
    )
    # Only a merge started for this very pull request: another's key would poll that merge and write its outcome here.
    receipt = selectors.merge_receipt(request.user, key=key, pull_request=pull_request)
    if receipt is None or not (receipt.task_url or receipt.result_url):
        raise Http404("No such merge.")
    url = _pr_url(workspace, repository, pull_request)
    if receipt.result_url:
        return HttpResponseClientRedirect(url) if request.htmx else done(request, url)
    context = {"workspace": workspace, "repository": repository, "pull_request": pull_request, "nav": "workspace"}
    strategy = request.GET.get("strategy", "")
    strategy = strategy if strategy in actions.STRATEGY_LABELS else ""
    try:
        outcome = actions.merge_status(
            user=request.user, pull_request=pull_request, task_url=receipt.task_url, strategy=strategy
        )
    except actions.ActionRefused as refused:
        raise PermissionDenied(refused.message) from None
    except actions.ActionFailed as failure:
        receipts.release(receipt)
        options = actions.merge_options(user=request.user, pull_request=pull_request)
        context.update(options=options, message="")
        form = MergeForm(
            initial={
                "strategy": options.default,
                "message": options.messages[options.default],
                "expected_source_commit": pull_request.source_commit,
            },
            strategies=options.strategies,
        )
        context.update(form=form, failure=failure, message=options.messages[options.default])
        return render(request, fragment(request, "pull_requests/merge.html", "merge-form"), context)
    if outcome.pending:
        return _merge_progress(request, context, receipt, strategy=strategy)
    receipts.complete(receipt, result_url=url)
    messages.success(request, f"Merged pull request #{number}.")
    return HttpResponseClientRedirect(url) if request.htmx else done(request, url)


# --- decline -------------------------------------------------------------------------------------------------------


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def pull_request_decline(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int) -> HttpResponse:
    workspace, repository, pull_request = access.pull_request_for_user(
        request, workspace_slug, repo_slug, number, need="write"
    )
    if request.method == "POST" and (earlier := replay(request, "pull_request.decline")):
        return earlier
    _require_open(pull_request)
    context = {"workspace": workspace, "repository": repository, "pull_request": pull_request, "nav": "workspace"}

    def page(form, failure=None):
        context.update(form=form, failure=failure)
        return render(request, fragment(request, "pull_requests/decline.html", "decline-form"), context)

    if request.method == "GET":
        return page(DeclineForm(workspace=workspace))
    form = DeclineForm(request.POST, workspace=workspace)
    if not form.is_valid():
        return page(form)

    def run():
        outcome = actions.decline_pull_request(
            user=request.user, pull_request=pull_request, reason=form.cleaned_data["reason"]
        )
        return _pr_url(workspace, repository, pull_request), f"Declined pull request #{number}. {outcome.note}".strip()

    return perform(request, form=form, action="pull_request.decline", run=run, failed=lambda f: page(form, f))
