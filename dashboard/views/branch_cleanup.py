"""Deleting branches: one from its row (`/<ws>/<repo>/branches/delete?name=`, naming its open pull requests first),
many from the clean-up page (`/<ws>/<repo>/branches/cleanup`: merged or declined branches whose tip has not moved,
and old branches with no open pull request), and recreating one from its audit entry (`/-/audit/<id>/recreate`).

Each deletion is its own audited Bitbucket call with the user's credential, recording the branch's tip; a bulk
deletion's events carry the form's idempotency key (``details["batch"]``), which is how its result page finds them
and how a double submit shows the first result instead of deleting again. The main branch is never offered.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync import actions
from bitbucket_sync.models import AuditEvent
from dashboard.forms.refs import CleanupDeleteForm, CleanupFilterForm, RefDeleteForm, parse_pick
from dashboard.forms.writes import ActionForm
from dashboard.selectors import refs
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest, fragment
from dashboard.views.writes import branch_from_url, perform


def _branch_name(request: HtmxHttpRequest) -> str:
    name = branch_from_url(request, "name", "")
    if not name:
        raise Http404("No such branch.")
    return name


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def branch_delete(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """`?name=`: a confirmation naming the branch, its tip and its open pull requests; the POST deletes it."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need="write")
    branch = refs.branch_for_user(repository, _branch_name(request))
    if branch.name == repository.main_branch:
        raise Http404("The main branch cannot be deleted.")
    open_prs = refs.open_pull_requests_from(repository, [branch.name]).get(branch.name, [])
    context = {
        "workspace": workspace,
        "repository": repository,
        "branch": branch,
        "open_prs": open_prs,
        "nav": "workspace",
    }

    def page(form, failure=None):
        context.update(form=form, failure=failure)
        return render(request, fragment(request, "branches/delete.html", "branch-delete"), context)

    if request.method == "GET":
        return page(RefDeleteForm(initial={"expected_tip": branch.target_hash}))
    form = RefDeleteForm(request.POST)
    if not form.is_valid():
        return page(form)

    def run():
        actions.delete_branch(
            user=request.user,
            repository=repository,
            name=branch.name,
            expected_tip=form.cleaned_data["expected_tip"],
            open_pull_requests=tuple(pr.number for pr in open_prs),
        )
        url = reverse("branch_list", args=[workspace.slug, repository.slug])
        return url, f"Deleted branch {branch.name}. The audit log can recreate it."

    return perform(request, form=form, action="branch.delete", run=run, failed=lambda f: page(form, f))


@access.acts_on_bitbucket
@require_GET
@vary_on_headers("HX-Request")
def branch_cleanup(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """The candidates, each with why it is offered, to tick and send to the confirmation."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need="write")
    form = CleanupFilterForm(request.GET)
    days = form.days_or(refs.CLEANUP_DEFAULT_DAYS)
    context = {
        "workspace": workspace,
        "repository": repository,
        "form": form,
        "days": days,
        "candidates": refs.cleanup_candidates(repository, older_than_days=days),
        "limit": refs.CLEANUP_LIMIT,
        "nav": "workspace",
    }
    return render(request, fragment(request, "branches/cleanup.html", "cleanup-table"), context)


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
def branch_cleanup_confirm(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """GET: the confirmation naming each chosen branch; POST: delete each, one audited call per branch."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need="write")
    data = request.POST if request.method == "POST" else request.GET
    form = CleanupDeleteForm(data) if request.method == "POST" else CleanupDeleteForm(initial={"branch": []})
    picks = [p for p in (parse_pick(v) for v in data.getlist("branch")) if p is not None]
    picks = [(name, tip) for name, tip in picks if name != repository.main_branch]
    open_prs = refs.open_pull_requests_from(repository, [name for name, _ in picks])
    cleanup_url = reverse("branch_cleanup", args=[workspace.slug, repository.slug])
    context = {
        "workspace": workspace,
        "repository": repository,
        "picks": [{"name": n, "tip": t, "value": f"{t}:{n}", "open_prs": open_prs.get(n, [])} for n, t in picks],
        "cleanup_url": cleanup_url,
        "nav": "workspace",
    }

    def page(form, failure=None):
        context.update(form=form, failure=failure)
        return render(request, "branches/cleanup_confirm.html", context)

    if request.method == "GET":
        if not picks:
            messages.info(request, "Choose the branches to delete first.")
            return redirect(cleanup_url)
        return page(form)
    if not form.is_valid() or not picks:
        return page(form)
    key = form.cleaned_data["idempotency_key"]

    def run():
        deleted = 0
        for name, tip in form.picks():
            if name == repository.main_branch:
                continue
            try:
                actions.delete_branch(
                    user=request.user,
                    repository=repository,
                    name=name,
                    expected_tip=tip,
                    open_pull_requests=tuple(pr.number for pr in open_prs.get(name, [])),
                    batch=key,
                )
                deleted += 1
            except actions.ActionFailed:
                pass  # audited with its reason; the result page shows it next to the others
        url = reverse("branch_cleanup_result", args=[workspace.slug, repository.slug]) + "?" + urlencode({"batch": key})
        return url, f"Deleted {deleted} of {len(form.picks())} branches."

    return perform(request, form=form, action="branch.cleanup", run=run, failed=lambda f: page(form, f))


@require_GET
def branch_cleanup_result(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """What each deletion of one confirmation came to: deleted (recreatable), refused with Bitbucket's reason, or
    left alone; the user's own events only."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need="write")
    batch = request.GET.get("batch", "")
    if not batch or len(batch) > 64:
        raise Http404("No such clean-up.")
    events = list(
        AuditEvent.objects.filter(
            actor=request.user.pk,
            action="branch.delete",
            repository_full_name=repository.full_name,
            details__batch=batch,
        ).order_by("pk")
    )
    context = {
        "workspace": workspace,
        "repository": repository,
        "events": refs.with_recreate_keys(request.user, events),
        "cleanup_url": reverse("branch_cleanup", args=[workspace.slug, repository.slug]),
        "nav": "workspace",
    }
    return render(request, "branches/cleanup_result.html", context)


@require_POST
def branch_recreate(request: HtmxHttpRequest, event_id: int) -> HttpResponse:
    """Recreate the branch of a deletion audit entry at its recorded tip (the user's own entries, or any for staff,
    on a repository they may write to; 404 otherwise)."""
    event = refs.branch_deletion_event(request.user, event_id=event_id)
    repository = refs.recreatable_repository(request.user, event)
    assert repository is not None  # branch_deletion_event checked it
    if refusal := access.refused(request, repository.workspace, repository):
        return refusal
    form = ActionForm(request.POST)
    back = reverse("audit_list")

    def failed(failure):
        messages.error(request, failure.message)
        return redirect(back)

    if not form.is_valid():
        return failed(actions.ActionFailed("The form expired; try again."))

    def run():
        name = actions.recreate_branch(user=request.user, repository=repository, event=event)
        url = reverse("branch_list", args=[repository.workspace.slug, repository.slug])
        return url, f"Recreated branch {name} at {event.details['tip'][:12]}."

    return perform(request, form=form, action="branch.recreate", run=run, failed=failed)
