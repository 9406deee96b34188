"""The "changed since" endpoint that lets an open page refresh itself when the mirror changes under it.

A page includes `webhooks/_live_poller.html`: a hidden element that asks this endpoint every few seconds whether
anything the user can see in its scope (a workspace's pull requests, one repository's pull requests and branches, or
one pull request with its reviewers and readiness) changed. Unchanged: 204, htmx does nothing. Changed: the poller
comes back with a new token and an `HX-Trigger: mirror-changed` header, and the page's regions re-fetch themselves.
static/js/poll.js keeps the time (only while the tab is visible, less often after half a minute of 204s), so this
view stays stateless.
One index read per poll (three for a pull request: its row, its participants and its build statuses).
"""

import hashlib
from datetime import UTC, datetime, timedelta

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from bitbucket_sync.models import BuildStatus, PullRequest
from dashboard import selectors
from dashboard.selectors.changes import EVERYWHERE_SHOWS, REPOSITORY_SHOWS, WORKSPACE_SHOWS
from dashboard.views.htmx import HtmxHttpRequest

EVENT = "mirror-changed"
# A row's synced_at is set just before its transaction commits: a page rendered in between must still see it.
COMMIT_MARGIN = timedelta(seconds=2)
MAX_ID = 2**31 - 1  # a pull request id beyond the database's integer column is none of ours (and no query error)


def pull_request_version(pull_request: PullRequest, *, written: tuple | None = None) -> str:
    """The token of one pull request as its page shows it; `pull_request` comes from `selectors.pull_request_for_user`
    (its `people` are loaded). The page renders with this token, so its first poll compares like with like.

    The row's `synced_at` moves whenever the sync or a webhook changes the row; a review (approve, request changes)
    can change only the participants, so their states are part of the token. The readiness panel also shows what
    moves without the row's `synced_at`: the build statuses (one query over the PR's few), the conflicts and the
    repository's merge rules.
    """
    loaded = pull_request.people  # type: ignore[attr-defined]  # the selector's prefetch (to_attr="people")
    people = sorted((p.account_id, p.role, p.approved, p.state, p.reviewed_commit) for p in loaded)
    readiness = [
        written if written is not None else readiness_written(pull_request),
        pull_request.conflict_state,
        pull_request.conflicts_checked_for,
        pull_request.task_count,
        pull_request.repository.restrictions_state,
    ]
    digest = hashlib.sha256(repr([pull_request.synced_at, people, readiness]).encode()).hexdigest()[:16]
    return f"v{digest}"


def readiness_written(pull_request: PullRequest) -> tuple:
    """What the readiness panel shows that the row's `synced_at` does not cover: the PR's build statuses as they
    stand (a PR has a few; any writer's change shows, whether or not it stamps a time), and when they and the
    repository's merge rules were last read."""
    statuses = tuple(
        BuildStatus.objects.filter(pull_request=pull_request)
        .order_by("key")
        .values_list("key", "state", "name", "description", "url", "updated_on", "synced_at")
    )
    return (statuses, pull_request.statuses_synced_at, pull_request.repository.restrictions_synced_at)


def _newest(pull_request: PullRequest, written: tuple) -> datetime | None:
    """The newest write the pull request's page shows: the row, its build statuses, its repository's merge rules (our
    own write times: Bitbucket's `updated_on` runs on its clock)."""
    statuses, *read_at = written
    times = [pull_request.synced_at, *read_at, *(s[-1] for s in statuses)]
    return max((t for t in times if isinstance(t, datetime)), default=None)


def _changed_after_render(since: str, newest: datetime | None) -> bool:
    """`since` is `t<epoch seconds>` on the first poll: the time the page was rendered."""
    try:
        rendered = datetime.fromtimestamp(float(since[1:]), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return True  # a token we cannot read: refreshing once is the safe answer
    return newest is not None and newest > rendered - COMMIT_MARGIN


@require_GET
@never_cache
def change_poll(request: HtmxHttpRequest) -> HttpResponse:
    """`?workspace=<slug>[&repository=<slug>[&pull_request=<id>]]&since=<token>`: 204 when nothing changed, else a
    new poller + trigger. `?everywhere=1&since=<token>`: every workspace the user sees (the attention inbox).
    `&shows=` names what else the page shows (`selectors.changes`); `&person=<account_id>` with `everywhere`: a
    person's page."""
    since = request.GET.get("since", "")
    shows = request.GET.get("shows", "")
    if request.GET.get("everywhere") == "1":
        # The attention inbox, the home page, a person's page: every workspace the user sees.
        if shows and shows not in EVERYWHERE_SHOWS:
            return HttpResponseBadRequest(f"shows must be one of {', '.join(EVERYWHERE_SHOWS)} here.")
        person = None
        if request.GET.get("person"):
            person = selectors.person_for_user(request.user, account_id=request.GET["person"])
        token, newest = selectors.mirror_version_everywhere(request.user, shows=shows, person=person)
        context = {"target": request.GET.get("target", ""), "everywhere": True, "shows": shows, "person": person}
        return _answer(request, since, token, newest, context)
    if shows and shows not in WORKSPACE_SHOWS + REPOSITORY_SHOWS:
        return HttpResponseBadRequest(f"shows must be one of {', '.join(WORKSPACE_SHOWS + REPOSITORY_SHOWS)}.")
    workspace = selectors.workspace_for_user(request.user, slug=request.GET.get("workspace", ""))
    repository = pull_request = None
    if request.GET.get("repository"):
        repository = selectors.repository_for_user(request.user, workspace=workspace, slug=request.GET["repository"])
    number = request.GET.get("pull_request", "")
    if number:
        if repository is None or not (number.isascii() and number.isdigit() and int(number) <= MAX_ID):
            return HttpResponseBadRequest("pull_request must be a pull request id, with its repository.")
        pull_request = selectors.pull_request_for_user(request.user, repository=repository, number=int(number))
    if (shows in REPOSITORY_SHOWS and repository is None) or (shows and pull_request is not None):
        return HttpResponseBadRequest("shows=repository needs its repository; a pull request's page shows no more.")
    if pull_request is not None:
        written = readiness_written(pull_request)
        token, newest = pull_request_version(pull_request, written=written), _newest(pull_request, written)
    else:
        token, newest = selectors.mirror_version(request.user, workspace=workspace, repository=repository, shows=shows)
    context = {
        "workspace": workspace,
        "repository": repository,
        "pull_request": pull_request,
        "target": request.GET.get("target", ""),
        "shows": shows,
    }
    return _answer(request, since, token, newest, context)


def _answer(request: HtmxHttpRequest, since: str, token: str, newest: datetime | None, context: dict) -> HttpResponse:
    if since.startswith("t"):
        changed = _changed_after_render(since, newest)
    else:
        changed = since != token
        if not changed:
            return HttpResponse(status=204)
    response = render(request, "webhooks/_live_poller.html", context | {"since": token})
    if changed:
        response["HX-Trigger"] = EVENT
    return response
