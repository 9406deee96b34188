"""A pull request's diff as its page shows it: the diffstat, then the files in batches as they scroll into view, each
with its Code Insights annotations and review threads on the lines they name.

The raw diff is read once and cached by the pull request's commits (`bitbucket_sync.browse.read_pull_request_diff`);
each batch only cuts it at its file headers and parses the files it shows, so a diff of thousands of files costs one
Bitbucket request and a bounded amount of work per page request. Threads come from the same cached discussion the
discussion tab reads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bitbucket_sync import browse
from bitbucket_sync.models import PullRequest
from dashboard import rendering
from dashboard.selectors import insights
from dashboard.selectors.source import browse_client
from dashboard.selectors.threads import NEW, OLD, Thread, Threads, pull_request_threads
from dashboard.selectors.visibility import account_for_user

logger = logging.getLogger(__name__)

# Why a thread of a file shows at the file's top rather than under a line.
ON_FILE = "file"  # a comment on the whole file
OUTDATED = "outdated"  # Bitbucket says the code it was made on changed since
NOT_SHOWN = "not_shown"  # its line is not among the lines this diff shows


@dataclass(frozen=True)
class PlacedThread:
    """A thread shown at its file's top, and why it is not under a line."""

    thread: Thread
    reason: str

    @property
    def outdated(self) -> bool:
        return self.reason == OUTDATED


def pull_request_diff_batch(
    user, *, pull_request: PullRequest, start: int = 0, ignore_whitespace: bool = False
) -> dict:
    """The diffstat and the files of the batch that begins at file `start` (parsed, highlighted, annotated, with
    their threads placed), and where the next batch begins (`next_start`, None after the last file)."""
    with browse_client(user) as reader:
        diffstat, raw = browse.read_pull_request_diff(
            reader, pull_request=pull_request, max_bytes=rendering.MAX_DIFF_BYTES, ignore_whitespace=ignore_whitespace
        )
    chunks, truncated = rendering.diff_file_chunks(raw, truncated=raw.truncated)
    start = min(max(start, 0), len(chunks))
    end = rendering.diff_batch_end(chunks, start)
    files, _ = rendering.parse_diff("".join(chunks[start:end]))
    diff = {
        "diffstat": [(stat, rendering.file_anchor(stat.path)) for stat in diffstat],
        "files": files,
        "truncated": truncated,
        "start": start,
        "next_start": end if end < len(chunks) else None,
        "total": len(chunks),
    }
    diff = insights.annotate_diff(user, pull_request=pull_request, diff=diff)
    account = account_for_user(user)
    try:
        threads = pull_request_threads(
            user, pull_request=pull_request, viewer_account_id=account.account_id if account else None
        )
    except browse.LiveReadError as exc:
        # The diff is worth showing without its threads; the page says they could not be read.
        diff["threads_error"] = str(exc)
    else:
        place_threads(files, threads)
    return diff


def place_threads(files: list[rendering.DiffFile], threads: Threads) -> None:
    """Put each current line thread under the line it anchors to (`DiffLine.threads`); a file's other threads (on
    the whole file, outdated, or on a line the diff does not show) go on the file's top (`DiffFile.threads`)."""
    for file in files:
        on_file = threads.on_file(file.path)
        if file.old_path and file.old_path != file.path:
            on_file += threads.on_file(file.old_path)  # a rename: comments made on the old name
        if not on_file:
            continue
        lines: dict[tuple[str, int], rendering.DiffLine] = {}
        for line in file.lines:
            if line.kind in ("add", "ctx") and line.new is not None:
                lines[(NEW, line.new)] = line
            if line.kind in ("del", "ctx") and line.old is not None:
                lines.setdefault((OLD, line.old), line)
        placed: set[int] = set()
        for path in {t.path for t in on_file}:
            for key, found in threads.by_line(path or "").items():
                if (target := lines.get(key)) is not None:
                    target.threads.extend(found)
                    placed.update(t.id for t in found)
        for thread in on_file:
            if thread.id in placed:
                continue
            if thread.outdated:
                reason = OUTDATED
            elif thread.line is None:
                reason = ON_FILE
            else:
                reason = NOT_SHOWN
            file.threads.append(PlacedThread(thread=thread, reason=reason))
