"""The pieces of a pull request's diff views: side-by-side pairing, generated and long files collapsed, files cut
into batches without parsing, review threads placed on their lines, and the partial that renders both views."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from bitbucket_sync.browse import comment_code_spec
from bitbucket_sync.client.records import Account, Annotation, Comment, Report
from bitbucket_sync.models import PullRequest, Repository
from dashboard import rendering
from dashboard.rendering import DiffFile, DiffLine, diff_batch_end, diff_file_chunks, is_generated, split_rows
from dashboard.selectors.diffs import NOT_SHOWN, ON_FILE, OUTDATED, place_threads, snippet
from dashboard.selectors.threads import build_threads

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FINDING = Annotation(uuid="{f}", summary="Unused name", path="app.py", line=3)
ALICE = Account(uuid="{a}", type="user", display_name="Alice", account_id="557058:alice")


def _file_diff(path: str, body: str) -> str:
    return f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n{body}"


DIFF = _file_diff(
    "app.py",
    "@@ -1,6 +1,6 @@\n keep = 1\n-a = 1\n-b = 2\n+a = 10\n+b = 20\n+c = 30\n same = 0\n-gone = 1\n tail = 2\n",
)


def _lines(kinds: str) -> list[DiffLine]:
    old = new = 1
    lines = []
    for k in kinds:
        kind = {"+": "add", "-": "del", " ": "ctx", "@": "hunk"}[k]
        lines.append(
            DiffLine(kind, old if kind in ("del", "ctx") else None, new if kind in ("add", "ctx") else None, "")
        )
        old += kind in ("del", "ctx")
        new += kind in ("add", "ctx")
    return lines


def test_split_rows_pair_each_removal_with_the_addition_that_replaced_it():
    lines = _lines("@ --+++ - ")
    rows = split_rows(lines)
    pairs = [(r.left.kind if r.left else None, r.right.kind if r.right else None) for r in rows]
    assert pairs == [
        ("hunk", "hunk"),
        ("ctx", "ctx"),
        ("del", "add"),
        ("del", "add"),
        (None, "add"),  # the longer run's rest against a blank
        ("ctx", "ctx"),
        ("del", None),
        ("ctx", "ctx"),
    ]
    assert rows[0].kind == "hunk" and rows[1].kind == "line"
    assert rows[2].paired and not rows[1].paired and not rows[6].paired
    # The row's id names the new side when there is one, else the removed line.
    assert (rows[2].primary.side, rows[2].primary.number) == ("new", 2)
    assert (rows[6].primary.side, rows[6].primary.number) == ("old", 5)


def test_split_rows_start_a_new_pair_when_a_removal_follows_additions():
    rows = split_rows(_lines("-+-+"))
    assert [(r.left.old, r.right.new) for r in rows] == [(1, 1), (2, 2)]


@pytest.mark.parametrize(
    "path",
    ["package-lock.json", "web/yarn.lock", "poetry.lock", "go.sum", "Cargo.lock", "static/app.min.js",
     "css/site.min.css", "dist/app.js.map", "vendor/lib/x.go", "src/vendor/y.py", "api/types.pb.go"],
)  # fmt: skip
def test_generated_files_are_recognised(path):
    assert is_generated(path)
    assert DiffFile(old_path=path, new_path=path).collapsed


@pytest.mark.parametrize("path", ["src/app.js", "locksmith.py", "README.md", "go.mod", "src/vendors.py"])
def test_ordinary_files_are_not_generated(path):
    assert not is_generated(path)
    assert not DiffFile(old_path=path, new_path=path, added=3).collapsed


def test_a_long_change_opens_collapsed():
    assert DiffFile(old_path="a.py", new_path="a.py", added=rendering.DIFF_COLLAPSE_LINES + 1).collapsed
    assert not DiffFile(old_path="a.py", new_path="a.py", added=rendering.DIFF_COLLAPSE_LINES).collapsed


def test_chunks_cut_at_file_headers_and_rejoin_to_the_same_files():
    text = DIFF + _file_diff("b.py", "@@ -1 +1 @@\n-x\n+y\n") + _file_diff("c.py", "@@ -1 +1 @@\n-p\n+q\n")
    chunks, truncated = diff_file_chunks(text)
    assert not truncated and len(chunks) == 3 and "".join(chunks) == text
    assert all(c.startswith("diff --git ") for c in chunks)
    files, _ = rendering.parse_diff("".join(chunks[1:]))
    assert [f.path for f in files] == ["b.py", "c.py"]


def test_chunks_of_a_cut_diff_drop_the_partial_last_file():
    text = DIFF + _file_diff("b.py", "@@ -1 +1 @@\n-x\n+y\n")
    chunks, truncated = diff_file_chunks(text[:-3], truncated=True)
    assert truncated and len(chunks) == 1 and chunks[0] == DIFF
    assert diff_file_chunks("") == ([], False)


def test_batches_stop_at_the_file_count_or_the_byte_budget_with_at_least_one_file(monkeypatch):
    chunks = ["x" * 10] * 50
    assert diff_batch_end(chunks, 0) == rendering.DIFF_BATCH_FILES
    assert diff_batch_end(chunks, 45) == 50
    assert diff_batch_end(chunks, 50) == 50
    monkeypatch.setattr(rendering, "DIFF_BATCH_BYTES", 25)
    assert diff_batch_end(chunks, 0) == 2
    assert diff_batch_end(["x" * 100, "y"], 0) == 1  # one huge file still makes a batch


def _comment(id, **kw):
    return Comment(id=id, content=f"comment {id}", user=ALICE, created_on=T0, **kw)


def test_threads_go_under_their_lines_and_the_rest_to_the_file_top():
    (file,) = rendering.parse_diff(DIFF)[0]
    threads = build_threads(
        [
            _comment(1, inline_path="app.py", inline_to=3),  # c = 30, an added line
            _comment(2, inline_path="app.py", inline_from=2),  # b = 2, a removed line
            _comment(3, inline_path="app.py", inline_to=1),  # keep = 1, context
            _comment(4, inline_path="app.py", inline_to=40),  # not among the shown lines
            _comment(5, inline_path="app.py", inline_to=2, inline_outdated=True),
            _comment(6, inline_path="app.py"),  # on the file
            _comment(7, inline_path="other.py", inline_to=1),
            _comment(8),  # on the pull request
        ],
        viewer_account_id=None,
    )
    place_threads([file], threads)
    placed = {(line.side, line.number): [t.id for t in line.threads] for line in file.lines if line.threads}
    assert placed == {("new", 3): [1], ("old", 2): [2], ("new", 1): [3]}
    assert [(p.thread.id, p.reason) for p in file.threads] == [(4, NOT_SHOWN), (5, OUTDATED), (6, ON_FILE)]
    assert file.threads[1].outdated


def _render(files, **context):
    # A pull request page's context: threads link their actions to it.
    page = {
        "workspace": SimpleNamespace(slug="acme"),
        "repository": SimpleNamespace(slug="app"),
        "pull_request": SimpleNamespace(number=1, state="OPEN"),
        "pr_url": "/acme/app/pull-requests/1",
    }
    return render_to_string("diffs/_files.html", {"files": files, **page, **context})


@pytest.mark.parametrize("view", ["unified", "split"])
def test_both_views_name_every_line_and_show_threads_and_annotations_under_it(view):
    (file,) = rendering.parse_diff(DIFF)[0]
    threads = build_threads(
        [_comment(1, inline_path="app.py", inline_to=3), _comment(2, inline_path="app.py", inline_from=5)],
        viewer_account_id=None,
    )
    place_threads([file], threads)
    added = next(line for line in file.lines if line.new == 3)
    added.annotations.append((Report(uuid="{r}", title="Lint", report_type="BUG", result="FAILED"), FINDING))
    html = _render([file], view=view)
    anchor = file.anchor
    for side, number in [("new", 1), ("old", 2), ("old", 3), ("new", 2), ("new", 3), ("old", 5), ("new", 5)]:
        assert f'id="L{anchor}-{side}-{number}"' in html, (side, number)
    assert 'data-path="app.py" data-side="new" data-line="3"' in html
    assert 'class="ln-btn" data-side="old" data-line="5"' in html
    # Each thread under its own row, and the annotation too.
    row = html.index(f'id="L{anchor}-new-3"')
    assert html.index('id="thread-1"') > row and html.index('class="annotated"') > row
    assert html.index('id="thread-2"') > html.index(f'id="L{anchor}-old-5"')
    assert ('class="code diff split highlight"' in html) == (view == "split")


def test_generated_files_render_collapsed_with_their_size():
    lock = rendering.parse_diff(_file_diff("yarn.lock", "@@ -1 +1,2 @@\n-a\n+b\n+c\n"))[0][0]
    (code,) = rendering.parse_diff(DIFF)[0]
    html = _render([lock, code])
    assert f'<details class="diff-file generated" id="{lock.anchor}" data-path="yarn.lock">' in html
    assert f'<details class="diff-file" id="{code.anchor}" data-path="app.py" open>' in html
    assert "3 changed lines" in html


def test_a_whitespace_only_file_says_so():
    (file,) = rendering.parse_diff("diff --git a/a.py b/a.py\nindex 1111111..2222222 100644\n")[0]
    assert "only whitespace changed" in _render([file], ignore_whitespace=True)


API = "https://api.bitbucket.org/2.0/repositories"
AB = "a31d1b70c972..b563d040b08e"


@pytest.mark.parametrize(
    ("url", "spec"),
    [
        (f"{API}/acme/api-server/diff/acme/api-server:a31d1b70c972..b563d040b08e?path=a.py", AB),
        (f"{API}/Acme/API-Server/diff/{AB}", AB),
        (f"{API}/acme/api-server/diff/someone/fork:{AB}", None),  # a fork: not read
        (f"{API}/acme/other/diff/acme/other:{AB}", None),  # another repository
        (f"{API}/acme/api-server/diff/acme/api-server:main..b563d040b08e", None),  # not commit hashes
        (f"{API}/acme/api-server/diff/acme/api-server:a31d1b70c972..b563d040b08e/../../x", None),
        (f"javascript:alert(1)//repositories/acme/api-server/diff/{AB}", None),
        (None, None),
    ],
)  # fmt: skip
def test_a_comments_code_link_is_read_only_for_this_repository_and_commit_hashes(url, spec):
    pull_request = PullRequest(repository=Repository(full_name="acme/api-server"))
    assert comment_code_spec(url, pull_request=pull_request) == spec


def test_a_snippet_is_the_commented_line_and_the_lines_above_it_in_its_hunk():
    found = snippet(DIFF, path="app.py", side="new", line=4)
    assert [(line.kind, line.number) for line in found] == [("add", 2), ("add", 3), ("add", 4)]
    assert [line.number for line in snippet(DIFF, path="app.py", side="old", line=2)] == [1, 2]  # the hunk starts
    assert [line.number for line in snippet(DIFF, path="app.py", side="new", line=1)] == [1]
    assert snippet(DIFF, path="app.py", side="new", line=99) == []
    assert snippet(DIFF, path="other.py", side="new", line=1) == []
