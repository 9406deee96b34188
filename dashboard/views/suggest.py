"""Type-ahead pickers' suggestions: `<option>`s for a `<datalist>`, asked by htmx as the user types in a picker box
(`dashboard.widgets.PickerInput`).

    /-/suggest/people/?q=bo[&workspace=acme][&exclude=me]     people (value: nickname; data-uuid, data-account-id)
    /-/suggest/repositories/?q=api[&workspace=acme]          repositories (value: slug in a workspace, else full name)
    /-/suggest/<workspace>/<repository>/branches/?q=feat     branches of a repository the user may read

A picker box sends its own value under its own name (`author=bo`), so each endpoint reads the text from `q` or from
one of the names its boxes carry. Everything is scoped by `dashboard.selectors.suggestions`; an unknown or invisible
workspace or repository is a 404, a malformed parameter a 400.
"""

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard import selectors
from dashboard.selectors import suggestions
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest

# The names picker boxes carry (the filter forms' fields, the pull request form's boxes), besides `q`.
PEOPLE_TEXT = ("q", "author", "reviewer", "add_reviewers")
REPOSITORY_TEXT = ("q", "repository")
BRANCH_TEXT = ("q", "source", "destination", "target")
TEMPLATE = "components/pickers.html"


class BadParameter(Exception):
    pass


def _text(request: HtmxHttpRequest, names: tuple[str, ...]) -> str:
    """The typed text: the one parameter among `names` that is present (several, or a long one: BadParameter)."""
    given = [name for name in names if name in request.GET]
    if len(given) > 1 or any(len(request.GET.getlist(name)) > 1 for name in given):
        raise BadParameter("Send the text once.")
    text = request.GET.get(given[0], "") if given else ""
    if len(text) > suggestions.MAX_QUERY_LENGTH:
        raise BadParameter(f"Type at most {suggestions.MAX_QUERY_LENGTH} characters.")
    return text.strip()


def _workspace(request: HtmxHttpRequest):
    slug = request.GET.get("workspace", "")
    return selectors.workspace_for_user(request.user, slug=slug) if slug else None


@require_GET
@never_cache
def people_suggest(request: HtmxHttpRequest) -> HttpResponse:
    try:
        text = _text(request, PEOPLE_TEXT)
    except BadParameter as problem:
        return HttpResponseBadRequest(str(problem))
    exclude = request.GET.get("exclude", "")
    if exclude not in ("", "me"):
        return HttpResponseBadRequest("exclude takes only 'me'.")
    workspace = _workspace(request)
    me = None
    if exclude == "me":
        if workspace is None:
            return HttpResponseBadRequest("exclude=me needs a workspace.")
        me = selectors.account_for_user(request.user, workspace=workspace)
    people = suggestions.people_suggestions(request.user, text, workspace=workspace, exclude=me)
    return render(request, f"{TEMPLATE}#people-options", {"people": people})


@require_GET
@never_cache
def repository_suggest(request: HtmxHttpRequest) -> HttpResponse:
    try:
        text = _text(request, REPOSITORY_TEXT)
    except BadParameter as problem:
        return HttpResponseBadRequest(str(problem))
    workspace = _workspace(request)
    repositories = suggestions.repository_suggestions(request.user, text, workspace=workspace)
    return render(
        request, f"{TEMPLATE}#repository-options", {"repositories": repositories, "by_slug": workspace is not None}
    )


@require_GET
@never_cache
def branch_suggest(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    try:
        text = _text(request, BRANCH_TEXT)
    except BadParameter as problem:
        return HttpResponseBadRequest(str(problem))
    _, repository = access.repository_for_user(request, workspace_slug, repo_slug)
    branches = suggestions.branch_suggestions(repository, text)
    return render(request, f"{TEMPLATE}#branch-options", {"branches": branches})
