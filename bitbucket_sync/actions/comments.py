"""Review thread actions: reply, comment on a line of the diff, edit or delete one's own comment, resolve or reopen
a thread, and turn a comment into a task; each with the acting user's own credential.

Bitbucket asks only for read access to a pull request (and the read scope) to write comments, as for tasks. It
lets only a comment's author edit or delete it, and resolves only a thread's root; its refusals (``CommentRefused``,
``AlreadyResolved``, the 404 of reopening a thread that is open) are said here in plain words. After every write,
failed or not, the acting credential's cached discussion is dropped, so the page's next read shows Bitbucket's state.
"""

from __future__ import annotations

from dataclasses import dataclass

from bitbucket_sync import browse
from bitbucket_sync.client import AlreadyResolved, CommentRefused, NotFound, path_problem, records
from bitbucket_sync.models import PullRequest

from ._core import Action, ActionFailed
from .tasks import TASK_MAX_CHARS, _reread

SIDES = ("new", "old")


@dataclass(frozen=True)
class InlineAnchor:
    """Where a new inline comment goes: a file, a side of the diff, a line (the last of a range) and the first line
    of a range (None for one line)."""

    path: str
    side: str
    line: int
    start: int | None = None

    def problem(self) -> str | None:
        """Why Bitbucket could not take this anchor, or None."""
        if not self.path or path_problem(self.path):
            return "The file path of this comment is not one a repository can hold."
        if self.side not in SIDES:
            return "A line comment goes on the new or the old side of the diff."
        if self.line < 1 or (self.start is not None and not 1 <= self.start <= self.line):
            return "Line numbers start at 1, and a range starts at or before the line it ends on."
        return None

    def client_kwargs(self) -> dict:
        start = self.start if self.start is not None and self.start != self.line else None
        if self.side == "new":
            return {"inline_path": self.path, "inline_to": self.line, "inline_start_to": start}
        return {"inline_path": self.path, "inline_from": self.line, "inline_start_from": start}

    def describe(self) -> str:
        lines = f"{self.start}-{self.line}" if self.start and self.start != self.line else str(self.line)
        return f"{self.path}:{lines} ({self.side})"


class _Comments:
    """The pieces every comment action shares: Bitbucket's names for the pull request, and the cache drop."""

    def __init__(self, act: Action, pull_request: PullRequest) -> None:
        self.act = act
        self.pull_request = pull_request
        repository = pull_request.repository
        self.names = (repository.workspace.key, repository.slug, pull_request.number)

    def forget(self) -> None:
        if self.act.credential is None:
            return
        reader = browse.LiveReader(client=self.act.client, credential_id=self.act.credential.pk)
        browse.forget_pull_request_discussion(reader, pull_request=self.pull_request)


def _action(user, pull_request: PullRequest, action: str, target: str, **details) -> Action:
    return Action(
        user=user,
        action=action,
        repository=pull_request.repository,
        target=f"#{pull_request.number} {target}".strip(),
        need="read",
        details=details,
    )


def _check_text(text: str) -> str:
    if not text.strip():
        raise ActionFailed("Write something to comment.", kind="invalid")
    return text


def post_comment(
    *,
    user,
    pull_request: PullRequest,
    text: str,
    parent_id: int | None = None,
    anchor: InlineAnchor | None = None,
    pending: bool = False,
) -> records.Comment:
    """Post a reply (``parent_id``), a comment on lines of the diff (``anchor``) or a general comment; with
    ``pending`` it is a draft of the user's review (only they see it until the review is published)."""
    if parent_id is not None:
        action, target = "pull_request.comment_reply", f"comment {int(parent_id)}"
    elif anchor is not None:
        action, target = "pull_request.comment_inline", anchor.describe()
    else:
        action, target = "pull_request.comment", ""
    with _action(user, pull_request, action, target, pending=pending) as act:
        comments = _Comments(act, pull_request)
        _check_text(text)
        if anchor is not None and (problem := anchor.problem()):
            raise ActionFailed(problem, kind="invalid")
        try:
            posted = act.client.comment_pull_request(
                *comments.names,
                content=text,
                parent_id=int(parent_id) if parent_id is not None else None,
                pending=pending,
                **(anchor.client_kwargs() if anchor is not None else {}),
            )
        finally:
            comments.forget()
        kind = "draft" if pending else "comment"
        act.succeeded(f"Posted {kind} {posted.id} on pull request #{pull_request.number}.", comment_id=posted.id)
        return posted


def _refused(exc: CommentRefused, doing: str) -> ActionFailed:
    return ActionFailed(f"Bitbucket refused to {doing}: {exc.message}", kind="refused", error=exc)


def edit_comment(*, user, pull_request: PullRequest, comment_id: int, text: str) -> records.Comment:
    """Replace the text of the user's own comment (Bitbucket lets only the author edit it)."""
    comment_id = int(comment_id)
    with _action(user, pull_request, "pull_request.comment_edit", f"comment {comment_id}") as act:
        comments = _Comments(act, pull_request)
        _check_text(text)
        try:
            edited = act.client.update_pull_request_comment(*comments.names, comment_id, content=text)
        except CommentRefused as exc:
            raise _refused(exc, "change this comment (only its author may)") from exc
        finally:
            comments.forget()
        act.succeeded(f"Edited comment {comment_id} on pull request #{pull_request.number}.")
        return edited


def delete_comment(*, user, pull_request: PullRequest, comment_id: int) -> None:
    """Delete the user's own comment. Bitbucket keeps it listed as deleted, so the replies under it stay."""
    comment_id = int(comment_id)
    with _action(user, pull_request, "pull_request.comment_delete", f"comment {comment_id}") as act:
        comments = _Comments(act, pull_request)
        try:
            act.client.delete_pull_request_comment(*comments.names, comment_id)
        except CommentRefused as exc:
            raise _refused(exc, "delete this comment (only its author may)") from exc
        except NotFound as exc:
            raise ActionFailed(
                "Bitbucket no longer has this comment: someone may have deleted it already.",
                kind="not_found",
                error=exc,
            ) from exc
        finally:
            comments.forget()
        act.succeeded(f"Deleted comment {comment_id} on pull request #{pull_request.number}.")


def resolve_thread(*, user, pull_request: PullRequest, comment_id: int) -> None:
    """Resolve the thread ``comment_id`` starts (only a thread's first comment can be resolved)."""
    comment_id = int(comment_id)
    with _action(user, pull_request, "pull_request.comment_resolve", f"comment {comment_id}") as act:
        comments = _Comments(act, pull_request)
        try:
            act.client.resolve_pull_request_comment(*comments.names, comment_id)
        except AlreadyResolved as exc:
            raise ActionFailed(
                "Someone resolved this thread before you did, so it is resolved already; it is shown as it is now.",
                kind="already",
                error=exc,
            ) from exc
        except CommentRefused as exc:
            raise _refused(exc, "resolve this thread (only its first comment can be resolved)") from exc
        finally:
            comments.forget()
        act.succeeded(f"Resolved the thread of comment {comment_id} on pull request #{pull_request.number}.")


def reopen_thread(*, user, pull_request: PullRequest, comment_id: int) -> None:
    """Reopen a resolved thread. Bitbucket answers 404 both for a thread that is not resolved and for one that is
    gone, so on a 404 the comment is read again to say which."""
    comment_id = int(comment_id)
    with _action(user, pull_request, "pull_request.comment_reopen", f"comment {comment_id}") as act:
        comments = _Comments(act, pull_request)
        try:
            act.client.reopen_pull_request_comment(*comments.names, comment_id)
        except CommentRefused as exc:
            raise _refused(exc, "reopen this thread (only its first comment can be)") from exc
        except NotFound as exc:
            raise _reopen_not_found(act, comments, comment_id, exc) from exc
        finally:
            comments.forget()
        act.succeeded(f"Reopened the thread of comment {comment_id} on pull request #{pull_request.number}.")


def _reopen_not_found(act: Action, comments: _Comments, comment_id: int, exc: NotFound) -> ActionFailed:
    try:
        comment = act.client.get_pull_request_comment(*comments.names, comment_id)
    except NotFound:
        return ActionFailed(
            "Bitbucket no longer has this comment, so there is no thread to reopen: it may have been deleted.",
            kind="not_found",
            error=exc,
        )
    if comment.deleted:
        return ActionFailed("This comment was deleted, so its thread cannot be reopened.", kind="not_found", error=exc)
    return ActionFailed(
        "This thread is not resolved (someone may have reopened it already), so there was nothing to reopen; it is "
        "shown as it is now.",
        kind="already",
        error=exc,
    )


def task_from_comment(*, user, pull_request: PullRequest, comment_id: int, text: str) -> list[records.Task]:
    """Add a task anchored to a comment (Bitbucket shows it under that comment); returns the task list as it now
    is, which also corrects the mirror's task counts."""
    comment_id = int(comment_id)
    with _action(user, pull_request, "pull_request.task_create", f"comment {comment_id}") as act:
        comments = _Comments(act, pull_request)
        text = text.strip()
        if not text:
            raise ActionFailed("Write what needs doing to add a task.", kind="invalid")
        if len(text) > TASK_MAX_CHARS:
            raise ActionFailed(f"A task holds at most {TASK_MAX_CHARS} characters.", kind="invalid")
        try:
            created = act.client.create_pull_request_task(*comments.names, content=text, comment_id=comment_id)
        finally:
            comments.forget()
        tasks = _reread(act, pull_request)
        act.succeeded(
            f"Added task {created.id} on comment {comment_id} of pull request #{pull_request.number}.",
            task_id=created.id,
            comment_id=comment_id,
        )
        return tasks
