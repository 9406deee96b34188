"""A digest of each file's change in a raw diff: what a "viewed" mark remembers, so it clears when the change does."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from dashboard.rendering import DiffFile

_GIT_HEADER = re.compile(r"^diff --git ", re.MULTILINE)


def file_fingerprints(raw: str, files: Sequence[DiffFile]) -> dict[str, str]:
    """{path: sha256 of that file's section of `raw`} for the files `rendering.parse_diff` made of it.

    A section is everything from its `diff --git` line to the next one: the blob ids on its `index` line and every
    hunk, so a binary or too-large file's digest moves with its content too. `parse_diff` keeps the sections in
    order (and drops only a cut last one), so they pair by position."""
    starts = [m.start() for m in _GIT_HEADER.finditer(raw)]
    sections = [raw[start:end] for start, end in zip(starts, [*starts[1:], len(raw)], strict=True)]
    return {
        file.path: hashlib.sha256(section.encode("utf-8", errors="replace")).hexdigest()
        for file, section in zip(files, sections, strict=False)
    }
