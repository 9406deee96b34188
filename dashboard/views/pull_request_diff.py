"""A pull request page's diff: the options the viewer picked (unified or side by side, remembered in their session;
whitespace shown or ignored; which batch of files) and the diff read with them."""

from __future__ import annotations

from bitbucket_sync.browse import LiveReadError
from bitbucket_sync.models import PullRequest
from dashboard.selectors import review_progress
from dashboard.selectors.diffs import pull_request_diff_batch
from dashboard.views.htmx import HtmxHttpRequest

VIEWS = ("unified", "split")
# The viewer's choice of view follows them from one pull request to the next (their session, not the URL).
VIEW_SESSION_KEY = "diff_view"


def diff_options(request: HtmxHttpRequest) -> dict:
    """`diff_view`: `?view=` when valid (and then remembered), else what the viewer chose last; `ignore_whitespace`:
    `?w=1`; `start`: the first file of the batch (`?files=`, a non-negative number; 0 otherwise)."""
    view = request.GET.get("view")
    if view in VIEWS:
        request.session[VIEW_SESSION_KEY] = view
    else:
        remembered = request.session.get(VIEW_SESSION_KEY)
        view = remembered if remembered in VIEWS else "unified"
    files = request.GET.get("files", "")
    start = int(files) if files.isdigit() and len(files) < 9 else 0
    return {"diff_view": view, "ignore_whitespace": request.GET.get("w") == "1", "start": start}


def diff_context(request: HtmxHttpRequest, pull_request: PullRequest) -> dict:
    """The template context of the diff section (or of one batch of its files): all changes with the viewer's review
    marks, or only the changes since the commit `?since=` names (the viewer's last review)."""
    options = diff_options(request)
    start = options.pop("start")
    since = review_progress.since_from_url(request.GET.get("since"))
    try:
        review = review_progress.progress(request.user, pull_request=pull_request)
        diff = review_progress.changes_since(request.user, pull_request=pull_request, review=review, since=since)
        if diff is None:
            diff = pull_request_diff_batch(
                request.user, pull_request=pull_request, start=start, ignore_whitespace=options["ignore_whitespace"]
            )
            review_progress.mark_files(request.user, pull_request=pull_request, diff=diff, review=review)
    except LiveReadError as exc:
        return {"diff_error": str(exc), "diff_loaded": True, **options}
    diff["review"] = review
    return {"diff": diff, "diff_loaded": True, **options}


def is_batch_request(request: HtmxHttpRequest) -> bool:
    """An htmx request for the next batch of files (the marker at the end of the last one)."""
    return bool(request.htmx) and not request.htmx.history_restore_request and "files" in request.GET
