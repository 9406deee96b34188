"""Pull request tasks: a checklist item on a pull request, optionally anchored to one of its comments.

Tasks are not in the public activity log and send no webhooks; the pull request's `task_count` is its open ones.
A task write changes what the PR serialises (`task_count`) but not its `updated_on`: whether Bitbucket bumps it is
unconfirmed, and a sync must not take a task click for an edit of the pull request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .objects import PullRequest, Repository, WorldError

STATES = ("UNRESOLVED", "RESOLVED")


class Clocked(Protocol):
    """What these rules ask of the world (state.World): its clock and its change counter."""

    version: int

    def now(self) -> datetime: ...

    def resolve(self, repo: Repository, rev: str) -> Any: ...


@dataclass
class Task:
    id: int
    creator_uuid: str
    raw: str
    created_on: datetime
    updated_on: datetime
    state: str = "UNRESOLVED"
    resolved_on: datetime | None = None
    resolved_by: str | None = None
    comment_id: int | None = None
    pending: bool = False


def open_count(pr: PullRequest) -> int:
    return sum(1 for t in pr.tasks if t.state == "UNRESOLVED")


def find(pr: PullRequest, task_id: int) -> Task:
    for t in pr.tasks:
        if t.id == task_id:
            return t
    raise WorldError(404, f"Task {task_id} not found.")


def _content(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise WorldError(400, "content: This field is required.", fields={"content": ["The task content is blank."]})
    return raw


def _changed(world: Clocked, pr: PullRequest) -> None:
    pr.rev += 1  # the PR's serialisation (task_count) changes; its updated_on does not
    world.version += 1


def add(
    world: Clocked,
    repo: Repository,
    pr: PullRequest,
    creator_uuid: str,
    raw: object,
    *,
    comment_id: int | None = None,
    pending: bool = False,
    state: str = "UNRESOLVED",
    when: datetime | None = None,
) -> Task:
    text = _content(raw)
    if comment_id is not None and not any(c.id == comment_id and not c.deleted for c in pr.comments):
        raise WorldError(400, "Bad request", fields={"comment": [f"Comment {comment_id} does not exist."]})
    now = when or world.now()
    task = Task(repo.next_task_id, creator_uuid, text, now, now, comment_id=comment_id, pending=pending)
    repo.next_task_id += 1
    if state == "RESOLVED":
        task.state, task.resolved_on, task.resolved_by = "RESOLVED", now, creator_uuid
    pr.tasks.append(task)
    _changed(world, pr)
    return task


def update(
    world: Clocked, pr: PullRequest, task: Task, actor_uuid: str | None, *, raw: object = None, state: object = None
) -> Task:
    """Change the text and/or the state; resolving records who and when, reopening clears both."""
    if state is not None and state not in STATES:
        raise WorldError(400, "Bad request", fields={"state": [f"'{state}' is not a valid task state."]})
    if raw is not None:
        task.raw = _content(raw)
    now = world.now()
    if state is not None and state != task.state:
        task.state = str(state)
        if state == "RESOLVED":
            task.resolved_on, task.resolved_by = now, actor_uuid
        else:
            task.resolved_on, task.resolved_by = None, None
    task.updated_on = now
    _changed(world, pr)
    return task


def delete(world: Clocked, pr: PullRequest, task: Task) -> None:
    pr.tasks.remove(task)
    _changed(world, pr)
