"""A pull request's tasks (read live, added, resolved, reopened) and its source commit's Code Insights reports.

Both regions load after the page (htmx `load`), each read with the viewer's own credential. A task action answers
htmx with the task list region (#pr-tasks) as it now is, or with the failure and the typed text kept; without htmx
it redirects to the pull request. Each form's idempotency key makes a double submit act once.

When what was read changes what the page's mirrored regions show (the task counts, and so the turn and the
readiness panel's tasks line; the reports line the panel shows once they were read), the answer carries the page's
`mirror-changed` event, and those regions refresh themselves.
"""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from bitbucket_sync import actions
from dashboard.forms.tasks import TaskForm, TaskStateForm
from dashboard.selectors import LiveReadError, insights
from dashboard.views import access
from dashboard.views.changes import EVENT as MIRROR_CHANGED
from dashboard.views.htmx import HtmxHttpRequest, wants_fragment
from dashboard.views.writes import done, perform


def _region(request: HtmxHttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """The region alone for htmx, else a small page holding it (links keep working without JavaScript)."""
    if wants_fragment(request):
        return render(request, template, context, status=status)
    return render(request, "pull_requests/section_page.html", {**context, "region": template}, status=status)


def _counts(pull_request) -> tuple[int, int | None]:
    return pull_request.task_count, pull_request.resolved_task_count


def _tasks(request: HtmxHttpRequest, workspace, repository, pull_request, before=None, **extra) -> HttpResponse:
    """The task region; `before` is the mirror's counts when the request came in (a read or an action may change
    them, and then the page's mirrored regions are told to refresh)."""
    before = before or _counts(pull_request)
    context = {
        "workspace": workspace,
        "repository": repository,
        "pull_request": pull_request,
        "nav": "pull_requests",
        "tasks_loaded": True,
        "task_form": extra.pop("form", None) or TaskForm(),
        **extra,
    }
    if context.get("tasks") is None:
        try:
            context["tasks"] = insights.pull_request_tasks(request.user, pull_request=pull_request)
        except LiveReadError as exc:
            context["tasks_error"] = str(exc)
    response = _region(request, "pull_requests/_tasks.html", context)
    if wants_fragment(request) and _counts(pull_request) != before:
        trigger_client_event(response, MIRROR_CHANGED)
    return response


@require_GET
@vary_on_headers("HX-Request")
def pull_request_tasks(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int) -> HttpResponse:
    workspace, repository, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    return _tasks(request, workspace, repository, pull_request)


def _act(request: HtmxHttpRequest, names, form, *, action: str, run) -> HttpResponse:
    """Run a task action once per idempotency key (`writes.perform`); `run()` returns the task list after it and the
    success words. htmx gets the task region as it now is; a plain POST is redirected to the pull request."""
    workspace, repository, pull_request = names
    before = _counts(pull_request)
    url = reverse("pull_request_detail", args=[workspace.slug, repository.slug, pull_request.number])
    after: dict = {}

    def acted() -> tuple[str, str]:
        tasks, message = run()
        after["tasks"] = insights.TaskList(tasks)
        return url, message

    def answer(result_url: str, message: str) -> HttpResponse:
        if request.htmx:
            # A repeated form has no list of its own: the region reads it (from the cache the action filled).
            return _tasks(request, workspace, repository, pull_request, before=before, note=message, **after)
        return done(request, result_url, message)

    def failed(failure: actions.ActionFailed) -> HttpResponse:
        kept = form if isinstance(form, TaskForm) and failure.kind != "pending" else None
        return _tasks(request, workspace, repository, pull_request, before=before, failure=failure, form=kept)

    return perform(
        request, form=form, action=action, run=acted, failed=failed, answer=answer, pull_request=pull_request
    )


@access.acts_on_bitbucket
@require_POST
def pull_request_task_create(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int
) -> HttpResponse:
    names = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    form = TaskForm(request.POST)
    if not form.is_valid():
        problem = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        failure = actions.ActionFailed(f"The task was not added: {problem}", kind="invalid")
        return _tasks(request, *names, failure=failure, form=form)

    def run():
        tasks = actions.create_task(user=request.user, pull_request=names[2], text=form.cleaned_data["text"])
        return tasks, "Task added."

    return _act(request, names, form, action="pull_request.task_create", run=run)


@access.acts_on_bitbucket
@require_POST
def pull_request_task_state(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int, task_id: int, verb: str
) -> HttpResponse:
    """Resolve or reopen one task (`verb` comes from the URL pattern, never from the form)."""
    names = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    form = TaskStateForm(request.POST)
    if verb not in ("resolve", "reopen") or not form.is_valid():
        raise Http404("No such form.")

    def run():
        resolved = verb == "resolve"
        tasks = actions.set_task_state(user=request.user, pull_request=names[2], task_id=task_id, resolved=resolved)
        return tasks, "Task resolved." if resolved else "Task reopened."

    return _act(request, names, form, action=f"pull_request.task_{verb}", run=run)


@require_GET
@vary_on_headers("HX-Request")
def pull_request_reports(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int) -> HttpResponse:
    """The Code Insights reports of the pull request's source commit, with their annotations."""
    workspace, repository, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    context = {
        "workspace": workspace,
        "repository": repository,
        "pull_request": pull_request,
        "nav": "pull_requests",
        "reports_loaded": True,
    }
    known = insights.reports_summary(request.user, pull_request=pull_request, read=False)
    try:
        context["reports"] = insights.pull_request_reports(request.user, pull_request=pull_request)
    except LiveReadError as exc:
        context["reports_error"] = str(exc)
    response = _region(request, "pull_requests/_insights.html", context)
    if wants_fragment(request) and known is None and context.get("reports"):
        trigger_client_event(response, MIRROR_CHANGED)  # the readiness panel can now show the reports' line
    return response
