"""Names in the diffs the emulator writes, as git writes them: C-style quoted when they hold a non-ASCII byte, a
quote, a backslash or a control character; a tab after a `---`/`+++` name with a space (git's own output, byte for
byte: the blob ids are git's too)."""

from __future__ import annotations

import pytest

from bitbucket_emulator import Emulator
from bitbucket_emulator.world.merge import git_quote, unified_diff

from .helpers import open_pr, session


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("a/src/app.py", "a/src/app.py"),
        ("a/x b/y.txt", "a/x b/y.txt"),  # spaces are not quoted
        ("a/docs/café notes.md", r'"a/docs/caf\303\251 notes.md"'),
        ('we"ird\\.txt', r'"we\"ird\\.txt"'),
        ("tab\tnew\nline\x01", r'"tab\tnew\nline\001"'),
        ("日本.md", r'"\346\227\245\346\234\254.md"'),
    ],
)
def test_names_are_quoted_like_git(name, written):
    assert git_quote(name) == written


def test_a_diff_is_what_git_writes():
    # `git diff` of the same two trees (git 2.x, core.quotePath on), checked with cat -A.
    text = unified_diff(
        {"docs/café notes.md": b"one\ntwo\n", "x b": b"r\n"}, {"docs/café notes.md": b"one\nthree\n", "x b": b"r2"}
    )
    assert text == (
        'diff --git "a/docs/caf\\303\\251 notes.md" "b/docs/caf\\303\\251 notes.md"\n'
        "index 814f4a4..4c7442b 100644\n"
        '--- "a/docs/caf\\303\\251 notes.md"\t\n'
        '+++ "b/docs/caf\\303\\251 notes.md"\t\n'
        "@@ -1,2 +1,2 @@\n one\n-two\n+three\n"
        "diff --git a/x b b/x b\nindex 4286f42..8eeebd0 100644\n--- a/x b\t\n+++ b/x b\t\n"
        "@@ -1 +1 @@\n-r\n+r2\n\\ No newline at end of file\n"
    )


def test_a_pull_request_diff_quotes_a_non_ascii_name(emulator: Emulator):
    pr = open_pr(emulator, "api-server", "docs/accents", files={"docs/café notes.md": "Un café.\n"})
    s = session(emulator, "alice")
    base = f"{emulator.api_url}/repositories/acme/api-server/pullrequests/{pr}"
    diff = s.get(f"{base}/diff")
    assert diff.status_code == 200
    assert 'diff --git "a/docs/caf\\303\\251 notes.md" "b/docs/caf\\303\\251 notes.md"\n' in diff.text
    assert '+++ "b/docs/caf\\303\\251 notes.md"\t\n' in diff.text
    # The diffstat is JSON: the name as it is.
    stat = s.get(f"{base}/diffstat").json()["values"]
    assert [v["new"]["path"] for v in stat] == ["docs/café notes.md"]
