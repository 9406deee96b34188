"""Editing, adding and deleting files from the source browser, committed with the ``parents`` check.

The form remembers the commit the user started from; if the branch moved meanwhile Bitbucket refuses, and the page
comes back with the user's text, the diff of what landed, and "commit to a new branch and open a pull request"
chosen, so nothing typed is lost.
"""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync import actions
from dashboard.forms.pickers import people_url
from dashboard.forms.writes import FileDeleteForm, FileEditForm, digest
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest, fragment
from dashboard.views.pull_request_actions import reviewer_candidates, reviewer_defaults
from dashboard.views.writes import branch_from_url, path_from_url, perform


def _suggested_branch(user, path: str, verb: str) -> str:
    name = slugify(path.rsplit("/", 1)[-1].replace(".", "-")) or "file"
    return f"feature/{slugify(user.get_username()) or 'me'}-{verb}-{name}"[:100]


def _failure_context(form, failure) -> dict:
    """After a refused commit: switch the form to "new branch + pull request", which cannot be stale."""
    if isinstance(failure, actions.BranchMoved):
        data = form.data.copy()
        data["target"] = "new_branch"
        if not data.get("new_branch"):
            data["new_branch"] = _suggested_branch(form.user, data.get("path", ""), "edit")
        if not data.get("pr_title"):
            data["pr_title"] = data.get("message") or f"Edit {data.get('path', '')}"
        form.data = data
    return {"failure": failure}


def _commit(
    request: HtmxHttpRequest, form, *, workspace, repository, files, delete, verb: str
) -> Callable[[], tuple[str, str]]:
    data = form.cleaned_data
    branch, path = data["branch"], data["path"]
    message = data["message"].strip() or f"{verb} {path}"

    def run():
        if data["target"] == "new_branch":
            pull_request = actions.commit_to_new_branch_and_open_pr(
                user=request.user,
                repository=repository,
                new_branch=data["new_branch"],
                message=message,
                files=files,
                delete=delete,
                parent=data["parent"],
                title=data["pr_title"] or message,
                description=data["pr_description"],
                destination=branch,
                reviewers=data["reviewers"],
            )
            url = reverse("pull_request_detail", args=[workspace.slug, repository.slug, pull_request.number])
            return url, f"Committed to {data['new_branch']} and opened pull request #{pull_request.number}."
        commit = actions.commit_files(
            user=request.user,
            repository=repository,
            branch=branch,
            message=message,
            files=files,
            delete=delete,
            parent=data["parent"],
        )
        # After a delete, the directory that held the file; after an edit, the file.
        shown = path.rsplit("/", 1)[0] + "/" if delete and "/" in path else ("" if delete else path)
        url = reverse("source_detail", args=[workspace.slug, repository.slug, f"{branch}/{shown}"])
        return url, f"Committed {commit[:12]} to {branch}."

    return run


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def file_edit(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """Edit ``?branch=&path=`` (or a new file when the path does not exist yet or ``?new=1``)."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need="write")
    people = reviewer_candidates(request, workspace)
    suggest_url = people_url(workspace=workspace, exclude_me=True)
    context = {"workspace": workspace, "repository": repository, "nav": "workspace"}

    def page(form, failure=None):
        form.user = request.user
        context.update(form=form, **(_failure_context(form, failure) if failure else {"failure": None}))
        return render(request, fragment(request, "files/edit.html", "edit-form"), context)

    if request.method == "GET":
        branch = branch_from_url(request, "branch", repository.main_branch)
        path = path_from_url(request)
        is_new = request.GET.get("new") == "1"
        try:
            loaded = actions.load_file_for_edit(
                user=request.user, repository=repository, branch=branch, path="" if is_new else path
            )
        except actions.ActionRefused as refused:
            raise PermissionDenied(refused.message) from None
        except actions.ActionFailed as failure:
            context.update(form=None, failure=failure, loaded=None)
            return render(request, "files/edit.html", context)
        context["loaded"] = loaded
        if not loaded.editable:
            context.update(form=None, failure=None)
            return render(request, "files/edit.html", context)
        new_path = f"{path}/" if is_new and path else ("" if is_new else path)
        defaults = reviewer_defaults(request, repository, people)
        context["reviewer_note"] = defaults.note
        form = FileEditForm(
            people=people,
            workspace=workspace,
            suggest_url=suggest_url,
            initial={
                "branch": branch,
                "path": new_path,
                "parent": loaded.commit,
                "content": loaded.text,
                "line_ending": loaded.line_ending,
                "original_digest": digest(loaded.text) if loaded.exists else "",
                "is_new": not loaded.exists,
                "target": "branch",
                "new_branch": _suggested_branch(request.user, path or "file", "add" if is_new else "edit"),
                "reviewers": defaults.preselected,
            },
        )
        return page(form)

    form = FileEditForm(request.POST, people=people, workspace=workspace)
    form = FileEditForm(request.POST, people=people, suggest_url=suggest_url)
    context["loaded"] = None
    if not form.is_valid():
        return page(form)
    path = form.cleaned_data["path"]
    run = _commit(
        request,
        form,
        workspace=workspace,
        repository=repository,
        files={path: form.file_bytes()},
        delete=(),
        verb="Add" if form.cleaned_data["is_new"] else "Edit",
    )
    return perform(request, form=form, action="file.commit", run=run, failed=lambda f: page(form, f))


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def file_delete(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """Delete ``?branch=&path=`` in one commit (to the branch, or to a new branch with a pull request)."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need="write")
    people = reviewer_candidates(request, workspace)
    suggest_url = people_url(workspace=workspace, exclude_me=True)
    context = {"workspace": workspace, "repository": repository, "nav": "workspace"}

    def page(form, failure=None):
        form.user = request.user
        context.update(form=form, **(_failure_context(form, failure) if failure else {"failure": None}))
        return render(request, fragment(request, "files/delete.html", "delete-form"), context)

    if request.method == "GET":
        branch = branch_from_url(request, "branch", repository.main_branch)
        path = path_from_url(request)
        try:
            loaded = actions.load_file_for_edit(user=request.user, repository=repository, branch=branch, path=path)
        except actions.ActionRefused as refused:
            raise PermissionDenied(refused.message) from None
        except actions.ActionFailed as failure:
            context.update(form=None, failure=failure)
            return render(request, "files/delete.html", context)
        if not loaded.exists or not path:
            context.update(
                form=None,
                failure=actions.ActionFailed(f"There is no file '{path}' on {branch} to delete.", kind="not_found"),
            )
            return render(request, "files/delete.html", context)
        defaults = reviewer_defaults(request, repository, people)
        context["reviewer_note"] = defaults.note
        return page(
            FileDeleteForm(
                people=people,
                workspace=workspace,
                suggest_url=suggest_url,
                initial={
                    "branch": branch,
                    "path": path,
                    "parent": loaded.commit,
                    "message": f"Delete {path}",
                    "new_branch": _suggested_branch(request.user, path, "delete"),
                    "pr_title": f"Delete {path}",
                    "reviewers": defaults.preselected,
                },
            )
        )

    form = FileDeleteForm(request.POST, people=people, workspace=workspace)
    form = FileDeleteForm(request.POST, people=people, suggest_url=suggest_url)
    if not form.is_valid():
        return page(form)
    run = _commit(
        request,
        form,
        workspace=workspace,
        repository=repository,
        files={},
        delete=[form.cleaned_data["path"]],
        verb="Delete",
    )
    return perform(request, form=form, action="file.commit", run=run, failed=lambda f: page(form, f))
