"""A digest of each file's change in a raw diff: what a "viewed" mark remembers, so it clears when the change does."""

from __future__ import annotations

import hashlib

from dashboard import rendering


def chunk_fingerprint(chunk: str) -> str:
    """sha256 of one file's section of a raw diff (from its `diff --git` line to the next): the blob ids on its
    `index` line and every hunk, so a binary or too-large file's digest moves with its content too."""
    return hashlib.sha256(chunk.encode("utf-8", errors="replace")).hexdigest()


def file_fingerprints(chunks: list[str]) -> dict[str, str]:
    """{path: digest} for every file of a diff cut by `rendering.diff_file_chunks`: all of them, not only the batch
    a page shows, so "N of M files viewed" counts the whole diff."""
    return {rendering.chunk_path(chunk): chunk_fingerprint(chunk) for chunk in chunks}
