"""Three-way merges of trees and files, and the diffs Bitbucket shows.

A tree is a `dict[path, bytes]`. Files merge line by line (a small diff3): changes from both sides that touch
different lines of the base combine; overlapping different changes are a conflict, as in git.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass

Tree = dict[str, bytes]


class MergeConflict(Exception):
    def __init__(self, paths: list[str]):
        super().__init__(", ".join(paths))
        self.paths = paths


def _changes(base: list[bytes], other: list[bytes]) -> list[tuple[int, int, list[bytes]]]:
    matcher = difflib.SequenceMatcher(a=base, b=other, autojunk=False)
    return [(i1, i2, other[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def merge_file(base: bytes, ours: bytes, theirs: bytes) -> bytes:
    """Merge two edits of `base`; raises MergeConflict(['']) when they overlap and differ."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    base_lines = base.splitlines(keepends=True)
    ours_changes = [(*c, "o") for c in _changes(base_lines, ours.splitlines(keepends=True))]
    theirs_changes = [(*c, "t") for c in _changes(base_lines, theirs.splitlines(keepends=True))]
    merged: list[tuple[int, int, list[bytes]]] = []
    for change in sorted(ours_changes + theirs_changes, key=lambda c: (c[0], c[1])):
        start, end, lines, _side = change
        if merged:
            p_start, p_end, p_lines = merged[-1]
            # Overlapping or adjacent ranges collide unless identical (git's diff3 treats touching hunks alike).
            if start <= p_end:
                if (start, end, lines) == (p_start, p_end, p_lines):
                    continue
                raise MergeConflict([""])
        merged.append((start, end, lines))
    out: list[bytes] = []
    cursor = 0
    for start, end, lines in merged:
        out.extend(base_lines[cursor:start])
        out.extend(lines)
        cursor = end
    out.extend(base_lines[cursor:])
    return b"".join(out)


def merge_trees(base: Tree, ours: Tree, theirs: Tree) -> Tree:
    """Three-way merge of whole trees; raises MergeConflict with every conflicting path."""
    result: Tree = {}
    conflicts: list[str] = []
    for path in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        if o == t:
            if o is not None:
                result[path] = o
            continue
        if b == t:
            if o is not None:
                result[path] = o
            continue
        if b == o:
            if t is not None:
                result[path] = t
            continue
        if o is None or t is None or b is None:
            # Deleted on one side and changed on the other, or added differently on both.
            conflicts.append(path)
            continue
        try:
            result[path] = merge_file(b, o, t)
        except MergeConflict:
            conflicts.append(path)
    if conflicts:
        raise MergeConflict(conflicts)
    return result


def conflict_scenarios(base: Tree, ours: Tree, theirs: Tree) -> dict[str, str]:
    """The paths `merge_trees(base, ours, theirs)` cannot merge, with Bitbucket's file-conflict scenario, the
    destination's (`ours`) change first as in git: `content` (changed, or added, differently on both sides),
    `delete_modify` (deleted in the destination, changed in the source), `modify_delete` (the other way round)."""
    out: dict[str, str] = {}
    for path in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        if o == t or b in (t, o):
            continue
        if o is None:
            out[path] = "delete_modify"
        elif t is None:
            out[path] = "modify_delete"
        elif b is None:
            out[path] = "content"
        else:
            try:
                merge_file(b, o, t)
            except MergeConflict:
                out[path] = "content"
    return out


def tree_digest(tree: Tree) -> str:
    h = hashlib.sha1(usedforsecurity=False)
    for path in sorted(tree):
        h.update(path.encode() + b"\0" + hashlib.sha1(tree[path], usedforsecurity=False).digest())
    return h.hexdigest()


def blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


@dataclass
class FileChange:
    status: str  # added | removed | modified
    old_path: str | None
    new_path: str | None
    lines_added: int
    lines_removed: int


def _lines(content: bytes | None) -> list[str]:
    if content is None:
        return []
    return content.decode("utf-8", errors="replace").splitlines(keepends=True)


def changed_paths(old: Tree, new: Tree, paths: list[str] | None = None) -> list[str]:
    result = [p for p in sorted(set(old) | set(new)) if old.get(p) != new.get(p)]
    if paths:
        result = [p for p in result if any(p == q or p.startswith(q.rstrip("/") + "/") for q in paths)]
    return result


def diffstat(old: Tree, new: Tree, paths: list[str] | None = None) -> list[FileChange]:
    out = []
    for path in changed_paths(old, new, paths):
        a, b = old.get(path), new.get(path)
        added = removed = 0
        for line in difflib.unified_diff(_lines(a), _lines(b), n=0):
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        status = "added" if a is None else "removed" if b is None else "modified"
        out.append(FileChange(status, path if a is not None else None, path if b is not None else None, added, removed))
    return out


def unified_diff(old: Tree, new: Tree, context: int = 3, paths: list[str] | None = None) -> str:
    """A `git diff`-style text for every changed path."""
    chunks: list[str] = []
    for path in changed_paths(old, new, paths):
        a, b = old.get(path), new.get(path)
        chunks.append(f"diff --git a/{path} b/{path}\n")
        if a is None:
            chunks.append("new file mode 100644\n")
        elif b is None:
            chunks.append("deleted file mode 100644\n")
        old_id = blob_id(a)[:7] if a is not None else "0000000"
        new_id = blob_id(b)[:7] if b is not None else "0000000"
        chunks.append(f"index {old_id}..{new_id}" + (" 100644\n" if a is not None and b is not None else "\n"))
        body = list(
            difflib.unified_diff(
                _lines(a),
                _lines(b),
                fromfile=f"a/{path}" if a is not None else "/dev/null",
                tofile=f"b/{path}" if b is not None else "/dev/null",
                n=context,
            )
        )
        for line in body:
            chunks.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(chunks)
