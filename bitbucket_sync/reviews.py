"""Which source commit each reviewer last reviewed: the one place that decides it.

Two witnesses: `Participant.reviewed_commit` (set exactly when someone approves, requests changes or publishes a
review through bbdash; otherwise the sync's guess, the source commit when it first saw the review) and the pull
request's activity feed, where Bitbucket lists every `update` with the source commit at that moment and every
approval and change request with its date. The latest review by a person, matched to the source commit that was
current at its date, is what they reviewed.

    history = PushHistory.of(activity)                       # activity as the client lists it, any order
    commit = last_reviewed_commit(stored=p.reviewed_commit, history=history, account=p.account)

Activity hashes are shortened (12 hex digits, as Bitbucket sends them), so commits are compared by prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bitbucket_sync import turns
from bitbucket_sync.client.records import Activity
from bitbucket_sync.models import Account, Participant, PullRequest

REVIEW_KINDS = frozenset({"approval", "changes_requested"})
# A hash as a URL or Bitbucket may name a commit: 7 to 40 lowercase hex digits (nothing that could name a repository).
COMMIT_HASH = re.compile(r"[0-9a-f]{7,40}")


def same_commit(a: str, b: str) -> bool:
    """Whether two hashes (full or shortened, at least 7 digits) name the same commit."""
    if not (COMMIT_HASH.fullmatch(a or "") and COMMIT_HASH.fullmatch(b or "")):
        return False
    return a.startswith(b) or b.startswith(a)


@dataclass(frozen=True)
class PushHistory:
    """The source commits of a pull request in the order they became current, each with its date (from the activity
    feed's `update` entries; a title edit repeats the commit and is folded in), and the reviews given on it."""

    pushes: tuple[tuple[datetime, str], ...]
    reviews: tuple[tuple[datetime, Activity], ...]  # oldest first

    @classmethod
    def of(cls, activity: Iterable[Activity]) -> PushHistory:
        dated = sorted(((a.date, a) for a in activity if a.date is not None), key=lambda pair: pair[0])
        pushes: list[tuple[datetime, str]] = []
        for date, a in dated:
            commit = a.source_commit or ""
            if a.kind != "update" or not COMMIT_HASH.fullmatch(commit):
                continue  # not a push, or not a hash we could ever send back
            if not pushes or not same_commit(pushes[-1][1], commit):
                pushes.append((date, commit))
        reviews = tuple((date, a) for date, a in dated if a.kind in REVIEW_KINDS and a.user is not None)
        return cls(pushes=tuple(pushes), reviews=reviews)

    def position(self, commit: str) -> int | None:
        """Where `commit` stands among the pushes (0 the first), the last time it became current; None if unknown."""
        found = [i for i, (_, c) in enumerate(self.pushes) if same_commit(c, commit)]
        return found[-1] if found else None

    def commit_at(self, when: datetime) -> str | None:
        """The source commit that was current at `when` (None before the first known push)."""
        current = None
        for date, commit in self.pushes:
            if date > when:
                break
            current = commit
        return current

    def knows(self, commit: str) -> bool:
        return self.position(commit) is not None

    def pushes_since(self, commit: str) -> int | None:
        """How many times the source moved after `commit` was last current (None when it is unknown)."""
        at = self.position(commit)
        return None if at is None else len(self.pushes) - 1 - at


def _is(account: Account, user) -> bool:
    if account.account_id and getattr(user, "account_id", None):
        return bool(account.account_id == user.account_id)
    return bool(account.bitbucket_uuid) and account.bitbucket_uuid == getattr(user, "uuid", None)


def reviewed_commit_from_activity(history: PushHistory, *, account: Account) -> str | None:
    """The source commit current when `account` last approved or requested changes; None without such a review
    (or when it came before any push the feed lists)."""
    theirs = [date for date, a in history.reviews if _is(account, a.user)]
    return history.commit_at(theirs[-1]) if theirs else None


def last_reviewed_commit(*, stored: str, history: PushHistory | None, account: Account) -> str:
    """The source commit `account` last reviewed ("" when none is known).

    Whichever witness names the later push wins: the activity corrects a stored commit that a review given since
    outdated (a change request after an approval keeps the first commit in the mirror), and a review published
    through bbdash without approving is newer than any approval the feed lists. A stored commit the feed does not
    list is only a guess next to the feed's own record, and loses to it."""
    stored = stored if COMMIT_HASH.fullmatch(stored or "") else ""
    from_activity = reviewed_commit_from_activity(history, account=account) if history is not None else None
    if not from_activity:
        return stored
    if not stored:
        return from_activity
    assert history is not None
    stored_at, activity_at = history.position(stored), history.position(from_activity)
    if stored_at is not None and activity_at is not None and stored_at >= activity_at:
        return stored
    return from_activity


def record_review(*, pull_request: PullRequest, account: Account | None, commit: str) -> None:
    """Remember that `account` reviewed `pull_request` at source `commit` (a review given through bbdash, or one
    the activity feed places later than the mirror knew); whose turn it is follows. Only a participant with a
    review in the mirror keeps a reviewed commit (the turn logic clears it otherwise)."""
    if account is None or not COMMIT_HASH.fullmatch(commit or ""):
        return
    changed = (
        Participant.objects.filter(pull_request=pull_request, account=account)
        .exclude(state="")
        .exclude(reviewed_commit=commit)
        .update(reviewed_commit=commit)
    )
    if changed:
        turns.refresh_turns([pull_request.pk])
