"""Comment text being typed, kept server-side per user, pull request and comment box until it is posted or discarded.

The page saves a box's text as it is typed (``static/js/drafts.js``) and puts it back after a reload; a comment view
calls ``discard_draft`` once Bitbucket has the comment. Nothing here talks to Bitbucket, and nothing here checks
access: the views ask for the pull request as the user may see it first. Old drafts are pruned by
``retention.prune_comment_drafts``.
"""

from __future__ import annotations

import re

from django.utils import timezone

from bitbucket_sync.models import CommentDraft, PullRequest

# A box's name as the page gives it (`general`, `reply-123`, `inline:new:12:src/a.py`, `review-summary`): printable
# and short. It is only ever a lookup key, never a path.
KEY = re.compile(r"[\w.:/@#=+-]{1,200}")
# Far above any comment Bitbucket takes; a bound so one user cannot fill the database through the autosave.
MAX_CHARS = 100_000
# Comment boxes with a draft per user and pull request; a page never has nearly that many open.
MAX_PER_PULL_REQUEST = 100

REVIEW_SUMMARY = "review-summary"


class DraftRefused(ValueError):
    """The draft cannot be kept (a bad key, too long, too many); ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def key_problem(key: str) -> str:
    """Why ``key`` cannot name a comment box ("" when it can)."""
    if KEY.fullmatch(key or "") and ".." not in key:
        return ""
    return "A draft needs a short name of letters, digits and :/.@#=+-_."


def save_draft(user, pull_request: PullRequest, key: str, text: str) -> CommentDraft | None:
    """Keep ``text`` as the user's draft of box ``key``; blank text deletes the draft (None is returned then)."""
    if problem := key_problem(key):
        raise DraftRefused(problem)
    if not text.strip():
        discard_draft(user, pull_request, key)
        return None
    if len(text) > MAX_CHARS:
        raise DraftRefused(f"A draft is kept up to {MAX_CHARS:,} characters.")
    drafts = CommentDraft.objects.filter(user=user, pull_request=pull_request)
    # QuerySet.update skips auto_now: the time is set here, or a draft being typed in would look abandoned.
    updated = drafts.filter(key=key).update(text=text, updated_at=timezone.now())
    if updated:
        return drafts.get(key=key)
    if drafts.count() >= MAX_PER_PULL_REQUEST:
        raise DraftRefused(f"You have {MAX_PER_PULL_REQUEST} unsent drafts on this pull request already.")
    draft, _ = CommentDraft.objects.update_or_create(
        user=user, pull_request=pull_request, key=key, defaults={"text": text}
    )
    return draft


def draft_text(user, pull_request: PullRequest, key: str) -> str:
    """The user's saved text of box ``key`` ("" when there is none)."""
    if key_problem(key):
        return ""
    draft = CommentDraft.objects.filter(user=user, pull_request=pull_request, key=key).only("text").first()
    return draft.text if draft else ""


def discard_draft(user, pull_request: PullRequest, key: str) -> None:
    """Forget the user's draft of box ``key``: its comment was posted (or the user threw it away)."""
    CommentDraft.objects.filter(user=user, pull_request=pull_request, key=key).delete()
