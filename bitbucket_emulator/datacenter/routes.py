"""Data Center's routes, relative to `<context>/rest/api/{1.0|latest}` (reference §8.1 to §8.4); a route that
starts with `/rest/` belongs to a plugin API with its own base and version (reference §2.2), relative to
`<context>`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import views as v
from . import webhooks as wh

P = "/projects/<project_key>"
R = P + "/repos/<repo_slug>"
PR = R + "/pull-requests/<int:pr_id>"

ROUTES: list[tuple[str, Callable[..., Any]]] = [
    ("/application-properties", v.application_properties),
    ("/users", v.users),
    ("/users/<user_slug>", v.user),
    ("/projects", v.projects),
    (P, v.project),
    (P + "/permissions/users", v.project_user_permissions),
    (P + "/repos", v.project_repos),
    ("/repos", v.repos),
    ("/dashboard/pull-requests", v.dashboard_pull_requests),
    ("/inbox/pull-requests", v.inbox_pull_requests),
    (R, v.repository),
    (R + "/permissions/users", v.repo_user_permissions),
    (R + "/participants", v.repo_participants),
    (R + "/branches", v.branches),
    (R + "/branches/default", v.branches_default),
    (R + "/default-branch", v.default_branch),
    (R + "/tags", v.tags),
    (R + "/tags/<path:name>", v.tag),
    (R + "/commits", v.commits),
    (R + "/commits/<commit_id>", v.commit),
    (R + "/commits/<commit_id>/changes", v.commit_changes),
    (R + "/commits/<commit_id>/diff", v.commit_diff),
    (R + "/commits/<commit_id>/diff/<path:path>", v.commit_diff),
    (R + "/compare/commits", v.compare_commits),
    (R + "/compare/changes", v.compare_changes),
    (R + "/compare/diff", v.compare_diff),
    (R + "/compare/diff/<path:path>", v.compare_diff),  # the spec writes `diff{path}`: no slash of its own
    (R + "/diff", v.repo_diff),
    (R + "/diff/<path:path>", v.repo_diff),
    (R + "/patch", v.repo_patch),
    (R + "/files", v.files),
    (R + "/files/<path:path>", v.files),
    (R + "/browse", v.browse),
    (R + "/browse/<path:path>", v.browse),
    (R + "/raw/<path:path>", v.raw),
    (R + "/pull-requests", v.pull_requests),
    (PR, v.pull_request),
    (PR + "/participants", v.pr_participants),
    (PR + "/activities", v.activities),
    (PR + "/commits", v.pr_commits),
    (PR + "/merge", v.pr_merge_status),
    (PR + "/blocker-comments", v.blocker_comments),
    (PR + "/comments", v.pr_comments),
    (PR + "/comments/<int:comment_id>", v.pr_comment),
    (PR + "/changes", v.pr_changes),
    (PR + "/diff", v.pr_diff),
    (PR + "/diff/<path:path>", v.pr_diff),
    (R + "/pull-requests/<int:pr_id>.diff", v.pr_diff_text),
    (R + "/pull-requests/<int:pr_id>.patch", v.pr_patch),
    # Webhook administration (reference §8.8): these handlers name their methods (`webhooks._methods`).
    (P + "/webhooks", wh.project_webhooks),
    (P + "/webhooks/<int:webhook_id>", wh.project_webhook),
    (R + "/webhooks", wh.repo_webhooks),
    (R + "/webhooks/<int:webhook_id>", wh.repo_webhook),
]

# A commit's pull requests; the build-status plugin API (legacy, instance-wide: the way to list a commit's builds).
ROUTES += [
    (R + "/commits/<commit_id>/pull-requests", v.commit_pull_requests),
    ("/rest/build-status/<any('1.0', 'latest'):version>/commits/<commit_id>", v.build_statuses),
]


def _user_centric(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A repository view under the user-centric tree ``/users/{userSlug}/repos/...`` (reference §2.3): the user's
    personal project ``~userSlug``. The spec's narrative writes the slug both with and without its ``~``
    (atlassian-python-api sends ``/users/~alice/repos``); both are taken."""

    def view(ctx: Any, user_slug: str, **kwargs: Any) -> Any:
        return handler(ctx, project_key="~" + user_slug.removeprefix("~"), **kwargs)

    return view


# Every personal repository route again under `/users/<user_slug>`.
ROUTES += [
    ("/users/<user_slug>" + path.removeprefix(P), _user_centric(handler))
    for path, handler in list(ROUTES)
    if path.startswith(P + "/repos")
]
