"""Review threads of a pull request: reply, edit or delete one's own comment, resolve or reopen a thread, a task from
a comment, and the composer of a new comment on lines of the diff.

Every write goes through `writes.perform` (one act per idempotency key) to a service of
`bitbucket_sync.actions.comments`, with the viewer's own credential. htmx gets the one thread back (`#thread-<id>`),
read again from Bitbucket (the service dropped the credential's cached discussion); a plain POST is redirected to the
thread on the discussion page. A failure answers with the same thread, Bitbucket's reason on top and the typed text
kept in its form. A pull request the viewer cannot see is a 404 for every one of these, as is a comment id that is
not one of its comments.
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from bitbucket_sync import actions, drafts
from dashboard import rendering
from dashboard.forms.comments import (
    CommentTaskForm,
    InlineAnchorForm,
    ThreadActionForm,
    ThreadCommentForm,
)
from dashboard.forms.tasks import TaskForm
from dashboard.forms.writes import ActionForm
from dashboard.selectors import LiveReadError, insights
from dashboard.selectors.threads import Thread, pull_request_threads, viewer_account_id
from dashboard.views import access
from dashboard.views.changes import EVENT as MIRROR_CHANGED
from dashboard.views.htmx import HtmxHttpRequest, wants_fragment
from dashboard.views.reviews import REVIEW_CHANGED
from dashboard.views.writes import done, perform

THREAD_TEMPLATE = "pull_requests/_thread.html#thread-answer"
COMPOSER_TEMPLATE = "pull_requests/_inline_composer.html#inline-composer"


def _pr_url(names) -> str:
    workspace, repository, pull_request = names
    return reverse("pull_request_detail", args=[workspace.slug, repository.slug, pull_request.number])


def _thread_url(names, thread_id: int) -> str:
    """Where a plain POST lands: the thread on the discussion page, which renders without JavaScript."""
    return f"{_pr_url(names)}/activity#thread-{thread_id}"


def _context(names, **extra) -> dict:
    workspace, repository, pull_request = names
    return {
        "workspace": workspace,
        "repository": repository,
        "pull_request": pull_request,
        "pr_url": _pr_url(names),
        "nav": "pull_requests",
        **extra,
    }


def _read_thread(request: HtmxHttpRequest, names, thread_id: int, *, fresh: bool = False) -> dict:
    """The thread as Bitbucket has it now (None once it is gone), or the reason it could not be read."""
    try:
        threads = pull_request_threads(
            request.user,
            pull_request=names[2],
            viewer_account_id=viewer_account_id(request.user, workspace=names[0]),
            fresh=fresh,
        )
    except LiveReadError as exc:
        return {"thread": None, "thread_error": str(exc)}
    return {"thread": threads.thread_of(thread_id)}


def _thread_or_404(request: HtmxHttpRequest, names, comment_id: int) -> Thread | None:
    """The thread holding the comment; 404 when the pull request has no such comment. None when the discussion cannot
    be read (no credential, Bitbucket down): the action then decides, and says why in words."""
    found = _read_thread(request, names, comment_id)
    if found.get("thread") is None and "thread_error" not in found:
        # Maybe newer than the cached read (written a moment ago, elsewhere): one fresh look before the 404.
        found = _read_thread(request, names, comment_id, fresh=True)
    if "thread_error" in found:
        return None
    if found["thread"] is None:
        raise Http404("No such comment.")
    return found["thread"]


def _answer(request: HtmxHttpRequest, names, thread_id: int, *, extra_html: str = "", **extra) -> HttpResponse:
    """The thread (fresh) for htmx, or a page holding it for a plain request (a failure shown without JavaScript)."""
    context = _context(names, thread_id=thread_id, **_read_thread(request, names, thread_id), **extra)
    if wants_fragment(request):
        response = render(request, THREAD_TEMPLATE, context)
        if extra_html:
            response.content += extra_html.encode()
        return response
    return render(request, "pull_requests/section_page.html", {**context, "region": THREAD_TEMPLATE})


def _problem(form) -> str:
    return "; ".join(str(e) for errors in form.errors.values() for e in errors)


def _write(
    request: HtmxHttpRequest,
    names,
    *,
    thread_id: int,
    form: ActionForm,
    action: str,
    run: Callable[[dict], str],
    kept: tuple[str, int] | None = None,
    after: Callable[[HttpResponse], HttpResponse] | None = None,
) -> HttpResponse:
    """Run one thread action once per idempotency key. `run(cleaned_data)` returns the success words; `kept` names
    the form (`reply`, `edit`, `task` and the comment id) whose text is kept when it fails; `after` may add to the
    htmx answer (the task list after a task)."""
    keep = {}
    if kept is not None:
        keep = {"kept_kind": kept[0], "kept_id": kept[1], "kept_text": form.data.get("text", "")}
    if not form.is_valid():
        failure = actions.ActionFailed(f"Nothing was sent: {_problem(form)}", kind="invalid")
        return _answer(request, names, thread_id, thread_failure=failure, **keep)
    url = _thread_url(names, thread_id)

    def acted() -> tuple[str, str]:
        return url, run(form.cleaned_data)

    def answer(result_url: str, message: str) -> HttpResponse:
        if not request.htmx:
            return done(request, result_url, message)
        response = _answer(request, names, thread_id, thread_note=message)
        return after(response) if after else response

    def failed(failure: actions.ActionFailed) -> HttpResponse:
        # "already": the wanted state holds (resolved by someone else, reopened already); nothing typed to keep.
        kept_now = keep if failure.kind not in ("already", "pending") else {}
        return _answer(request, names, thread_id, thread_failure=failure, **kept_now)

    return perform(request, form=form, action=action, run=acted, failed=failed, answer=answer, pull_request=names[2])


# --- one comment or thread -----------------------------------------------------------------------------------------


@access.acts_on_bitbucket
@require_POST
def pull_request_comment_reply(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int, comment_id: int
) -> HttpResponse:
    names = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    thread = _thread_or_404(request, names, comment_id)
    thread_id = thread.id if thread else comment_id

    def run(data: dict) -> str:
        actions.post_comment(
            user=request.user, pull_request=names[2], text=data["text"], parent_id=comment_id, pending=data["pending"]
        )
        drafts.discard_draft(request.user, names[2], f"reply-{thread_id}")
        return "Reply added to your review." if data["pending"] else "Reply posted."

    form = ThreadCommentForm(request.POST)
    return _write(
        request,
        names,
        thread_id=thread_id,
        form=form,
        action="pull_request.comment_reply",
        run=run,
        kept=("reply", thread_id),
        after=_review_changed if form.data.get("pending") else None,
    )


def _review_changed(response: HttpResponse) -> HttpResponse:
    """A draft added in place: the review panel lists it (it reloads on this event)."""
    return trigger_client_event(response, REVIEW_CHANGED)


@access.acts_on_bitbucket
@require_POST
def pull_request_comment_edit(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int, comment_id: int
) -> HttpResponse:
    names = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    thread = _thread_or_404(request, names, comment_id)

    def run(data: dict) -> str:
        actions.edit_comment(user=request.user, pull_request=names[2], comment_id=comment_id, text=data["text"])
        return "Comment changed."

    return _write(
        request,
        names,
        thread_id=thread.id if thread else comment_id,
        form=ThreadCommentForm(request.POST),
        action="pull_request.comment_edit",
        run=run,
        kept=("edit", comment_id),
    )


@access.acts_on_bitbucket
@require_POST
def pull_request_comment_delete(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int, comment_id: int
) -> HttpResponse:
    names = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    thread = _thread_or_404(request, names, comment_id)

    def run(_data: dict) -> str:
        actions.delete_comment(user=request.user, pull_request=names[2], comment_id=comment_id)
        return "Comment deleted."

    return _write(
        request,
        names,
        thread_id=thread.id if thread else comment_id,
        form=ThreadActionForm(request.POST),
        action="pull_request.comment_delete",
        run=run,
    )


@access.acts_on_bitbucket
@require_POST
def pull_request_comment_state(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int, comment_id: int, verb: str
) -> HttpResponse:
    """Resolve or reopen the thread `comment_id` starts (`verb` comes from the URL pattern, never from the form)."""
    names = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    if verb not in ("resolve", "reopen"):
        raise Http404("No such form.")
    thread = _thread_or_404(request, names, comment_id)

    def run(_data: dict) -> str:
        if verb == "resolve":
            actions.resolve_thread(user=request.user, pull_request=names[2], comment_id=comment_id)
            return "Thread resolved."
        actions.reopen_thread(user=request.user, pull_request=names[2], comment_id=comment_id)
        return "Thread reopened."

    return _write(
        request,
        names,
        thread_id=thread.id if thread else comment_id,
        form=ThreadActionForm(request.POST),
        action=f"pull_request.comment_{verb}",
        run=run,
    )


@access.acts_on_bitbucket
@require_POST
def pull_request_comment_task(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int, comment_id: int
) -> HttpResponse:
    """A task anchored to the comment. The htmx answer brings the task list along (out of band) and tells the page's
    mirrored regions (readiness, turn) to refresh when the open count moved."""
    names = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    thread = _thread_or_404(request, names, comment_id)
    pull_request = names[2]
    before = (pull_request.task_count, pull_request.resolved_task_count)
    made: dict = {}

    def run(data: dict) -> str:
        made["tasks"] = actions.task_from_comment(
            user=request.user, pull_request=pull_request, comment_id=comment_id, text=data["text"]
        )
        return "Task added."

    def after(response: HttpResponse) -> HttpResponse:
        tasks = made.get("tasks")
        if tasks is None:  # a repeated form: the task list region reads the list itself
            return trigger_client_event(response, MIRROR_CHANGED)
        context = _context(names, tasks_loaded=True, tasks=insights.TaskList(tasks), task_form=TaskForm(), oob=True)
        response.content += render_to_string("pull_requests/_tasks.html", context, request=request).encode()
        if (pull_request.task_count, pull_request.resolved_task_count) != before:
            trigger_client_event(response, MIRROR_CHANGED)
        return response

    return _write(
        request,
        names,
        thread_id=thread.id if thread else comment_id,
        form=CommentTaskForm(request.POST),
        action="pull_request.task_create",
        run=run,
        kept=("task", comment_id),
        after=after,
    )


# --- a new comment on lines of the diff ----------------------------------------------------------------------------


def _anchor_key(anchor: actions.InlineAnchor) -> str:
    """The lines a composer is for, as an id part: the file by its DOM anchor (any path makes a valid id and a valid
    draft key: spaces and punctuation included), then the side and the line."""
    return f"{rendering.file_anchor(anchor.path)}-{anchor.side}-{anchor.line}"


def _composer(request: HtmxHttpRequest, names, anchor: actions.InlineAnchor, **extra) -> HttpResponse:
    query = {"path": anchor.path, "side": anchor.side, "line": anchor.line}
    if anchor.start is not None:
        query["start"] = anchor.start
    url = reverse("pull_request_comment_new", args=[names[0].slug, names[1].slug, names[2].number])
    context = _context(
        names,
        anchor=anchor,
        composer_url=f"{url}?{urlencode(query)}",
        composer_id=f"composer-{_anchor_key(anchor)}",
        draft_key=f"inline-{_anchor_key(anchor)}",
        **extra,
    )
    if wants_fragment(request):
        return render(request, COMPOSER_TEMPLATE, context)
    return render(request, "pull_requests/section_page.html", {**context, "region": COMPOSER_TEMPLATE})


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def pull_request_comment_new(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int
) -> HttpResponse:
    """`?path=P&side=new|old&line=N[&start=M]`: GET, the form to comment on those lines (a fragment the diff puts
    under the row, or a page without htmx); POST, the comment ("Comment") or a draft of the review ("Add to
    review"). An anchor that cannot be right (an unsafe path, a line below 1, a range ending before it starts) is a
    404 before anything is sent."""
    names = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    where = InlineAnchorForm(request.GET)
    if not where.is_valid():
        raise Http404("No such line.")
    anchor: actions.InlineAnchor = where.cleaned_data["anchor"]
    if request.method == "GET":
        return _composer(request, names, anchor, form_key=_fresh_key())
    form = ThreadCommentForm(request.POST)
    if not form.is_valid():
        failure = actions.ActionFailed(f"Nothing was sent: {_problem(form)}", kind="invalid")
        return _composer(
            request, names, anchor, failure=failure, kept_text=form.data.get("text", ""), form_key=_fresh_key()
        )
    posted: dict = {}

    def run() -> tuple[str, str]:
        pending = form.cleaned_data["pending"]
        comment = actions.post_comment(
            user=request.user, pull_request=names[2], text=form.cleaned_data["text"], anchor=anchor, pending=pending
        )
        posted["id"] = comment.id
        drafts.discard_draft(request.user, names[2], f"inline-{_anchor_key(anchor)}")
        return _thread_url(names, comment.id), "Comment added to your review." if pending else "Comment posted."

    def answer(result_url: str, message: str) -> HttpResponse:
        if not request.htmx:
            return done(request, result_url, message)
        # A repeated form shows the thread the first submit made (its id ends the result URL).
        thread_id = posted.get("id") or int(result_url.rsplit("#thread-", 1)[1])
        response = _answer(request, names, thread_id, thread_note=message)
        return _review_changed(response) if form.cleaned_data["pending"] else response

    def failed(failure: actions.ActionFailed) -> HttpResponse:
        return _composer(
            request,
            names,
            anchor,
            failure=failure,
            kept_text=form.data.get("text", ""),
            form_key=form.data["idempotency_key"],
        )

    return perform(
        request,
        form=form,
        action="pull_request.comment_inline",
        run=run,
        failed=failed,
        answer=answer,
        pull_request=names[2],
    )


def _fresh_key() -> str:
    return ActionForm().initial["idempotency_key"]
