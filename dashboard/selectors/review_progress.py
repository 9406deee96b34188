"""A reviewer's progress on a pull request's diff: what changed since their last review, and the files they viewed.

Read when the diff section loads. The viewer's last reviewed commit is decided by `bitbucket_sync.reviews` from the
mirror and the activity feed (read through the discussion's cache: no request when the discussion was just read,
and none at all for a viewer who never took part). The changes since are the plain two-commit diff between that
commit and the current source, cached for good by the two hashes.

    review = progress(user, pull_request=pr)                   # ReviewProgress
    diff = changes_since(user, pull_request=pr, review=review, since=hash)   # None: show all changes instead
    mark_files(user, pull_request=pr, diff=diff, review=review)             # the "All changes" diff's marks
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.http import Http404

from bitbucket_sync import browse, review_reads, reviews
from bitbucket_sync.browse import LiveReadError
from bitbucket_sync.client import NotFound, path_problem
from bitbucket_sync.client.records import Commit
from bitbucket_sync.models import Participant, PullRequest, ViewedFile
from dashboard import rendering
from dashboard.selectors import diffs
from dashboard.selectors.source import browse_client
from dashboard.selectors.visibility import account_for_user

logger = logging.getLogger(__name__)

FINGERPRINT = re.compile(r"[0-9a-f]{64}")
MAX_PATH = 1000


@dataclass
class ReviewProgress:
    """Where the viewer stands on the pull request's current source commit."""

    current: str
    reviewed: str = ""  # the source commit they last reviewed ("" never)
    since: str = ""  # the commit the diff shown starts from ("" all changes)
    commits_ago: int | None = None
    pushes_ago: int | None = None
    gone: bool = False  # the reviewed commit cannot be read any more (the branch was force-pushed)
    history: reviews.PushHistory | None = None
    viewed: int = 0
    total: int = 0

    @property
    def offered(self) -> bool:
        """Whether "changes since your last review" means anything: a review on a commit that is not the tip."""
        return bool(self.reviewed) and not self.gone and not reviews.same_commit(self.reviewed, self.current)

    @property
    def since_elsewhere(self) -> bool:
        """The diff shown starts from a commit other than the viewer's last reviewed one."""
        return bool(self.since) and not reviews.same_commit(self.since, self.reviewed)

    @property
    def short(self) -> str:
        return self.reviewed[:7]

    @property
    def ago(self) -> str:
        if self.commits_ago:
            return f"{self.commits_ago} commit{'s' if self.commits_ago != 1 else ''} ago"
        if self.pushes_ago:
            return f"{self.pushes_ago} push{'es' if self.pushes_ago != 1 else ''} ago"
        return "before the latest push"


def since_from_url(value: str | None) -> str:
    """The `?since=` of a diff URL: a commit hash (7 to 40 hex digits) or nothing; anything else is a 404."""
    if not value:
        return ""
    if not reviews.COMMIT_HASH.fullmatch(value):
        raise Http404("No such commit.")
    return value


def _history(user, pull_request: PullRequest) -> reviews.PushHistory | None:
    """The pushes and reviews from the activity feed, read with the comments as the discussion reads them (and from
    its cache); None when it cannot be read."""
    try:
        with browse_client(user, workspace=pull_request.workspace) as reader:
            _comments, activity = browse.read_pull_request_discussion(reader, pull_request=pull_request)
    except LiveReadError as exc:
        logger.info("activity of %s not read: %s", pull_request.pk, exc)
        return None
    return reviews.PushHistory.of(activity)


def _full_hash(short: str, pull_request: PullRequest, commits: list[Commit] | None) -> str:
    """A hash from the feed spelled as the mirror spells that commit (the turn logic compares hashes as strings),
    or in full when the pull request's commits list it; as it came otherwise."""
    if reviews.same_commit(short, pull_request.source_commit):
        return pull_request.source_commit
    return next((c.hash for c in commits or [] if reviews.same_commit(short, c.hash)), short)


def _from_fork(pull_request: PullRequest) -> bool:
    return pull_request.source_repository_full_name not in ("", pull_request.repository.full_name)


def progress(user, *, pull_request: PullRequest) -> ReviewProgress:
    """The viewer's last reviewed commit and how far behind the tip it is. The activity is read only for a viewer
    who takes part in the pull request (a review makes one a participant), and the commits only when they reviewed
    an earlier one (both as the page's own sections read them, from the same caches); what the activity teaches is
    stored, so whose turn it is follows."""
    review = ReviewProgress(current=pull_request.source_commit)
    if _from_fork(pull_request):
        return review  # its commits live in the fork: no diff between them through this repository
    account = account_for_user(user, workspace=pull_request.workspace)
    participant = (
        Participant.objects.filter(pull_request=pull_request, account=account).first() if account is not None else None
    )
    if account is None or participant is None:
        return review
    review.history = _history(user, pull_request)
    reviewed = reviews.last_reviewed_commit(stored=participant.reviewed_commit, history=review.history, account=account)
    if not reviewed:
        return review
    commits = None
    if not reviews.same_commit(reviewed, pull_request.source_commit):
        try:
            with browse_client(user, workspace=pull_request.workspace) as reader:
                commits = browse.read_pull_request_commits(reader, pull_request=pull_request)
        except LiveReadError as exc:
            logger.info("commits of %s not read: %s", pull_request.pk, exc)
    # Stored as the feed and the mirror spell it (12 digits, as Bitbucket sends them); shown and linked in full.
    if participant.state and not reviews.same_commit(reviewed, participant.reviewed_commit):
        reviews.record_review(pull_request=pull_request, account=account, commit=reviewed)
    review.reviewed = reviewed = _full_hash(reviewed, pull_request, commits)
    if commits is not None:
        # Newest first: the reviewed commit's place is how many commits came after it (None after a rebase).
        review.commits_ago = next((i for i, c in enumerate(commits) if reviews.same_commit(c.hash, reviewed)), None)
    if review.history is not None:
        review.pushes_ago = review.history.pushes_since(reviewed)
    return review


def _in_history(pull_request: PullRequest, review: ReviewProgress, commit: str, user) -> bool:
    """Whether `commit` was ever this pull request's source: a push the feed lists, or a review's commit."""
    if reviews.same_commit(commit, review.reviewed) or reviews.same_commit(commit, pull_request.source_commit):
        return True
    stored = Participant.objects.filter(pull_request=pull_request).exclude(reviewed_commit="")
    if any(reviews.same_commit(commit, c) for c in stored.values_list("reviewed_commit", flat=True)):
        return True
    if review.history is None:
        review.history = _history(user, pull_request)
    return review.history is not None and review.history.knows(commit)


def changes_since(user, *, pull_request: PullRequest, review: ReviewProgress, since: str) -> dict | None:
    """The diff from `since` (a source commit this pull request had) to the current source, shaped like
    `source.pull_request_diff`; None when `since` is the tip or no longer exists (`review.gone` then says so).
    Http404 for a commit that was never this pull request's (it could be any commit of the repository)."""
    if not since or reviews.same_commit(since, pull_request.source_commit):
        return None
    if _from_fork(pull_request):
        return None
    if not _in_history(pull_request, review, since, user):
        raise Http404("No such commit in this pull request.")
    with browse_client(user, workspace=pull_request.workspace) as reader:
        try:
            diffstat = review_reads.read_files_changed_since(
                reader, pull_request=pull_request, current=pull_request.source_commit, reviewed=since
            )
            raw = review_reads.read_changes_since(
                reader,
                pull_request=pull_request,
                current=pull_request.source_commit,
                reviewed=since,
                max_bytes=rendering.MAX_DIFF_BYTES,
            )
        except NotFound:
            # Caught here, before the reader turns it into words: a commit gone after a force push is no error.
            review.gone = True
            return None
    files, truncated = rendering.parse_diff(raw, truncated=raw.truncated)
    review.since = since
    diff = {
        # Every file is on this one page (a review's worth of changes): no diffstat entry links elsewhere.
        "diffstat": [(stat, rendering.file_anchor(stat.path), None) for stat in diffstat],
        "files": files,
        "truncated": truncated,
        "start": 0,
        "next_start": None,
        "total": len(files),
    }
    return diffs.decorate(user, pull_request=pull_request, diff=diff, old_side=False)


def mark_files(user, *, pull_request: PullRequest, diff: dict, review: ReviewProgress) -> None:
    """Set each file's marks on the pull request's whole diff: changed since the viewer's last review (one cached
    diffstat between the two commits), and viewed while its change is the one they marked."""
    files: list[rendering.DiffFile] = diff.get("files", [])
    fingerprints: dict[str, str] = diff.get("fingerprints", {})
    if review.offered and not _from_fork(pull_request):
        stats: list = []
        try:
            with browse_client(user, workspace=pull_request.workspace) as reader:
                try:
                    stats = review_reads.read_files_changed_since(
                        reader, pull_request=pull_request, current=pull_request.source_commit, reviewed=review.reviewed
                    )
                except NotFound:
                    review.gone = True
        except LiveReadError as exc:
            logger.info("changes since review of %s not read: %s", pull_request.pk, exc)
        changed = {p for s in stats for p in (s.old_path, s.new_path) if p}
        for file in files:
            file.changed_since_review = bool({file.old_path, file.new_path} & changed)
    marks = dict(ViewedFile.objects.filter(user=user, pull_request=pull_request).values_list("path", "fingerprint"))
    for file in files:
        file.fingerprint = fingerprints.get(file.path, "")
        file.viewed = bool(file.fingerprint) and marks.get(file.path) == file.fingerprint
    # Counted over the whole diff, not only the batch of files this request shows.
    review.total = len(fingerprints)
    review.viewed = sum(1 for path, digest in fingerprints.items() if marks.get(path) == digest)


def set_viewed(user, *, pull_request: PullRequest, path: str, fingerprint: str, viewed: bool) -> None:
    """Mark (or unmark) a file of the pull request viewed by `user`, remembering the change they saw. A path or
    digest no diff could hold is a 404."""
    if not path or len(path) > MAX_PATH or path_problem(path) or not FINGERPRINT.fullmatch(fingerprint):
        raise Http404("No such file.")
    if viewed:
        ViewedFile.objects.update_or_create(
            user=user, pull_request=pull_request, path=path, defaults={"fingerprint": fingerprint}
        )
    else:
        ViewedFile.objects.filter(user=user, pull_request=pull_request, path=path).delete()
