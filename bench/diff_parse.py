"""Benchmark: the diff pages' parsing of a large raw diff, in process (no server, no database).

Builds a git diff of `--files` files (about `--megabytes` MB: Python, JavaScript, Markdown and text files with a few
hunks each, some added, removed, renamed, binary or with a changed mode, and some with quoted non-ASCII names), then
times, as the least CPU time of `--repeat` runs (CPU time: the machines are shared, and wall time moves with
their load):

- `chunks`: `diff_file_chunks` + `chunk_path` of every file (what a pull request page does for the whole diff),
- `batch`: `parse_diff` of the first batch of files (`diff_batch_end`: what one request of a pull request page parses),
- `parse_diff`: `parse_diff` of the whole diff (a commit or compare page; cut at `MAX_DIFF_BYTES`).

Prints JSON.

    .venv/bin/python bench/diff_parse.py [--files 3000] [--megabytes 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

EXTENSIONS = ("py", "js", "md", "txt")
WORDS = ("def", "return", "value", "items", "count", "self", "result", "data", "path", "name", "if", "for", "class")


def _code_line(rng: random.Random, ext: str) -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))
    if ext == "py":
        return f"    {words.replace(' ', '_', 1)} = {rng.randint(0, 999)}  # {words}"
    if ext == "js":
        return f"  const {rng.choice(WORDS)}{rng.randint(0, 99)} = '{words}';"
    return words


def _quote(path: str) -> str:
    """git's C-style quoting of a name with non-ASCII bytes (core.quotePath)."""
    if path.isascii():
        return path
    return '"' + "".join(c if c.isascii() else "".join(f"\\{b:03o}" for b in c.encode()) for c in path) + '"'


def _name(prefix: str, path: str) -> str:
    quoted = _quote(prefix + path)
    return quoted + ("\t" if " " in path else "")


def build_diff(files: int, megabytes: float, seed: int = 7) -> str:
    rng = random.Random(seed)
    per_file = int(megabytes * 1024 * 1024 / files)
    out: list[str] = []
    for i in range(files):
        ext = EXTENSIONS[i % len(EXTENSIONS)]
        path = f"src/module_{i // 50}/file_{i}.{ext}" if i % 97 else f"docs/café {i}.{ext}"
        kind = i % 53
        header = f"diff --git {_quote('a/' + path)} {_quote('b/' + path)}\n"
        if kind == 1:
            out.append(header + f"index 1111111..2222222 100644\nBinary files a/{path} and b/{path} differ\n")
            continue
        if kind == 2:
            out.append(header + "old mode 100644\nnew mode 100755\n")
            continue
        old_prefix = f"--- {_name('a/', path)}\n"
        lines: list[str] = []
        size = 0
        line_no = 1
        while size < per_file:
            line_no += rng.randint(5, 40)
            context = [_code_line(rng, ext) for _ in range(3)]
            removed = [_code_line(rng, ext) for _ in range(rng.randint(0, 6))]
            added = [_code_line(rng, ext) for _ in range(rng.randint(1, 8))]
            after = [_code_line(rng, ext) for _ in range(3)]
            old_len, new_len = 6 + len(removed), 6 + len(added)
            hunk = [f"@@ -{line_no},{old_len} +{line_no},{new_len} @@ def section_{line_no}():"]
            hunk += [" " + c for c in context] + ["-" + r for r in removed] + ["+" + a for a in added]
            hunk += [" " + c for c in after]
            text = "\n".join(hunk) + "\n"
            lines.append(text)
            size += len(text)
            line_no += old_len
        body = "".join(lines)
        if kind == 3:
            out.append(
                f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..2222222\n--- /dev/null\n"
                f"+++ {_name('b/', path)}\n@@ -0,0 +1,2 @@\n+first\n+second\n"
            )
            continue
        if kind == 4:
            renamed = path.replace("file_", "renamed_")
            out.append(
                f"diff --git {_quote('a/' + path)} {_quote('b/' + renamed)}\nsimilarity index 90%\n"
                f"rename from {_quote(path)}\nrename to {_quote(renamed)}\nindex 1111111..2222222 100644\n"
                f"{old_prefix}+++ {_name('b/', renamed)}\n{body}"
            )
            continue
        out.append(header + f"index 1111111..2222222 100644\n{old_prefix}+++ {_name('b/', path)}\n{body}")
    return "".join(out)


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.process_time()
        fn()
        times.append(time.process_time() - began)
    return round(min(times), 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--megabytes", type=float, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    from dashboard import rendering

    text = build_diff(args.files, args.megabytes)

    def chunks() -> None:
        parts, _ = rendering.diff_file_chunks(text)
        for part in parts:
            rendering.chunk_path(part)

    parts, _ = rendering.diff_file_chunks(text)
    batch = "".join(parts[: rendering.diff_batch_end(parts, 0)])
    files, truncated = rendering.parse_diff(text)
    result = {
        "diff_bytes": len(text),
        "files_in_diff": args.files,
        "files_parsed": len(files),
        "truncated": truncated,
        "cpu_seconds": {
            "chunks": _best(chunks, args.repeat),
            "batch": _best(lambda: rendering.parse_diff(batch), args.repeat),
            "parse_diff": _best(lambda: rendering.parse_diff(text), args.repeat),
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
