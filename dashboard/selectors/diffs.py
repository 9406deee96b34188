"""A pull request's diff as its page shows it: the diffstat, then the files in batches as they scroll into view, each
with its Code Insights annotations and review threads on the lines they name.

The raw diff is read once and cached by the pull request's commits (`bitbucket_sync.browse.read_pull_request_diff`);
each batch only cuts it at its file headers and parses the files it shows, so a diff of thousands of files costs one
Bitbucket request and a bounded amount of work per page request. Threads come from the same cached discussion the
discussion tab reads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bitbucket_sync import browse
from bitbucket_sync.client.paths import UnsafePath
from bitbucket_sync.models import PullRequest
from dashboard import rendering
from dashboard.diff_fingerprints import file_fingerprints
from dashboard.selectors import insights
from dashboard.selectors.source import browse_client
from dashboard.selectors.threads import NEW, OLD, Thread, Threads, pull_request_threads
from dashboard.selectors.visibility import account_for_user

logger = logging.getLogger(__name__)

# Why a thread of a file shows at the file's top rather than under a line.
ON_FILE = "file"  # a comment on the whole file
OUTDATED = "outdated"  # Bitbucket says the code it was made on changed since
NOT_SHOWN = "not_shown"  # its line is not among the lines this diff shows


# Snippets of the code a thread was made on, read from Bitbucket per request at most (each read is cached by its
# commits, so the next page load reads the next few); the rest say their line is gone.
SNIPPET_READS = 3
SNIPPET_CONTEXT = 2  # lines shown above the commented one


@dataclass
class PlacedThread:
    """A thread shown at its file's top, and why it is not under a line; `snippet`: the lines it was made on (the
    commented one last), empty when they could not be had cheaply."""

    thread: Thread
    reason: str
    snippet: list[rendering.DiffLine] = field(default_factory=list)

    @property
    def outdated(self) -> bool:
        return self.reason == OUTDATED


def pull_request_diff_batch(
    user, *, pull_request: PullRequest, start: int = 0, ignore_whitespace: bool = False
) -> dict:
    """The diffstat (each entry: the entry, its file's anchor, and its file's index in the diff when that file is
    not in this batch, else None) and the files of the batch that begins at file `start` (parsed, highlighted,
    annotated, with their threads placed), and where the next batch begins (`next_start`, None after the last)."""
    with browse_client(user, workspace=pull_request.workspace) as reader:
        diffstat, raw = browse.read_pull_request_diff(
            reader, pull_request=pull_request, max_bytes=rendering.MAX_DIFF_BYTES, ignore_whitespace=ignore_whitespace
        )
    chunks, truncated = rendering.diff_file_chunks(raw, truncated=raw.truncated)
    start = min(max(start, 0), len(chunks))
    end = rendering.diff_batch_end(chunks, start)
    files, _ = rendering.parse_diff("".join(chunks[start:end]))
    # Where the diffstat links each file that is not in this batch: a page of the diff that starts at it (the header
    # line of each chunk names its file: nothing is parsed for it).
    elsewhere = {rendering.chunk_path(c): i for i, c in enumerate(chunks) if not start <= i < end}
    diff = {
        "diffstat": [(stat, rendering.file_anchor(stat.path), elsewhere.get(stat.path)) for stat in diffstat],
        "files": files,
        "truncated": truncated,
        "start": start,
        "next_start": end if end < len(chunks) else None,
        "total": len(chunks),
        "fingerprints": file_fingerprints(chunks),  # for the viewer's "viewed" marks
    }
    return decorate(user, pull_request=pull_request, diff=diff)


def decorate(user, *, pull_request: PullRequest, diff: dict, old_side: bool = True) -> dict:
    """A diff of the pull request's code (its own, or the changes since a review) with the source commit's Code
    Insights annotations and the review threads on the lines they name. `old_side=False`: the diff's old side is not
    the destination (the changes since a review), so old-side threads go to the file's top, not under a line."""
    files: list[rendering.DiffFile] = diff["files"]
    diff = insights.annotate_diff(user, pull_request=pull_request, diff=diff)
    account = account_for_user(user, workspace=pull_request.workspace)
    try:
        threads = pull_request_threads(
            user, pull_request=pull_request, viewer_account_id=account.account_id if account else None
        )
    except browse.LiveReadError as exc:
        # The diff is worth showing without its threads; the page says they could not be read.
        diff["threads_error"] = str(exc)
    else:
        place_threads(files, threads, old_side=old_side)
        add_snippets(user, pull_request=pull_request, placed=[p for f in files for p in f.threads])
    return diff


def place_threads(files: list[rendering.DiffFile], threads: Threads, *, old_side: bool = True) -> None:
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
            if old_side and line.kind in ("del", "ctx") and line.old is not None:
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


def add_snippets(user, *, pull_request: PullRequest, placed: list[PlacedThread]) -> None:
    """The code each line thread at a file's top was made on, from the diff its comment links to: what is cached
    costs nothing; at most `SNIPPET_READS` other reads per request; a read that fails leaves the snippet out."""
    wanted = []
    for p in placed:
        spec = browse.comment_code_spec(p.thread.root.comment.code_url, pull_request=pull_request)
        if spec is not None and p.thread.line is not None and p.thread.path:
            wanted.append((p, spec))
    if not wanted:
        return
    reads = SNIPPET_READS
    try:
        with browse_client(user, workspace=pull_request.workspace) as reader:
            for p, spec in wanted:
                path = p.thread.path or ""
                text = browse.cached_comment_code(reader, pull_request=pull_request, spec=spec, path=path)
                if text is None and reads > 0:
                    reads -= 1
                    try:
                        text = browse.read_comment_code(reader, pull_request=pull_request, spec=spec, path=path)
                    except (browse.BitbucketError, UnsafePath) as exc:
                        logger.info("code of comment %s not read: %r", p.thread.id, exc)
                if text is not None:
                    p.snippet = snippet(text, path=path, side=p.thread.side or NEW, line=p.thread.line or 0)
    except browse.LiveReadError as exc:
        logger.info("comment snippets of %s not read: %s", pull_request.pk, exc)


def snippet(text: str, *, path: str, side: str, line: int) -> list[rendering.DiffLine]:
    """The commented line of `path` in a raw diff and the few lines above it in the same hunk; empty when the diff
    does not show that line."""
    files, _ = rendering.parse_diff(text)
    for file in files:
        if path not in (file.new_path, file.old_path):
            continue
        for i, candidate in enumerate(file.lines):
            kinds, number = (("add", "ctx"), candidate.new) if side == NEW else (("del", "ctx"), candidate.old)
            if candidate.kind in kinds and number == line:
                start = i
                while start > 0 and i - start < SNIPPET_CONTEXT and file.lines[start - 1].kind != "hunk":
                    start -= 1
                return file.lines[start : i + 1]
    return []
