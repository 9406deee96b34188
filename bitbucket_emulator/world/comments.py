"""Pull request comment rules: inline anchors, visibility of drafts, edits, soft deletes, resolution, outdated-ness.

The world (state.World) creates comments (`add_comment`); what happens to them afterwards lives here. Messages and
status codes follow reference section 24; the ones Bitbucket was never seen to send are marked unconfirmed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .objects import Comment, PullRequest, Repository, WorldError


class World(Protocol):
    """What these rules ask of the world (state.World): clock, change counter, PR bookkeeping and webhooks."""

    version: int

    def now(self) -> datetime: ...

    def touch_pr(self, pr: PullRequest) -> None: ...

    def record_comment(
        self, repo: Repository, pr: PullRequest, comment: Comment, when: datetime | None = None
    ) -> None: ...

    def emit(self, event: str, repo: Repository, actor_uuid: str | None, **objects) -> None: ...


ANCHOR_KEYS = ("from", "to", "path", "start_from", "start_to")


def anchor(inline: object) -> dict | None:
    """The stored anchor of a create body's `inline`: path required, line numbers positive integers or null."""
    if inline is None:
        return None
    if not isinstance(inline, dict) or not isinstance(inline.get("path"), str) or not inline["path"].strip():
        raise WorldError(400, "inline.path: This field is required.", fields={"inline": ["path is required."]})
    out: dict = {"path": inline["path"].lstrip("/")}
    for key in ("from", "to", "start_from", "start_to"):
        value = inline.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise WorldError(400, f"inline.{key}: A valid integer is required.", fields={"inline": [key]})
        out[key] = value
    return out


def visible(c: Comment, viewer_uuid: str | None) -> bool:
    """A pending draft is seen by its author only."""
    return not c.pending or c.user_uuid == viewer_uuid


def find(pr: PullRequest, comment_id: int, viewer_uuid: str | None) -> Comment:
    for c in pr.comments:
        if c.id == comment_id and visible(c, viewer_uuid):
            return c
    raise WorldError(404, f"Comment {comment_id} not found")


def _own(c: Comment, actor_uuid: str | None, verb: str) -> None:
    # Bitbucket answers 403 "not allowed" here; the exact text was never captured (unconfirmed).
    if actor_uuid != c.user_uuid:
        raise WorldError(403, f"You are not allowed to {verb} this comment.")


def _changed(world: World, pr: PullRequest) -> None:
    # The comment is serialised with the PR; a new rev drops cached copies without moving the PR's updated_on.
    pr.rev += 1
    world.version += 1


def publish(world: World, repo: Repository, pr: PullRequest, c: Comment) -> None:
    """A draft becomes a comment everybody sees: activity, participation and `comment_created` happen now."""
    c.pending = False
    world.record_comment(repo, pr, c)


def edit(
    world: World, repo: Repository, pr: PullRequest, c: Comment, actor_uuid: str | None, raw: str | None, pending
) -> Comment:
    _own(c, actor_uuid, "edit")
    if c.deleted:
        raise WorldError(404, f"Comment {c.id} not found")  # unconfirmed: what an edit of a deleted comment answers
    if pending is True and not c.pending:
        raise WorldError(400, "pending: A published comment cannot become a draft again.")
    if raw is not None:
        c.raw = raw
        c.updated_on = world.now()
    if c.pending and pending is False:
        c.updated_on = world.now()
        publish(world, repo, pr, c)
    elif not c.pending and raw is not None:
        world.touch_pr(pr)
        world.emit("pullrequest:comment_updated", repo, actor_uuid, pullrequest=pr, comment=c)
    else:
        _changed(world, pr)
    return c


def delete(world: World, repo: Repository, pr: PullRequest, c: Comment, actor_uuid: str | None) -> None:
    """Soft delete: the comment stays listed with `deleted: true` and empty content; its replies stay."""
    _own(c, actor_uuid, "delete")
    if c.deleted:
        raise WorldError(404, f"Comment {c.id} not found")  # unconfirmed
    c.deleted = True
    c.raw = ""
    c.updated_on = world.now()
    _changed(world, pr)
    if not c.pending:
        world.emit("pullrequest:comment_deleted", repo, actor_uuid, pullrequest=pr, comment=c)


def resolve(world: World, repo: Repository, pr: PullRequest, c: Comment, actor_uuid: str | None) -> Comment:
    if c.parent_id is not None:
        raise WorldError(403, "Comment is not a top-level comment")
    if c.resolved_on is not None:
        raise WorldError(409, "Comment has already been resolved.")
    c.resolved_by = actor_uuid
    c.resolved_on = c.updated_on = world.now()  # the captured resolve moved updated_on to exactly this instant
    _changed(world, pr)
    if not c.pending:
        world.emit("pullrequest:comment_resolved", repo, actor_uuid, pullrequest=pr, comment=c)
    return c


def reopen(world: World, repo: Repository, pr: PullRequest, c: Comment, actor_uuid: str | None) -> None:
    if c.parent_id is not None:
        raise WorldError(403, "Comment is not a top-level comment")
    if c.resolved_on is None:
        raise WorldError(404, "Comment is not resolved.")  # 404 per the spec; the text is unconfirmed
    c.resolved_by = c.resolved_on = None
    c.updated_on = world.now()
    _changed(world, pr)
    if not c.pending:
        world.emit("pullrequest:comment_reopened", repo, actor_uuid, pullrequest=pr, comment=c)


def _line(world: World, repo: Repository, rev: str | None, path: str, number: int) -> bytes | None:
    commit = repo.commits.get(rev or "")
    content = commit.tree.get(path) if commit else None
    if content is None:
        return None
    lines = content.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else None


def outdated(world: World, repo: Repository, pr: PullRequest, c: Comment) -> bool:
    """Whether the anchored line is gone: its side's file changed at that line since the comment was made.

    A new-side anchor (`to`) follows the source tip, an old-side one (`from`) the destination tip. Bitbucket
    compares against its diff; comparing the line's text is the emulator's cheap approximation.
    """
    if not c.inline:
        return False
    path = c.inline["path"]
    if c.inline.get("to") is not None:
        then, now, number = c.src_rev, pr.source_hash, c.inline["to"]
    elif c.inline.get("from") is not None:
        then, now, number = c.dest_rev, pr.dest_hash, c.inline["from"]
    else:
        return False
    if then == now:
        return False
    before = _line(world, repo, then, path, number)
    return before is None or before != _line(world, repo, now, path, number)
