"""The viewer's own marks on a pull request's diff: a file marked viewed (kept in bbdash, never sent to Bitbucket).

htmx posts the checkbox and gets the mark back as it now is; without htmx the form redirects to the file in the
diff. A pull request the user cannot see is a 404, and a mark is the user's own: nobody else's marks are read or
written here.
"""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard import rendering
from dashboard.selectors import review_progress
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest


@require_POST
def pull_request_file_viewed(
    request: HtmxHttpRequest, workspace_slug: str, repo_slug: str, number: int
) -> HttpResponse:
    workspace, repository, pull_request = access.pull_request_for_user(request, workspace_slug, repo_slug, number)
    path = request.POST.get("path", "")
    fingerprint = request.POST.get("fingerprint", "")
    viewed = request.POST.get("viewed") == "on"
    review_progress.set_viewed(
        request.user, pull_request=pull_request, path=path, fingerprint=fingerprint, viewed=viewed
    )
    file = rendering.DiffFile(old_path=path, new_path=path, viewed=viewed, fingerprint=fingerprint)
    url = reverse("pull_request_section", args=[workspace.slug, repository.slug, pull_request.number, "diff"])
    if request.htmx:
        context = {"workspace": workspace, "repository": repository, "pull_request": pull_request, "file": file}
        return render(request, "diffs/_file_marks.html#viewed-mark", context)
    return redirect(f"{url}#{file.anchor}")
