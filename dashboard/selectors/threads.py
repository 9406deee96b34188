"""A pull request's comments as review threads: each root comment with its replies, where it is anchored (a file, a
line on the new or the old side, a range) and whether it is resolved, outdated or a draft.

The discussion tab lists every thread; the diff places each inline thread under the line it anchors to, and shows
the ones whose line is no longer in the diff as outdated. Both read the same cached discussion
(`bitbucket_sync.browse.read_pull_request_discussion`), so a page and its fragments agree without a second request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.utils.safestring import SafeString

from bitbucket_sync import browse
from bitbucket_sync.client.records import Activity, Comment
from bitbucket_sync.models import PullRequest, Workspace
from dashboard import rendering
from dashboard.selectors.mentions import mention_names
from dashboard.selectors.source import browse_client
from dashboard.selectors.visibility import account_for_user

NEW, OLD = "new", "old"


@dataclass
class Post:
    """One comment of a thread, rendered; `mine`: the viewer wrote it (Bitbucket lets only the author edit it)."""

    comment: Comment
    html: SafeString
    mine: bool

    @property
    def id(self) -> int:
        return self.comment.id


@dataclass
class Thread:
    """A root comment and its replies (oldest first; replies to replies are flattened into the thread)."""

    root: Post
    replies: list[Post] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.root.comment.id

    @property
    def path(self) -> str | None:
        return self.root.comment.inline_path

    @property
    def side(self) -> str | None:
        """`new` for a line of the new side, `old` for one only on the old side, None for a file or a general
        comment."""
        c = self.root.comment
        if c.inline_to is not None:
            return NEW
        if c.inline_from is not None:
            return OLD
        return None

    @property
    def line(self) -> int | None:
        c = self.root.comment
        return c.inline_to if c.inline_to is not None else c.inline_from

    @property
    def start_line(self) -> int | None:
        """The first line of a range (None for one line)."""
        c = self.root.comment
        return c.inline_start_to if self.side == NEW else c.inline_start_from

    @property
    def outdated(self) -> bool:
        return bool(self.root.comment.inline_outdated)

    @property
    def resolved(self) -> bool:
        return self.root.comment.resolved

    @property
    def pending(self) -> bool:
        return self.root.comment.pending

    @property
    def posts(self) -> list[Post]:
        return [self.root, *self.replies]

    @property
    def file_anchor(self) -> str:
        return rendering.file_anchor(self.path or "")

    @property
    def line_anchor(self) -> str:
        """The DOM id of the diff row the thread is on (`L<file anchor>-<side>-<line>`); "" without a line."""
        if self.side is None or self.line is None:
            return ""
        return f"L{self.file_anchor}-{self.side}-{self.line}"

    @property
    def lines(self) -> str:
        """The line, or the range, as people write it: `12` or `10\u201312` (an en dash)."""
        if self.line is None:
            return ""
        start = self.start_line
        return f"{start}\u2013{self.line}" if start is not None and start != self.line else str(self.line)

    @property
    def resolvable(self) -> bool:
        """Whether Bitbucket can resolve (or reopen) it: a published thread whose first comment is still there."""
        return not self.pending and not self.root.comment.deleted

    def has(self, comment_id: int) -> bool:
        return any(p.id == comment_id for p in self.posts)


@dataclass
class Threads:
    """Every thread of a pull request, and the same threads indexed the ways the pages look them up."""

    threads: list[Thread] = field(default_factory=list)

    @property
    def general(self) -> list[Thread]:
        """Threads on the pull request itself (not on a file)."""
        return [t for t in self.threads if t.path is None]

    @property
    def inline(self) -> list[Thread]:
        return [t for t in self.threads if t.path is not None]

    def on_file(self, path: str) -> list[Thread]:
        return [t for t in self.threads if t.path == path]

    def by_line(self, path: str) -> dict[tuple[str, int], list[Thread]]:
        """A file's current (not outdated) line threads keyed by (side, line)."""
        found: dict[tuple[str, int], list[Thread]] = defaultdict(list)
        for t in self.on_file(path):
            if t.side is not None and t.line is not None and not t.outdated:
                found[(t.side, t.line)].append(t)
        return dict(found)

    def thread_of(self, comment_id: int) -> Thread | None:
        """The thread holding the comment (its root or a reply), or None."""
        return next((t for t in self.threads if t.has(comment_id)), None)

    @property
    def open_count(self) -> int:
        return sum(1 for t in self.threads if not t.resolved and not t.pending)


def build_threads(
    comments: list[Comment],
    *,
    viewer_account_id: str | None,
    mentions: dict[str, str] | None = None,
    activity: Iterable[Activity] = (),
) -> Threads:
    """Group comments into threads. A deleted comment stays when it has replies (shown as deleted) and is dropped
    otherwise; a reply whose root is not listed becomes a thread of its own rather than vanishing.

    Bitbucket's comment lists leave `inline.outdated` out; its activity feed carries it, so a listed comment takes
    the flag from its activity entry when it has one."""
    outdated = {
        a.comment.id: a.comment.inline_outdated
        for a in activity
        if a.comment is not None and a.comment.inline_outdated is not None
    }
    comments = [
        replace(c, inline_outdated=outdated[c.id]) if c.inline_outdated is None and c.id in outdated else c
        for c in comments
    ]
    by_id = {c.id: c for c in comments}

    def root_of(c: Comment) -> Comment:
        seen = set()
        while c.parent_id is not None and c.parent_id in by_id and c.id not in seen:
            seen.add(c.id)
            c = by_id[c.parent_id]
        return c

    def post(c: Comment) -> Post:
        mine = bool(viewer_account_id) and c.user is not None and c.user.account_id == viewer_account_id
        return Post(comment=c, html=rendering.markdown(c.content, mentions), mine=mine)

    roots: dict[int, Thread] = {}
    replies: dict[int, list[Comment]] = defaultdict(list)
    for c in sorted(comments, key=lambda c: (c.created_on, c.id)):
        root = root_of(c)
        if root.id == c.id:
            roots[c.id] = Thread(root=post(c))
        else:
            replies[root.id].append(c)
    for root_id, found in replies.items():
        roots[root_id].replies = [post(c) for c in found if not c.deleted or _has_replies(c, comments)]
    threads = [t for t in roots.values() if not t.root.comment.deleted or t.replies]
    return Threads(threads=threads)


def _has_replies(comment: Comment, comments: list[Comment]) -> bool:
    return any(c.parent_id == comment.id and not c.deleted for c in comments)


def pull_request_threads(
    user, *, pull_request: PullRequest, viewer_account_id: str | None, fresh: bool = False
) -> Threads:
    """The pull request's threads as the viewer's credential sees them (their own drafts included); `fresh`: not
    from the cache (a comment the cached read cannot know yet)."""
    with browse_client(user, workspace=pull_request.workspace) as reader:
        if fresh:
            browse.forget_pull_request_discussion(reader, pull_request=pull_request)
        comments, activity = browse.read_pull_request_discussion(reader, pull_request=pull_request)
    names = mention_names(pull_request.workspace_id, (c.content for c in comments))
    return build_threads(comments, viewer_account_id=viewer_account_id, mentions=names, activity=activity)


def viewer_account_id(user, *, workspace: Workspace) -> str | None:
    account = account_for_user(user, workspace=workspace)
    return account.account_id or None if account is not None else None


def pull_request_discussion_threads(user, *, pull_request: PullRequest) -> dict:
    """The discussion tab: every thread (general and inline, in the order they were started) and the activity
    feed without its comments (they are the threads), from one cached read."""
    with browse_client(user, workspace=pull_request.workspace) as reader:
        comments, activity = browse.read_pull_request_discussion(reader, pull_request=pull_request)
    names = mention_names(pull_request.workspace_id, (c.content for c in comments))
    threads = build_threads(
        comments,
        viewer_account_id=viewer_account_id(user, workspace=pull_request.workspace),
        mentions=names,
        activity=activity,
    )
    return {"threads": threads, "activity": [a for a in activity if a.kind != "comment"]}
