"""A review: the user's pending (draft) comments published together, an optional summary comment, and a decision
(just comment, approve, or request changes), as Bitbucket's own "Finish review" does; or the drafts thrown away.

Publishing is several writes, so it can stop half way: the comments first (each one ``PUT ... {"pending": false}``),
then the summary, then the decision through the ``approve`` / ``request_changes`` actions (their own audit events).
A failure stops there and ``ReviewIncomplete`` says exactly what reached Bitbucket and what is left; what is left is
still pending on Bitbucket (or still in the summary box), so publishing again sends only the rest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from bitbucket_sync import browse, drafts, turns
from bitbucket_sync.client import BitbucketError
from bitbucket_sync.models import PullRequest

from ._core import Action, ActionFailed, plain_error
from .pull_requests import _names, _refresh, approve, request_changes

DECISIONS = {"comment": "Comment", "approve": "Approve", "request_changes": "Request changes"}
# One review publishes at most this many drafts; a page listing more is refused rather than half sent by design.
MAX_COMMENTS = 200


class ReviewIncomplete(ActionFailed):
    """Part of the review reached Bitbucket. ``details``: ``published`` (comment ids now visible to all), ``left``
    (ids still pending), ``summary_posted`` (bool), ``decided`` (the decision was recorded)."""

    kind = "partial"


@dataclass(frozen=True)
class ReviewPublished:
    pull_request: PullRequest
    published: tuple[int, ...]
    summary_comment: int | None
    decision: str

    @property
    def words(self) -> str:
        """What was done, for the page: "Review published: 3 comments, a summary, approved."."""
        parts = [_count(len(self.published), "comment")] if self.published else []
        if self.summary_comment is not None:
            parts.append("a summary")
        if self.decision == "approve":
            parts.append("approved")
        elif self.decision == "request_changes":
            parts.append("changes requested")
        return f"Review published: {', '.join(parts)}." if parts else "Review published."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _comment_ids(comment_ids: Iterable[int | str]) -> list[int]:
    ids = list(dict.fromkeys(int(i) for i in comment_ids))
    if any(i < 1 for i in ids):
        raise ValueError("comment ids are positive")
    if len(ids) > MAX_COMMENTS:
        raise ActionFailed(f"A review publishes at most {MAX_COMMENTS} comments at once.", kind="invalid")
    return ids


def publish_review(
    *, user, pull_request: PullRequest, comment_ids: Iterable[int | str], summary: str = "", decision: str = "comment"
) -> ReviewPublished:
    """Publish the user's pending comments ``comment_ids``, post ``summary`` (if any) as a general comment, then
    approve or request changes (``decision``), all with the user's own credential.

    One audit event for the comments and the summary (``published``, ``left``, ``summary_comment`` in its details),
    and the decision's own. Raises ``ReviewIncomplete`` when Bitbucket refused a step after an earlier one went
    through, ``ActionFailed`` when nothing went through.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown review decision {decision!r}")
    ids = _comment_ids(comment_ids)
    summary = summary.strip()
    if not ids and not summary and decision == "comment":
        raise ActionFailed(
            "There is nothing to publish: add comments to your review, write a summary, or choose a decision.",
            kind="invalid",
        )
    published: list[int] = []
    summary_id: int | None = None
    number = pull_request.number
    if ids or summary:
        act = Action(
            user=user,
            action="pull_request.review_publish",
            repository=pull_request.repository,
            target=f"#{number}",
            need="read",
            details={"decision": decision, "pending": ids},
        )
        with act:
            workspace, slug, _ = _names(pull_request)
            try:
                for comment_id in ids:
                    act.client.publish_pull_request_comment(workspace, slug, number, comment_id)
                    published.append(comment_id)
                if summary:
                    summary_id = act.client.comment_pull_request(workspace, slug, number, content=summary).id
                    drafts.discard_draft(user, pull_request, drafts.REVIEW_SUMMARY)
            except BitbucketError as exc:
                browse.forget_pull_request_discussion(act.reader, pull_request=pull_request)
                act.details.update(published=published, left=ids[len(published) :])
                if not published:
                    raise  # nothing reached Bitbucket: the action's plain failure says why
                raise _incomplete(
                    exc, published=published, left=ids[len(published) :], summary=summary, decision=decision
                ) from exc
            browse.forget_pull_request_discussion(act.reader, pull_request=pull_request)
            # Published all the same if this read fails; the next sync brings the counts.
            with contextlib.suppress(BitbucketError):
                pull_request = _refresh(act, pull_request)  # comment count, participants, updated_on
            browse.forget_pull_request_discussion(act.reader, pull_request=pull_request)
            act.succeeded(
                f"Published {_count(len(published), 'pending comment')} on pull request #{number}"
                f"{' with a summary' if summary_id is not None else ''}.",
                published=published,
                left=[],
                summary_comment=summary_id,
            )
    if decision != "comment":
        decide = approve if decision == "approve" else request_changes
        try:
            pull_request = decide(user=user, pull_request=pull_request)
        except ActionFailed as failure:
            if not (published or summary_id is not None):
                raise
            done = _done_words(published, summary_id is not None)
            raise ReviewIncomplete(
                f"{done} Your decision ({DECISIONS[decision].lower()}) was not recorded: {failure.message}",
                error=failure.error,
                details={
                    "published": published,
                    "left": [],
                    "summary_posted": summary_id is not None,
                    "decided": False,
                },
            ) from failure
    # Whose turn it is follows the review (the decision's action refreshed it too; a comment-only review did not).
    turns.refresh_turns([pull_request.pk])
    return ReviewPublished(
        pull_request=pull_request, published=tuple(published), summary_comment=summary_id, decision=decision
    )


def _done_words(published: list[int], summary_posted: bool) -> str:
    parts = [f"{_count(len(published), 'comment')} ({', '.join(f'#{i}' for i in published)})"] if published else []
    if summary_posted:
        parts.append("your summary")
    verb = "is" if len(parts) == 1 and len(published) <= 1 else "are"
    text = " and ".join(parts)
    return f"{text[:1].upper()}{text[1:]} {verb} published." if parts else ""


def _incomplete(
    exc: BitbucketError, *, published: list[int], left: list[int], summary: str, decision: str
) -> ReviewIncomplete:
    reason = plain_error(exc, doing=f"publish comment #{left[0]}" if left else "post your summary")
    still = []
    if left:
        still.append(f"{_count(len(left), 'comment')} still pending ({', '.join(f'#{i}' for i in left)})")
    if summary:
        still.append("your summary not posted (it is kept below)")
    if decision != "comment":
        still.append(f"no decision recorded ({DECISIONS[decision].lower()} not sent)")
    return ReviewIncomplete(
        f"{_done_words(published, False)} Left: {'; '.join(still)}. {reason.message} Publish again to send the rest.",
        error=exc,
        details={"published": published, "left": left, "summary_posted": False, "decided": False},
    )


def discard_review(*, user, pull_request: PullRequest, comment_ids: Iterable[int | str]) -> int:
    """Delete the user's pending comments ``comment_ids`` and their saved summary; returns how many were deleted.
    A failure part way raises ``ReviewIncomplete`` naming what is left."""
    ids = _comment_ids(comment_ids)
    number = pull_request.number
    deleted: list[int] = []
    with Action(
        user=user,
        action="pull_request.review_discard",
        repository=pull_request.repository,
        target=f"#{number}",
        need="read",
        details={"pending": ids},
    ) as act:
        workspace, slug, _ = _names(pull_request)
        try:
            for comment_id in ids:
                act.client.delete_pull_request_comment(workspace, slug, number, comment_id)
                deleted.append(comment_id)
        except BitbucketError as exc:
            browse.forget_pull_request_discussion(act.reader, pull_request=pull_request)
            act.details.update(deleted=deleted, left=ids[len(deleted) :])
            if not deleted:
                raise
            left = ids[len(deleted) :]
            reason = plain_error(exc, doing=f"delete comment #{left[0]}")
            raise ReviewIncomplete(
                f"{_count(len(deleted), 'pending comment')} deleted; {_count(len(left), 'comment')} still pending "
                f"({', '.join(f'#{i}' for i in left)}). {reason.message}",
                error=exc,
                details={"published": [], "left": left, "summary_posted": False, "decided": False},
            ) from exc
        drafts.discard_draft(user, pull_request, drafts.REVIEW_SUMMARY)
        browse.forget_pull_request_discussion(act.reader, pull_request=pull_request)
        act.succeeded(
            f"Discarded {_count(len(deleted), 'pending comment')} on pull request #{number}.", deleted=deleted
        )
    return len(deleted)
