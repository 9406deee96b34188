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


def _no_space(line: str) -> str:
    return "".join(line.split())


def _line_hunks(a: list[str], b: list[str], n: int, ignore_whitespace: bool) -> list[list[str]]:
    """The hunks of a unified diff of `a` to `b` (each its `@@` header and its lines), as difflib forms them. With
    `ignore_whitespace` lines are compared without any whitespace (git's `-w`), and unchanged lines show as they
    were on the old side, as git does."""
    if not ignore_whitespace:
        body = list(difflib.unified_diff(a, b, n=n))[2:]
        hunks: list[list[str]] = []
        for line in body:
            if line.startswith("@@"):
                hunks.append([])
            hunks[-1].append(line)
        return hunks
    matcher = difflib.SequenceMatcher(a=[_no_space(x) for x in a], b=[_no_space(x) for x in b], autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(n):
        first, last = group[0], group[-1]
        old_start, old_len = first[1], last[2] - first[1]
        new_start, new_len = first[3], last[4] - first[3]
        lines = [f"@@ -{_range(old_start, old_len)} +{_range(new_start, new_len)} @@\n"]
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + x for x in a[i1:i2]]
                continue
            lines += ["-" + x for x in a[i1:i2]]
            lines += ["+" + x for x in b[j1:j2]]
        hunks.append(lines)
    return hunks


def _range(start: int, length: int) -> str:
    """A unified diff's range, as difflib and git write it (`start,length`, one-based; `start` alone for one line)."""
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def diffstat(
    old: Tree, new: Tree, paths: list[str] | None = None, *, ignore_whitespace: bool = False
) -> list[FileChange]:
    out = []
    for path in changed_paths(old, new, paths):
        a, b = old.get(path), new.get(path)
        added = removed = 0
        for hunk in _line_hunks(_lines(a), _lines(b), 0, ignore_whitespace):
            for line in hunk[1:]:
                if line.startswith("+"):
                    added += 1
                elif line.startswith("-"):
                    removed += 1
        status = "added" if a is None else "removed" if b is None else "modified"
        out.append(FileChange(status, path if a is not None else None, path if b is not None else None, added, removed))
    return out


# git's C-style quoting of a name in a diff (quote_c_style with core.quotePath, its default): a name holding a control
# character, `"`, `\\` or any byte above 0x7f is written between double quotes, with C escapes and octal bytes.
_C_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\"}


def git_quote(name: str) -> str:
    """`name` as git writes it in a diff: as is, or quoted (`"a/caf\\303\\251.txt"`) when it must be."""
    raw = name.encode("utf-8", errors="surrogateescape")
    if all(0x20 <= byte < 0x7F and byte not in (34, 92) for byte in raw):
        return name
    out = "".join(_C_ESCAPES.get(byte) or (chr(byte) if 0x20 <= byte < 0x7F else f"\\{byte:03o}") for byte in raw)
    return f'"{out}"'


def _file_label(prefix: str, path: str) -> str:
    """A `---`/`+++` line's name: quoted like the header's, and (as git does) a tab after a name with a space."""
    return git_quote(prefix + path) + ("\t" if " " in path else "")


def unified_diff(
    old: Tree, new: Tree, context: int = 3, paths: list[str] | None = None, *, ignore_whitespace: bool = False
) -> str:
    """A `git diff`-style text for every changed path. With `ignore_whitespace` (git's `-w`), a file whose change
    is only whitespace keeps its header and shows no hunks, as git shows it."""
    chunks: list[str] = []
    for path in changed_paths(old, new, paths):
        a, b = old.get(path), new.get(path)
        chunks.append(f"diff --git {git_quote('a/' + path)} {git_quote('b/' + path)}\n")
        if a is None:
            chunks.append("new file mode 100644\n")
        elif b is None:
            chunks.append("deleted file mode 100644\n")
        old_id = blob_id(a)[:7] if a is not None else "0000000"
        new_id = blob_id(b)[:7] if b is not None else "0000000"
        chunks.append(f"index {old_id}..{new_id}" + (" 100644\n" if a is not None and b is not None else "\n"))
        hunks = _line_hunks(_lines(a), _lines(b), context, ignore_whitespace)
        if not hunks:
            continue
        chunks.append(f"--- {_file_label('a/', path)}\n" if a is not None else "--- /dev/null\n")
        chunks.append(f"+++ {_file_label('b/', path)}\n" if b is not None else "+++ /dev/null\n")
        for hunk in hunks:
            for line in hunk:
                chunks.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(chunks)
