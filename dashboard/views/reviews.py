"""A review in progress: comment text autosaved server-side, and the review panel (#pr-review) that publishes the
user's pending comments with a summary and a decision, or discards them.

Everything here is the signed-in user's own: drafts are looked up by the user as well as the pull request and the
box, and pending comments are read with the user's own credential (Bitbucket shows a draft to its author only).
A pull request the user cannot see is a 404, for the JSON endpoint and the fragments alike.
"""

from typing import Any

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync import actions, drafts
from dashboard import selectors
from dashboard.forms.reviews import DraftForm, ReviewDiscardForm, ReviewPublishForm
from dashboard.selectors.threads import Post, Thread, pull_request_threads
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest, wants_fragment
from dashboard.views.writes import perform

# A view that adds a pending comment in place (no redirect) answers with this client event (HX-Trigger): the review
# panel reloads on it, keeping what is being typed in its summary.
REVIEW_CHANGED = "review-changed"

# --- comment drafts --------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def pull_request_drafts(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int) -> HttpResponse:
    """GET ``?key=``: the user's saved text of that comment box (``{"key", "text"}``, text "" when none); POST
    ``key`` and ``text``: keep it (blank text forgets it), answered 204. Only the user's own drafts, ever."""
    _, _, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    form = DraftForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return JsonResponse({"error": "; ".join(str(e) for errors in form.errors.values() for e in errors)}, status=400)
    key = form.cleaned_data["key"]
    if request.method == "GET":
        return JsonResponse({"key": key, "text": drafts.draft_text(request.user, pull_request, key)})
    try:
        drafts.save_draft(request.user, pull_request, key, form.cleaned_data["text"])
    except drafts.DraftRefused as refused:
        return JsonResponse({"error": refused.message}, status=400)
    return HttpResponse(status=204)


# --- the review panel ------------------------------------------------------------------------------------------


def _pending(threads) -> list[tuple[Post, Thread]]:
    """The viewer's own pending comments (roots and replies), oldest first, each with its thread."""
    return [
        (post, thread)
        for thread in threads.threads
        for post in thread.posts
        if post.mine and post.comment.pending and not post.comment.deleted
    ]


def _panel(
    request: HtmxHttpRequest,
    workspace,
    repository,
    pull_request,
    *,
    form: ReviewPublishForm | None = None,
    failure: actions.ActionFailed | None = None,
    confirm: ReviewDiscardForm | None = None,
    kept_ids: list[int] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The #pr-review region (a small page of its own without htmx). ``kept_ids``: what is still pending after a
    failure, listed even if Bitbucket cannot be read again right now."""
    me = selectors.account_for_user(request.user, workspace=workspace)
    pr_url = reverse("pull_request_detail", args=[workspace.slug, repository.slug, pull_request.number])
    context: dict[str, Any] = {
        "workspace": workspace,
        "repository": repository,
        "pull_request": pull_request,
        "pr_url": pr_url,
        "nav": "pull_requests",
        "review_loaded": True,
        "failure": failure,
        "confirm": confirm,
        "discard_ids": kept_ids or [],
        "can_approve": me is None or pull_request.author_id != me.pk,
    }
    pending: list[tuple[Post, Thread]] = []
    try:
        threads = pull_request_threads(
            request.user, pull_request=pull_request, viewer_account_id=me.account_id if me else None
        )
        pending = _pending(threads)
    except selectors.LiveReadError as exc:
        context["review_error"] = str(exc)
    context["pending"] = pending
    context["pending_ids"] = [post.id for post, _ in pending] if "review_error" not in context else (kept_ids or [])
    if form is None:
        summary = drafts.draft_text(request.user, pull_request, drafts.REVIEW_SUMMARY)
        form = ReviewPublishForm(initial={"summary": summary, "decision": "comment"})
    context["form"] = form
    summary_value = form["summary"].value() or ""
    context["started"] = bool(context["pending_ids"]) or bool(summary_value.strip()) or failure is not None
    if wants_fragment(request):
        return render(request, "pull_requests/_review.html", context, status=status)
    page = {**context, "region": "pull_requests/_review.html"}
    return render(request, "pull_requests/section_page.html", page, status=status)


@require_GET
@vary_on_headers("HX-Request")
def pull_request_review_panel(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int
) -> HttpResponse:
    """The user's review in progress: their pending comments, the summary box and the decision."""
    workspace, repository, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    return _panel(request, workspace, repository, pull_request)


@access.acts_on_bitbucket
@require_POST
def pull_request_review_publish(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int
) -> HttpResponse:
    """Publish the listed pending comments, the summary and the decision; a failure part way re-renders the panel
    saying what was published and what is left, the summary kept unless it was posted."""
    workspace, repository, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    form = ReviewPublishForm(request.POST)
    if not form.is_valid():
        problem = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        failure = actions.ActionFailed(f"The review was not published: {problem}", kind="invalid")
        return _panel(request, workspace, repository, pull_request, form=form, failure=failure)
    data = form.cleaned_data
    url = reverse("pull_request_detail", args=[workspace.slug, repository.slug, pull_request.number])

    def run() -> tuple[str, str]:
        outcome = actions.publish_review(
            user=request.user,
            pull_request=pull_request,
            comment_ids=data["comment_ids"],
            summary=data["summary"],
            decision=data["decision"],
        )
        return url, outcome.words

    def failed(failure: actions.ActionFailed) -> HttpResponse:
        kept = form
        if failure.details.get("summary_posted"):
            # Posted already: publishing again must not post it twice.
            kept = ReviewPublishForm({**form.data.dict(), "summary": ""})  # type: ignore[attr-defined]
            kept.is_valid()
        left = failure.details.get("left", data["comment_ids"])
        return _panel(request, workspace, repository, pull_request, form=kept, failure=failure, kept_ids=left)

    return perform(
        request,
        form=form,
        action="pull_request.review_publish",
        run=run,
        failed=failed,
        pull_request=pull_request,
    )


@access.acts_on_bitbucket  # deletes the pending comments on Bitbucket
@require_POST
def pull_request_review_discard(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int
) -> HttpResponse:
    """First the confirmation, naming how many pending comments go (nothing is sent); then, confirmed, deletes them
    and the saved summary."""
    workspace, repository, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    form = ReviewDiscardForm(request.POST)
    if not form.is_valid():
        failure = actions.ActionFailed("The review was not discarded: reload the page and try again.", kind="invalid")
        return _panel(request, workspace, repository, pull_request, failure=failure)
    ids = form.cleaned_data["comment_ids"]
    if not form.cleaned_data["confirmed"]:
        # Nothing is sent yet: the same key goes on to the confirming form.
        return _panel(request, workspace, repository, pull_request, confirm=form, kept_ids=ids)
    url = reverse("pull_request_detail", args=[workspace.slug, repository.slug, pull_request.number])

    def run() -> tuple[str, str]:
        deleted = actions.discard_review(user=request.user, pull_request=pull_request, comment_ids=ids)
        noun = "pending comment" if deleted == 1 else "pending comments"
        return url, f"Review discarded: {deleted} {noun} deleted."

    def failed(failure: actions.ActionFailed) -> HttpResponse:
        return _panel(
            request, workspace, repository, pull_request, failure=failure, kept_ids=failure.details.get("left", ids)
        )

    return perform(
        request, form=form, action="pull_request.review_discard", run=run, failed=failed, pull_request=pull_request
    )
