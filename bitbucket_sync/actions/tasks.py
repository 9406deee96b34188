"""Pull request task actions: add a task, resolve or reopen one, with the acting user's own credential.

Bitbucket asks only for read access (and the read scope) to write tasks, as for comments. After each write the task
list is read again with the same credential: the page shows it, the browse cache holds it, and the mirror's open
and resolved counts (and so the turn) follow it.
"""

from __future__ import annotations

from bitbucket_sync import browse
from bitbucket_sync.client import records
from bitbucket_sync.models import PullRequest

from ._core import Action, ActionFailed

# Bitbucket stores longer task text, but a checklist item is a line: longer text is refused here, not cut.
TASK_MAX_CHARS = 2000


def _reread(act: Action, pull_request: PullRequest) -> list[records.Task]:
    repository = pull_request.repository
    tasks = list(act.client.iter_pull_request_tasks(repository.workspace.key, repository.slug, pull_request.number))
    assert act.credential is not None
    reader = browse.LiveReader(client=act.client, credential_id=act.credential.pk)
    browse.store_pull_request_tasks(reader, pull_request=pull_request, tasks=tasks)
    return tasks


def create_task(*, user, pull_request: PullRequest, text: str) -> list[records.Task]:
    """Add a task to the pull request; returns the task list as it now is."""
    with Action(
        user=user,
        action="pull_request.task_create",
        repository=pull_request.repository,
        target=f"#{pull_request.number}",
        need="read",
    ) as act:
        text = text.strip()
        if not text:
            raise ActionFailed("Write what needs doing to add a task.", kind="invalid")
        if len(text) > TASK_MAX_CHARS:
            raise ActionFailed(f"A task holds at most {TASK_MAX_CHARS} characters.", kind="invalid")
        repository = pull_request.repository
        created = act.client.create_pull_request_task(
            repository.workspace.key, repository.slug, pull_request.number, content=text
        )
        tasks = _reread(act, pull_request)
        act.succeeded(f"Added task {created.id} to pull request #{pull_request.number}.", task_id=created.id)
        return tasks


def set_task_state(*, user, pull_request: PullRequest, task_id: int, resolved: bool) -> list[records.Task]:
    """Resolve (or reopen) a task; doing it to a task already in that state changes nothing on Bitbucket."""
    verb = "resolve" if resolved else "reopen"
    with Action(
        user=user,
        action=f"pull_request.task_{verb}",
        repository=pull_request.repository,
        target=f"#{pull_request.number} task {int(task_id)}",
        need="read",
    ) as act:
        repository = pull_request.repository
        act.client.update_pull_request_task(
            repository.workspace.key, repository.slug, pull_request.number, int(task_id), resolved=resolved
        )
        tasks = _reread(act, pull_request)
        done = "Resolved" if resolved else "Reopened"
        act.succeeded(f"{done} task {int(task_id)} on pull request #{pull_request.number}.", task_id=int(task_id))
        return tasks
