"""Acting on Bitbucket from the browser: what every write page (branch, file edit, pull request) shares.

A POST claims its form's idempotency key, calls one service of ``bitbucket_sync.actions`` and redirects to the result
(``HX-Redirect`` for htmx); a failure re-renders the same form, with the user's input and Bitbucket's refusal in plain
words. A user without access gets 404 (cannot see) or 403 (read only), and nothing is sent to Bitbucket.
"""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

from bitbucket_sync import actions
from bitbucket_sync.actions import receipts
from bitbucket_sync.client import path_problem
from dashboard import selectors
from dashboard.forms.writes import ActionForm
from dashboard.views.htmx import HtmxHttpRequest


def branch_from_url(request: HtmxHttpRequest, name: str, default: str) -> str:
    """A branch named in the query string (``?branch=``), else ``default``; a name git or a URL could not hold (a
    ``..`` segment, a backslash...) is a 404 before anything is sent."""
    branch = request.GET.get(name) or default
    if branch and actions.branch_name_problem(branch):
        raise Http404("No such branch.")
    return branch


def path_from_url(request: HtmxHttpRequest, name: str = "path") -> str:
    """A file path named in the query string, without its outer slashes; an empty, ``.`` or ``..`` part is a 404."""
    path = (request.GET.get(name) or "").strip("/")
    if path and path_problem(path):
        raise Http404("No such path.")
    return path


def live_branches(repository) -> list[str]:
    """The repository's branch names from the mirror, the main branch first."""
    return selectors.branch_names(repository)


# --- running an action ---------------------------------------------------------------------------------------------


def done(request: HtmxHttpRequest, url: str, message: str = "") -> HttpResponse:
    if message:
        messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


ALREADY_DONE = "That was already done (the form was sent twice)."


def replay(request: HtmxHttpRequest, action: str) -> HttpResponse | None:
    """The first result when this POST repeats a form that already acted (checked before "is it still open?",
    which the first submit has just made untrue), else None."""
    key = request.POST.get("idempotency_key", "")
    earlier = selectors.completed_receipt(request.user, key=key, action=action)
    if earlier is None:
        return None
    return done(request, earlier.result_url, ALREADY_DONE)


def perform(
    request: HtmxHttpRequest,
    *,
    form: ActionForm,
    action: str,
    run: Callable[[], tuple[str, str]],
    failed: Callable[[actions.ActionFailed], HttpResponse],
    answer: Callable[[str, str], HttpResponse] | None = None,
    pull_request=None,
) -> HttpResponse:
    """Run ``run`` once per idempotency key. ``run`` returns (result URL, success message); ``failed`` renders the
    form again with the failure. A repeated key answers with the first submit's result instead of acting again.
    ``answer(url, message)`` says how a result is shown (default: redirect there, the message flashed); the receipt
    names ``pull_request`` when the action is on one."""
    answer = answer or (lambda url, message: done(request, url, message))
    receipt, fresh = receipts.claim(
        user=request.user, key=form.cleaned_data["idempotency_key"], action=action, pull_request=pull_request
    )
    if not fresh:
        if receipt.user_id != request.user.pk:
            raise Http404("No such form.")
        if receipt.result_url:
            return answer(receipt.result_url, ALREADY_DONE)
        return failed(
            actions.ActionFailed(
                "This form was already sent and Bitbucket is still working on it; reload in a moment.",
                kind="pending",
            )
        )
    try:
        url, message = run()
    except actions.ActionRefused as refused:
        receipts.release(receipt)
        if refused.not_visible:
            raise Http404(refused.message) from None
        raise PermissionDenied(refused.message) from None
    except actions.ActionFailed as failure:
        receipts.release(receipt)
        form.with_fresh_key()
        return failed(failure)
    except BaseException:
        receipts.release(receipt)  # a fault of ours: the same form may be sent again
        raise
    receipts.complete(receipt, result_url=url)
    return answer(url, message)
