"""Markdown, source files and diffs become HTML that cannot run anything."""

from html.parser import HTMLParser

import pytest

from dashboard import rendering


class _Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML (escaped text is not an element)."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))


def assert_inert(html: str) -> None:
    for tag, attrs in _Elements(html).elements:
        assert tag not in ("script", "iframe", "object", "embed", "style", "svg"), tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src"):
                assert value.split(":", 1)[0].lower() in ("http", "https", "mailto") or ":" not in value, value


PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">a</a>',
    "<iframe src=//evil.example></iframe>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_payload_renders_inert(payload):
    html = str(rendering.markdown(f"Hello\n\n{payload}\n\n**bold**"))
    assert_inert(html)
    assert "<strong>bold</strong>" in html


def test_markdown_links_get_rel_and_keep_https():
    html = str(rendering.markdown("[docs](https://example.com/a)"))
    assert 'href="https://example.com/a"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_markdown_image_from_another_site_stays():
    html = str(rendering.markdown("![chart](https://images.example.com/chart.png)"))
    assert '<img src="https://images.example.com/chart.png" alt="chart">' in html


def test_markdown_renders_tables_and_code():
    html = str(rendering.markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n```py\nx = 1\n```"))
    assert "<table>" in html and "<td>1</td>" in html and "<pre><code" in html


def test_highlight_lines_escapes_and_keeps_one_string_per_line():
    lines = rendering.highlight_lines('x = "<script>alert(1)</script>"\n\ny = 2\n', path="a.py")
    assert len(lines) == 3
    assert_inert("".join(lines))
    assert "&lt;script&gt;" in lines[0]


def test_file_view_binary_large_empty_and_text():
    assert rendering.file_view(b"\x89PNG\x00\x01", path="a.png").kind == "binary"
    big = rendering.file_view(b"a" * (rendering.MAX_FILE_BYTES + 1), path="big.txt")
    assert big.kind == "too_large" and "too large" in big.message
    assert rendering.file_view(b"", path="empty.txt").kind == "empty"
    assert rendering.file_view(b"", path="huge.bin", size=10**9).kind == "too_large"
    text = rendering.file_view("def f():\n    return 'é'\n".encode(), path="m.py")
    assert text.kind == "text" and len(text.lines) == 2
    assert rendering.file_view(b"caf\xe9\n", path="latin.txt").kind == "text"


DIFF = """diff --git a/src/app.py b/src/app.py
index 1111111..2222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,3 +1,4 @@
 import os
-X = 1
+X = 2
+Y = "<script>alert(1)</script>"
 print(X)
@@ -10,2 +11,2 @@ def f():
-    return 1
+    return 2
 # end
diff --git a/docs/new.md b/docs/new.md
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/docs/new.md
@@ -0,0 +1,2 @@
+# Title
+text
diff --git a/logo.png b/logo.png
index 4444444..5555555 100644
Binary files a/logo.png and b/logo.png differ
diff --git a/old.txt b/old.txt
deleted file mode 100644
index 6666666..0000000
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
"""


def test_parse_diff_splits_files_counts_and_numbers_lines():
    files, truncated = rendering.parse_diff(DIFF)
    assert not truncated
    assert [(d.path, d.status, d.added, d.removed) for d in files] == [
        ("src/app.py", "modified", 3, 2),
        ("docs/new.md", "added", 2, 0),
        ("logo.png", "modified", 0, 0),
        ("old.txt", "removed", 0, 1),
    ]
    app = files[0]
    kinds = [(line.kind, line.old, line.new) for line in app.lines]
    assert kinds[:6] == [
        ("hunk", None, None),
        ("ctx", 1, 1),
        ("del", 2, None),
        ("add", None, 2),
        ("add", None, 3),
        ("ctx", 3, 4),
    ]
    assert kinds[6:] == [("hunk", None, None), ("del", 10, None), ("add", None, 11), ("ctx", 11, 12)]
    rendered = "".join(str(line.html) for line in app.lines)
    assert_inert(rendered)
    assert "&lt;script&gt;" in rendered
    assert files[2].binary
    assert files[0].anchor != files[1].anchor and files[0].anchor.startswith("file-")


def test_parse_diff_cuts_huge_files_and_diffs(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_DIFF_FILE_LINES", 3)
    files, _ = rendering.parse_diff(DIFF)
    assert files[0].too_large
    monkeypatch.setattr(rendering, "MAX_DIFF_BYTES", 400)
    files, truncated = rendering.parse_diff(DIFF)
    assert truncated and [d.path for d in files] == ["src/app.py"]


@pytest.mark.parametrize(
    "live", ["<script>x</script>", '<img src="x" onerror="y">', '<a href="javascript:x">a</a>', "<svg onload=x>"]
)
def test_assert_inert_catches_live_markup(live):
    with pytest.raises(AssertionError):
        assert_inert(live)
