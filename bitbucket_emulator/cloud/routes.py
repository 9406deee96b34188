"""Bitbucket Cloud API 2.0's routes: each path and method, its handler and the scope it needs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Map, Rule

from . import views_accounts as acc
from . import views_pullrequests as prs
from . import views_refs as refs
from . import views_reports as reports
from . import views_repositories as repos
from . import views_restrictions as restrictions
from . import views_reviewers as reviewers
from . import views_statuses as statuses
from . import views_tasks as tasks
from .auth import Scope

R = "/2.0/repositories/<workspace>/<repo_slug>"
PR = R + "/pullrequests/<int:pull_request_id>"
REPORT = R + "/commit/<commit>/reports/<report_id>"

READ_USER = Scope("account", ("read:user:bitbucket",))
READ_WS = Scope("account", ("read:workspace:bitbucket",))
READ_PROJECT = Scope("project", ("read:project:bitbucket",))
READ_REPO = Scope("repository", ("read:repository:bitbucket",))
WRITE_REPO = Scope("repository:write", ("write:repository:bitbucket",))
READ_PR = Scope("pullrequest", ("read:pullrequest:bitbucket",))
WRITE_PR = Scope("pullrequest:write", ("read:pullrequest:bitbucket", "write:pullrequest:bitbucket"))
READ_HOOK = Scope("webhook", ("read:webhook:bitbucket",))
WRITE_HOOK = Scope("webhook", ("read:webhook:bitbucket", "write:webhook:bitbucket"))
DELETE_HOOK = Scope("webhook", ("delete:webhook:bitbucket",))
ADMIN_REPO = Scope("repository:admin", ("admin:repository:bitbucket",))
NO_SCOPE = Scope(None)


@dataclass
class Route:
    path: str
    methods: tuple[str, ...]
    handler: Callable[..., Any]
    scope: Scope
    family: str = ""


def _routes() -> list[Route]:
    """Every endpoint: path, methods, handler, the scope it needs; `family` names it in the request counts."""
    table: list[tuple[str, tuple[str, ...], Callable[..., Any], Scope]] = [
        ("/2.0/user", ("GET",), acc.me, READ_USER),
        ("/2.0/user/emails", ("GET",), acc.my_emails, Scope("email", ("read:user:bitbucket",))),
        ("/2.0/user/workspaces", ("GET",), acc.my_workspaces, READ_WS),
        ("/2.0/user/workspaces/<workspace>/permission", ("GET",), acc.my_workspace_permission, READ_WS),
        (
            "/2.0/user/workspaces/<workspace>/permissions/repositories",
            ("GET",),
            acc.my_repository_permissions,
            READ_REPO,
        ),
        ("/2.0/users/<selected_user>", ("GET",), acc.user_by_id, NO_SCOPE),
        ("/2.0/workspaces/<workspace>", ("GET",), acc.workspace_detail, Scope(None, ("read:workspace:bitbucket",))),
        ("/2.0/workspaces/<workspace>/members", ("GET",), acc.members, READ_WS),
        ("/2.0/workspaces/<workspace>/members/<member>", ("GET",), acc.member_detail, READ_WS),
        ("/2.0/workspaces/<workspace>/permissions", ("GET",), acc.permissions, READ_WS),
        ("/2.0/workspaces/<workspace>/projects", ("GET",), acc.projects, READ_PROJECT),
        ("/2.0/workspaces/<workspace>/projects/<project_key>", ("GET",), acc.project_detail, READ_PROJECT),
        ("/2.0/workspaces/<workspace>/hooks", ("GET",), acc.hook_list, READ_HOOK),
        ("/2.0/workspaces/<workspace>/hooks", ("POST",), acc.hook_create, WRITE_HOOK),
        ("/2.0/workspaces/<workspace>/hooks/<uid>", ("GET",), acc.hook_detail, READ_HOOK),
        ("/2.0/workspaces/<workspace>/hooks/<uid>", ("PUT",), acc.hook_update, WRITE_HOOK),
        ("/2.0/workspaces/<workspace>/hooks/<uid>", ("DELETE",), acc.hook_delete, DELETE_HOOK),
        ("/2.0/workspaces", ("GET",), acc.gone, NO_SCOPE),
        ("/2.0/user/permissions/workspaces", ("GET",), acc.gone, NO_SCOPE),
        ("/2.0/user/permissions/repositories", ("GET",), acc.gone, NO_SCOPE),
        ("/2.0/repositories", ("GET",), acc.gone, NO_SCOPE),
        ("/2.0/repositories/<workspace>", ("GET",), acc.repositories, READ_REPO),
        (R, ("GET",), repos.repository_detail, READ_REPO),
        (R + "/watchers", ("GET",), repos.watchers, READ_REPO),
        (R + "/default-reviewers", ("GET",), reviewers.default_reviewers, READ_PR),
        (R + "/effective-default-reviewers", ("GET",), reviewers.effective_default_reviewers, READ_PR),
        (R + "/hooks", ("GET",), acc.hook_list, READ_HOOK),
        (R + "/hooks", ("POST",), acc.hook_create, WRITE_HOOK),
        (R + "/hooks/<uid>", ("GET",), acc.hook_detail, READ_HOOK),
        (R + "/hooks/<uid>", ("PUT",), acc.hook_update, WRITE_HOOK),
        (R + "/hooks/<uid>", ("DELETE",), acc.hook_delete, DELETE_HOOK),
        (R + "/branch-restrictions", ("GET",), restrictions.restriction_list, ADMIN_REPO),
        (R + "/branch-restrictions", ("POST",), restrictions.restriction_create, ADMIN_REPO),
        (R + "/branch-restrictions/<int:rule_id>", ("GET",), restrictions.restriction_detail, ADMIN_REPO),
        (R + "/branch-restrictions/<int:rule_id>", ("PUT",), restrictions.restriction_update, ADMIN_REPO),
        (R + "/branch-restrictions/<int:rule_id>", ("DELETE",), restrictions.restriction_delete, ADMIN_REPO),
        (R + "/refs/branches", ("GET",), repos.branches, READ_REPO),
        (
            R + "/refs/branches",
            ("POST",),
            repos.branch_create,
            Scope("repository:write", ("read:repository:bitbucket", "write:repository:bitbucket")),
        ),
        (R + "/refs/branches/<path:name>", ("GET",), repos.branch_detail, READ_REPO),
        (R + "/refs/branches/<path:name>", ("DELETE",), repos.branch_delete, WRITE_REPO),
        (R + "/refs/tags", ("GET",), repos.tags, READ_REPO),
        (
            R + "/refs/tags",
            ("POST",),
            refs.tag_create,
            Scope("repository:write", ("read:repository:bitbucket", "write:repository:bitbucket")),
        ),
        (R + "/refs/tags/<path:name>", ("GET",), refs.tag_detail, READ_REPO),
        (R + "/refs/tags/<path:name>", ("DELETE",), refs.tag_delete, WRITE_REPO),
        (R + "/branching-model", ("GET",), refs.branching_model, READ_REPO),
        (R + "/effective-branching-model", ("GET",), refs.effective_branching_model, READ_REPO),
        (R + "/branching-model/settings", ("GET",), refs.branching_model_settings, ADMIN_REPO),
        (R + "/branching-model/settings", ("PUT",), refs.branching_model_settings_update, ADMIN_REPO),
        (R + "/commits", ("GET",), repos.commits, READ_REPO),
        (R + "/commits/<path:revision>", ("GET",), repos.commits, READ_REPO),
        (R + "/commit/<commit>", ("GET",), repos.commit_detail, READ_REPO),
        (R + "/commit/<commit>/pullrequests", ("GET",), repos.commit_pullrequests, READ_PR),
        (R + "/filehistory/<commit>/<path:path>", ("GET",), repos.filehistory, READ_REPO),
        (R + "/merge-base/<path:revspec>", ("GET",), repos.merge_base, READ_REPO),
        # Writing a status needs only the read scope (the spec lists no write scope for POST or PUT).
        (R + "/commit/<commit>/statuses", ("GET",), statuses.commit_statuses, READ_REPO),
        (R + "/commit/<commit>/statuses/build", ("POST",), statuses.status_create, READ_REPO),
        (R + "/commit/<commit>/statuses/build/<path:key>", ("GET",), statuses.status_detail, READ_REPO),
        (R + "/commit/<commit>/statuses/build/<path:key>", ("PUT",), statuses.status_update, READ_REPO),
        (R + "/src", ("GET",), repos.src_root, READ_REPO),
        (R + "/src", ("POST",), repos.src_create, WRITE_REPO),
        (R + "/src/<path:rest>", ("GET",), repos.src, READ_REPO),
        (R + "/diff/<path:spec>", ("GET",), repos.diff, READ_REPO),
        (R + "/diffstat/<path:spec>", ("GET",), repos.diffstat, READ_REPO),
        (R + "/file-conflicts/<path:spec>", ("GET",), repos.file_conflicts, READ_REPO),
        (R + "/pullrequests", ("GET",), prs.pr_list, READ_PR),
        (R + "/pullrequests", ("POST",), prs.pr_create, WRITE_PR),
        (PR, ("GET",), prs.pr_detail, READ_PR),
        (PR, ("PUT",), prs.pr_update, WRITE_PR),
        (PR + "/diff", ("GET",), prs.pr_diff, READ_PR),
        (PR + "/diffstat", ("GET",), prs.pr_diffstat, READ_PR),
        (PR + "/conflicts", ("GET",), prs.pr_conflicts, READ_PR),
        (PR + "/commits", ("GET",), prs.pr_commits, READ_PR),
        (PR + "/activity", ("GET",), prs.pr_activity, READ_PR),
        (PR + "/statuses", ("GET",), statuses.pullrequest_statuses, READ_PR),
        (PR + "/comments", ("GET",), prs.comments, READ_PR),
        (PR + "/comments", ("POST",), prs.comment_create, READ_PR),  # the read scope, as the spec says
        (PR + "/comments/<int:comment_id>", ("GET",), prs.comment_detail, READ_PR),
        # Reference section 24: the comment writes need the read scope of an API token (legacy `pullrequest`).
        (PR + "/comments/<int:comment_id>", ("PUT",), prs.comment_update, READ_PR),
        (PR + "/comments/<int:comment_id>", ("DELETE",), prs.comment_delete, READ_PR),
        (PR + "/comments/<int:comment_id>/resolve", ("POST",), prs.comment_resolve, READ_PR),
        (PR + "/comments/<int:comment_id>/resolve", ("DELETE",), prs.comment_reopen, READ_PR),
        (PR + "/approve", ("POST",), prs.approve, WRITE_PR),
        (PR + "/approve", ("DELETE",), prs.unapprove, Scope("pullrequest:write", ("write:pullrequest:bitbucket",))),
        (PR + "/request-changes", ("POST",), prs.request_changes, WRITE_PR),
        (
            PR + "/request-changes",
            ("DELETE",),
            prs.unrequest_changes,
            Scope("pullrequest:write", ("write:pullrequest:bitbucket",)),
        ),
        (PR + "/decline", ("POST",), prs.decline, WRITE_PR),
        (PR + "/merge", ("POST",), prs.merge, WRITE_PR),
        (PR + "/merge/task-status/<task_id>", ("GET",), prs.merge_task_status, READ_PR),
        # Tasks and Code Insights list only read scopes, for their writes too.
        (PR + "/tasks", ("GET",), tasks.task_list, READ_PR),
        (PR + "/tasks", ("POST",), tasks.task_create, READ_PR),
        (PR + "/tasks/<int:task_id>", ("GET",), tasks.task_detail, READ_PR),
        (PR + "/tasks/<int:task_id>", ("PUT",), tasks.task_update, READ_PR),
        (PR + "/tasks/<int:task_id>", ("DELETE",), tasks.task_delete, READ_PR),
        (R + "/commit/<commit>/reports", ("GET",), reports.report_list, READ_REPO),
        (REPORT, ("GET",), reports.report_detail, READ_REPO),
        (REPORT, ("PUT",), reports.report_put, READ_REPO),
        (REPORT, ("DELETE",), reports.report_delete, READ_REPO),
        (REPORT + "/annotations", ("GET",), reports.annotation_list, READ_REPO),
        (REPORT + "/annotations", ("POST",), reports.annotation_bulk, READ_REPO),
        (REPORT + "/annotations/<annotation_id>", ("GET",), reports.annotation_detail, READ_REPO),
        (REPORT + "/annotations/<annotation_id>", ("PUT",), reports.annotation_put, READ_REPO),
        (REPORT + "/annotations/<annotation_id>", ("DELETE",), reports.annotation_delete, READ_REPO),
    ]
    out = []
    for path, methods, handler, scope in table:
        family = path.replace("<int:", "<").replace("<path:", "<").replace("<", "{").replace(">", "}")
        out.append(Route(path, methods, handler, scope, f"{methods[0]} {family}"))
    return out


@functools.cache
def routing() -> tuple[list[Route], Map]:
    """The routes and their compiled map: built once per process (compiling the rules takes a tenth of a second)."""
    routes = _routes()
    url_map = Map(
        [Rule(r.path, endpoint=i, methods=list(r.methods)) for i, r in enumerate(routes)],
        strict_slashes=False,
        merge_slashes=False,
    )
    return routes, url_map
