"""Live reads made into pages: the source browser, a pull request's diff, commits and discussion.

Read and cached by `bitbucket_sync.browse` (each entry keyed by the credential that read it); here a URL's path
becomes a ref and a path, and what was read is highlighted and rendered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404

from bitbucket_sync import browse
from bitbucket_sync.browse import LiveReader
from bitbucket_sync.client import UnsafePath, path_problem
from bitbucket_sync.models import Branch, PullRequest, Repository, Workspace
from dashboard import rendering
from dashboard.selectors import sites
from dashboard.selectors.mentions import mention_names
from dashboard.selectors.visibility import active_credential

logger = logging.getLogger(__name__)


_HEX = re.compile(r"[0-9a-f]{7,40}")


@contextmanager
def browse_client(user, *, workspace: Workspace) -> Iterator[LiveReader]:
    """The user's own client for live reads about the workspace's data (their credential for its site, never
    another site's), closed after use; LiveReadError with the reason when there is none.

    A path, ref or slug the client refuses (it could step out of the repository) is a 404, as it is in the URL."""
    try:
        with browse.live_reader(active_credential(user, workspace=workspace)) as reader:
            yield reader
    except UnsafePath as exc:
        logger.warning("live read for user %s refused before sending: %s", user.pk, exc)
        raise Http404("No such path.") from None


@dataclass
class SourceLocation:
    ref: str
    path: str
    commit: str = ""
    is_branch: bool = False


def split_ref_and_path(repository: Repository, rest: str) -> SourceLocation:
    """`feature/x/docs/a.md` into ref and path: branch names hold slashes, so the longest mirrored branch wins.

    Http404 for an empty, `.` or `..` segment in any spelling (`%2f` reaches here decoded): one would step out of the
    repository once the request URL is normalised. A directory's trailing slash is the only one allowed."""
    rest = rest.removesuffix("/")
    if not rest:
        return SourceLocation(ref=repository.main_branch or "", path="", is_branch=True)
    if path_problem(rest):
        raise Http404("No such path.")
    segments = rest.split("/")
    prefixes = ["/".join(segments[:i]) for i in range(1, len(segments) + 1)]
    names = set(Branch.objects.live().filter(repository=repository, name__in=prefixes).values_list("name", flat=True))
    for i in range(len(prefixes), 0, -1):
        if prefixes[i - 1] in names:
            return SourceLocation(ref=prefixes[i - 1], path="/".join(segments[i:]), is_branch=True)
    ref = segments[0]
    return SourceLocation(ref=ref, path="/".join(segments[1:]), is_branch=not _HEX.fullmatch(ref))


@dataclass
class Source:
    location: SourceLocation
    is_dir: bool
    entries: list = field(default_factory=list)
    file: Any = None  # rendering.FileView
    size: int | None = None


def source_at(user, *, repository: Repository, location: SourceLocation) -> Source:
    """A directory listing or a file at a branch or commit, read live and cached by commit hash."""
    with browse_client(user, workspace=repository.workspace) as reader:
        if location.path:
            sites.require_reads(reader.client, "get_file_meta")  # before the branch's tip is read
        read = browse.read_source(
            reader,
            repository=repository,
            ref=location.ref,
            path=location.path,
            is_branch=location.is_branch,
            max_file_bytes=rendering.MAX_FILE_BYTES,
        )
    location.commit = read.commit
    if read.is_dir:
        return Source(location=location, is_dir=True, entries=read.entries)
    if read.content is None:
        too_big = rendering.file_view(b"", path=location.path, size=read.size)
        return Source(location=location, is_dir=False, file=too_big)
    return Source(
        location=location, is_dir=False, file=rendering.file_view(read.content, path=location.path), size=read.size
    )


def refresh_pull_request_conflicts(user, *, pull_request: PullRequest) -> None:
    """Read the merge preview with the viewer's credential when the pull request's tips were never checked; a page
    opens whatever Bitbucket says (the conflicts stay unknown when the read fails)."""
    try:
        with browse_client(user, workspace=pull_request.workspace) as reader:
            browse.check_conflicts_if_due(reader, pull_request=pull_request)
    except browse.LiveReadError as exc:
        logger.info("conflicts of %s not read: %s", pull_request.pk, exc)


def pull_request_commits(user, *, pull_request: PullRequest) -> list:
    with browse_client(user, workspace=pull_request.workspace) as reader:
        return browse.read_pull_request_commits(reader, pull_request=pull_request)


def pull_request_discussion(user, *, pull_request: PullRequest) -> dict:
    """Comments (threaded by parent) and the activity feed, newest activity first."""
    with browse_client(user, workspace=pull_request.workspace) as reader:
        comments, activity = browse.read_pull_request_discussion(reader, pull_request=pull_request)
    shown = [c for c in comments if not c.deleted]
    names = mention_names(pull_request.workspace_id, (c.content for c in shown))
    return {
        "comments": [(c, rendering.markdown(c.content, names)) for c in shown],
        "activity": [a for a in activity if a.kind != "comment"],
    }
