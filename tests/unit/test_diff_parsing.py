"""Reading git's unified diffs: names as git writes them (C-style quoted, with spaces, with ` b/` in them), renames,
copies, binary files, mode changes, the end-of-file marker and diffs cut short. The diffs are git's own output."""

import re

import pytest
from django.template.loader import render_to_string

from dashboard import rendering
from dashboard.rendering import chunk_path, diff_file_chunks, git_header_names, git_name, parse_diff, read_git_quoted


@pytest.mark.parametrize(
    ("written", "name", "rest"),
    [
        (r'"caf\303\251.txt"', "café.txt", ""),
        (r'"a/docs/caf\303\251 notes.md"' + "\tx", "a/docs/café notes.md", "\tx"),
        (r'"we\"ird\\.txt" "b/x"', 'we"ird\\.txt', ' "b/x"'),
        (r'"tab\there\nnewline\a\b\v\f\r"', "tab\there\nnewline\a\b\v\f\r", ""),
        (r'"\346\227\245\346\234\254.md"', "日本.md", ""),
        (r'"\377bad.txt"', "\ufffdbad.txt", ""),  # not UTF-8: the byte shows as a replacement character
    ],
)
def test_quoted_names_decode_like_git_wrote_them(written, name, rest):
    assert read_git_quoted(written) == (name, rest)


@pytest.mark.parametrize("written", ["plain.txt", '"unterminated', r'"bad \q escape"', r'"short \30"', ""])
def test_what_is_not_a_quoted_name_is_refused(written):
    assert read_git_quoted(written) is None


def test_names_after_rename_and_file_lines():
    assert git_name(r'"new \303\251.txt"') == "new é.txt"
    assert git_name("a/x b\t") == "a/x b"  # git adds a tab after a name with a space
    assert git_name("/dev/null") is None
    assert git_name("pure b/x.txt") == "pure b/x.txt"


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("diff --git a/src/app.py b/src/app.py", ("src/app.py", "src/app.py")),
        ("diff --git a/a b/c.txt b/a b/c.txt", ("a b/c.txt", "a b/c.txt")),
        ("diff --git a/x b b/x b", ("x b", "x b")),
        (r'diff --git "a/caf\303\251.txt" "b/caf\303\251.txt"', ("café.txt", "café.txt")),
        (r'diff --git a/old.txt "b/new \303\251.txt"', ("old.txt", "new é.txt")),
        (r'diff --git "a/new \303\251.txt" b/old.txt', ("new é.txt", "old.txt")),
        ("diff --git a/pure.txt b/pure b/x.txt", None),  # a rename with ` b/`: its rename lines say which
    ],
)
def test_header_names(line, names):
    assert git_header_names(line) == names


# `git diff -M --cached` of a repository where each change below was made (cat -A checked: the tabs are git's).
GIT_DIFF = (
    "diff --git a/a b/c.txt b/a b/c.txt\n"
    "index 587be6b..975fbec 100644\n"
    "--- a/a b/c.txt\t\n"
    "+++ b/a b/c.txt\t\n"
    "@@ -1 +1 @@\n"
    "-x\n"
    "+y\n"
    "diff --git a/bin.dat b/bin.dat\n"
    "index bdc955b..8835708 100644\n"
    "Binary files a/bin.dat and b/bin.dat differ\n"
    'diff --git "a/docs/caf\\303\\251 notes.md" "b/docs/caf\\303\\251 notes.md"\n'
    "index 814f4a4..4c7442b 100644\n"
    '--- "a/docs/caf\\303\\251 notes.md"\t\n'
    '+++ "b/docs/caf\\303\\251 notes.md"\t\n'
    "@@ -1,2 +1,2 @@\n"
    " one\n"
    "-two\n"
    "+three\n"
    'diff --git a/old.txt "b/new \\303\\251.txt"\n'
    "similarity index 87%\n"
    "rename from old.txt\n"
    'rename to "new \\303\\251.txt"\n'
    "index 535d2b0..ef28dff 100644\n"
    "--- a/old.txt\n"
    '+++ "b/new \\303\\251.txt"\t\n'
    "@@ -5,4 +5,4 @@\n"
    " 5\n"
    " 6\n"
    " 7\n"
    "-8\n"
    "+9\n"
    "diff --git a/pure.txt b/pure b/x.txt\n"
    "similarity index 100%\n"
    "rename from pure.txt\n"
    "rename to pure b/x.txt\n"
    "diff --git a/script.sh b/script.sh\n"
    "old mode 100644\n"
    "new mode 100755\n"
    'diff --git "a/we\\"ird\\\\.txt" "b/we\\"ird\\\\.txt"\n'
    "index bca70f3..d169a2f 100644\n"
    '--- "a/we\\"ird\\\\.txt"\n'
    '+++ "b/we\\"ird\\\\.txt"\n'
    "@@ -1 +1 @@\n"
    "-q\n"
    "+q2\n"
    "diff --git a/x b b/x b\n"
    "index 4286f42..8eeebd0 100644\n"
    "--- a/x b\t\n"
    "+++ b/x b\t\n"
    "@@ -1 +1 @@\n"
    "-r\n"
    "+r2\n"
    "\\ No newline at end of file\n"
    "diff --git a/logo.png b/logo.png\n"
    "index bdc955b7b2e610ad5a72302b139a2e6cb325519a..8835708590a9afa236e1bbad18df9d23de82ccd3 100644\n"
    "GIT binary patch\n"
    "literal 2\n"
    "JcmZQz0ssI600RI3\n"
    "\n"
    "literal 2\n"
    "JcmZQz1ONa700IC2\n"
    "\n"
    "diff --git a/run.sh b/run.sh\n"
    "new file mode 100755\n"
    "index 0000000..1111111\n"
    "--- /dev/null\n"
    "+++ b/run.sh\n"
    "@@ -0,0 +1 @@\n"
    "+echo hi\n"
)


def _files() -> dict[str, rendering.DiffFile]:
    files, truncated = parse_diff(GIT_DIFF)
    assert not truncated
    return {f.path: f for f in files}


def test_every_file_is_read_with_its_real_name():
    files = _files()
    assert list(files) == [
        "a b/c.txt",
        "bin.dat",
        "docs/café notes.md",
        "new é.txt",
        "pure b/x.txt",
        "script.sh",
        'we"ird\\.txt',
        "x b",
        "logo.png",
        "run.sh",
    ]
    chunks, _ = diff_file_chunks(GIT_DIFF)
    assert [chunk_path(c) for c in chunks] == list(files)  # a page's viewed marks key files by the same path
    assert all(not f.unreadable for f in files.values())


def test_a_quoted_non_ascii_name_and_its_lines():
    file = _files()["docs/café notes.md"]
    assert (file.old_path, file.new_path, file.status) == ("docs/café notes.md", "docs/café notes.md", "modified")
    assert [(line.kind, line.old, line.new, str(line.html)) for line in file.lines] == [
        ("hunk", None, None, "@@ -1,2 +1,2 @@"),
        ("ctx", 1, 1, "one"),
        ("del", 2, None, "two"),
        ("add", None, 2, "three"),
    ]
    assert (file.added, file.removed) == (1, 1)


def test_a_name_holding_space_b_slash():
    file = _files()["a b/c.txt"]
    assert (file.old_path, file.new_path, file.added, file.removed) == ("a b/c.txt", "a b/c.txt", 1, 1)


def test_a_rename_with_changes():
    file = _files()["new é.txt"]
    assert (file.old_path, file.status, file.similarity) == ("old.txt", "renamed", 87)
    assert [(line.kind, line.old, line.new) for line in file.lines][-2:] == [("del", 8, None), ("add", None, 8)]


def test_a_pure_rename():
    file = _files()["pure b/x.txt"]
    assert (file.old_path, file.new_path, file.status, file.similarity) == ("pure.txt", "pure b/x.txt", "renamed", 100)
    assert not file.lines and not file.binary and not file.unreadable


def test_binary_files_both_ways():
    files = _files()
    for path in ("bin.dat", "logo.png"):
        assert files[path].binary and not files[path].lines and files[path].status == "modified"
    assert not files["run.sh"].binary  # a binary patch does not leak into the next file


def test_a_mode_change():
    files = _files()
    assert (files["script.sh"].old_mode, files["script.sh"].new_mode) == ("100644", "100755")
    assert not files["script.sh"].lines
    assert files["a b/c.txt"].old_mode == files["a b/c.txt"].new_mode == ""
    new = files["run.sh"]  # a new executable file is added, not a mode change
    assert (new.status, new.old_path, new.old_mode, new.added) == ("added", None, "", 1)


def test_no_newline_at_end_of_file_is_no_line():
    file = _files()["x b"]
    assert [(line.kind, str(line.html)) for line in file.lines] == [
        ("hunk", "@@ -1 +1 @@"),
        ("del", "r"),
        ("add", "r2"),
    ]


def test_escaped_quote_and_backslash_in_a_name():
    file = _files()['we"ird\\.txt']
    assert file.old_path == 'we"ird\\.txt' and (file.added, file.removed) == (1, 1)


def test_a_cut_diff_drops_its_partial_last_file():
    cut = GIT_DIFF[: GIT_DIFF.index("+three")]  # inside the third file's hunk
    files, truncated = parse_diff(cut, truncated=True)
    assert truncated and [f.path for f in files] == ["a b/c.txt", "bin.dat"]


def test_a_diff_over_the_byte_cap_is_cut(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_DIFF_BYTES", GIT_DIFF.index("+three"))
    files, truncated = parse_diff(GIT_DIFF)
    assert truncated and [f.path for f in files] == ["a b/c.txt", "bin.dat"]


def test_a_malformed_file_is_marked_and_the_others_still_read():
    broken = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,5 +1,5 @@\n-a\n+b\n"  # shorter than it says
    files, _ = parse_diff(broken + GIT_DIFF)
    assert files[0].path == "x.py" and files[0].unreadable and not files[0].lines
    assert [f.path for f in files[1:]] == list(_files())


def test_copies_name_both_sides():
    diff = (
        "diff --git a/a.py b/b.py\nsimilarity index 95%\ncopy from a.py\ncopy to b.py\nindex 1..2 100644\n"
        "--- a/a.py\n+++ b/b.py\n@@ -1 +1 @@\n-x\n+y\n"
    )
    (file,) = parse_diff(diff)[0]
    assert (file.old_path, file.new_path, file.status, file.similarity) == ("a.py", "b.py", "copied", 95)


def test_file_headers_say_renamed_binary_and_mode_changed():
    files, _ = parse_diff(GIT_DIFF)
    html = render_to_string("diffs/_files.html", {"files": files})
    summaries = {f.path: s for f, s in zip(files, html.split("<summary>")[1:], strict=True)}

    def text(path: str) -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", summaries[path].split("</summary>")[0]).split())

    assert text("new é.txt").startswith("old.txt → new é.txt renamed, 87% similar +1 \u22121")
    assert text("pure b/x.txt").startswith("pure.txt → pure b/x.txt renamed +0 \u22120")
    assert "Renamed without changes." in summaries["pure b/x.txt"]
    assert text("bin.dat").startswith("bin.dat modified binary")
    assert "Binary file: not shown." in summaries["logo.png"]
    assert text("script.sh").startswith("script.sh modified mode 100644 → 100755")
    assert "Only its mode changed." in summaries["script.sh"]
    assert text("docs/café notes.md").startswith("docs/café notes.md modified +1 \u22121")
    assert "binary" not in text("docs/café notes.md") and "mode" not in text("docs/café notes.md")
    assert text("run.sh").startswith("run.sh added +1")


def test_an_unreadable_file_says_so():
    files, _ = parse_diff("diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,5 +1,5 @@\n-a\n")
    assert "This file's changes could not be read." in render_to_string("diffs/_files.html", {"files": files})
