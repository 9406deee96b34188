"""File names in a diff are Bitbucket data, now decoded from git's quoting: a quoted name can carry `"`, `<`, a
newline or a control character. Rendered, they stay text (escaped in the header, the anchor and every data-path);
a name with a backslash or NUL is still refused by the viewed mark, whose path goes back to Bitbucket."""

from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from bitbucket_sync.client import path_problem
from dashboard import rendering
from tests.unit.test_browse_rendering import assert_inert

HOSTILE = (
    'diff --git "a/x\\"><img src=x onerror=alert(1)>.py" "b/x\\"><img src=x onerror=alert(1)>.py"\n'
    "index 1111111..2222222 100644\n"
    '--- "a/x\\"><img src=x onerror=alert(1)>.py"\n'
    '+++ "b/x\\"><img src=x onerror=alert(1)>.py"\n'
    "@@ -1 +1 @@\n-a\n+b\n"
    'diff --git "a/line\\nbreak\\033[31m<script>.md" "b/line\\nbreak\\033[31m<script>.md"\n'
    "similarity index 100%\n"
    'rename from "line\\nbreak\\033[31m<script>.md"\n'
    'rename to "evil\\\\..\\\\x</details><script>alert(1)</script>"\n'
)


def test_hostile_quoted_names_render_as_text():
    files, _ = rendering.parse_diff(HOSTILE)
    assert [f.path for f in files] == [
        'x"><img src=x onerror=alert(1)>.py',
        "evil\\..\\x</details><script>alert(1)</script>",
    ]
    assert files[1].old_path == "line\nbreak\x1b[31m<script>.md"
    page = {
        "workspace": SimpleNamespace(slug="acme"),
        "repository": SimpleNamespace(slug="app"),
        "pull_request": SimpleNamespace(number=1, state="OPEN"),
    }
    for file in files:
        file.fingerprint = "0" * 64  # offers the viewed mark, whose form carries the path
    html = render_to_string("diffs/_files.html", {"files": files, **page})
    assert_inert(html)
    assert "<img" not in html and "<script" not in html and html.count("<details") == 2
    assert all(rendering.file_anchor(f.path).replace("-", "").isalnum() for f in files)


@pytest.mark.parametrize("path", ["evil\\..\\x", "nul\x00.txt", "a/../b"])
def test_decoded_names_bitbucket_would_not_take_stay_refused(path):
    assert path_problem(path)
