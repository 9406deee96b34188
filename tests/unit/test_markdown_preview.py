"""The Preview tab of Markdown boxes: `POST /-/markdown/<ws>/preview` renders the posted text as a posted comment
would render (the same sanitising renderer, mentions named from the workspace's members), and every Markdown box of
the pull request pages asks it (`data-markdown-preview` on the textarea, read by static/js/markdown-preview.js)."""

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.test import Client

from bitbucket_sync.client.records import Account as AccountRecord
from bitbucket_sync.client.records import Comment
from dashboard import rendering
from dashboard.selectors.threads import build_threads
from dashboard.views.markdown import MAX_CHARS
from tests import factories as f

ALICE_ID = "557058:1c0a8a3e-6b0f-4a53-9d4e-0c2b7e1f2a3b"
URL = "/-/markdown/acme/preview"
HOSTILE = "\n\n".join(
    [
        "<script>alert(1)</script>",
        "[click](javascript:alert(2))",
        '<img src=x onerror="alert(3)">',
        "![pic](javascript:alert(4))",
        "[data](data:text/html;base64,PHNjcmlwdD4=)",
        '<a href="javascript:alert(5)">raw</a>',
        "**still bold**",
    ]
)


@pytest.fixture
def acme(db, browse_encryption_key):
    viewer = f.user("viewer")
    ws = f.workspace("acme")
    f.workspace("globex")
    alice = f.account("Alice Adams", nickname="alice", account_id=ALICE_ID)
    f.member(ws, alice)
    f.grant(viewer, f.repository(ws, "api"))
    f.credential(viewer, acct=alice)
    return {"viewer": viewer, "ws": ws, "alice": alice}


@pytest.fixture
def viewer_client(acme) -> Client:
    client = Client()
    client.force_login(acme["viewer"])
    return client


def _tags(html: str) -> list[tuple[str, list]]:
    """Every element of `html` with its attributes, as a browser's parser sees them."""
    found: list[tuple[str, list]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def _preview(client: Client, text: str):
    return client.post(URL, {"text": text})


def test_preview_renders_markdown_as_an_html_fragment(viewer_client):
    response = _preview(viewer_client, "Some **bold** words\n\n- one\n- two\n\n| a |\n| - |\n| b |")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>bold</strong>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<table>" in html  # the same extensions as the pages' renderer
    assert "<html" not in html and "<body" not in html
    assert "no-cache" in response["Cache-Control"]


def test_preview_sanitises_exactly_like_a_posted_comment(viewer_client):
    html = _preview(viewer_client, HOSTILE).content.decode()
    author = AccountRecord(uuid="{b}", type="user", display_name="Bob", account_id="557058:bob")
    comment = Comment(id=1, content=HOSTILE, user=author, created_on=datetime(2026, 1, 1, tzinfo=UTC))
    as_comment = str(build_threads([comment], viewer_account_id=None, mentions={}).threads[0].root.html)
    assert f'<div class="markdown">{as_comment}</div>' in html
    assert "<strong>still bold</strong>" in html
    tags = _tags(html)
    assert {name for name, _ in tags} == {"div", "p", "strong"}  # the hostile ones stayed text
    assert all(attrs == [("class", "markdown")] for name, attrs in tags if name == "div")


def test_preview_names_mentions_from_the_workspaces_members(viewer_client):
    stranger = "712020:00000000-0000-4000-8000-000000000000"
    html = _preview(viewer_client, f"Over to @{{{ALICE_ID}}} and @{{{stranger}}}").content.decode()
    link = f'<a class="mention" href="/-/people/{ALICE_ID}/" rel="noopener noreferrer nofollow">@Alice Adams</a>'
    assert link in html
    assert "and @unknown user" in html


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_has_nothing_to_preview(viewer_client, text):
    response = _preview(viewer_client, text)
    assert response.status_code == 200
    assert "Nothing to preview." in response.content.decode()


def test_text_over_the_limit_is_refused_with_a_reason(viewer_client):
    assert _preview(viewer_client, "a" * MAX_CHARS).status_code == 200
    response = _preview(viewer_client, "a" * (MAX_CHARS + 1))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Too long to preview: 100,001 characters" in html and "at most 100,000" in html
    assert "aaaa" not in html


def test_preview_needs_a_signed_in_user(acme):
    response = Client().post(URL, {"text": "**hi**"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_preview_refuses_get(viewer_client):
    assert viewer_client.get(URL, {"text": "**hi**"}).status_code == 405


def test_preview_needs_the_csrf_token(acme):
    client = Client(enforce_csrf_checks=True)
    client.force_login(acme["viewer"])
    assert client.post(URL, {"text": "**hi**"}).status_code == 403
    page = client.get("/acme/")  # any page sets the token cookie the header must repeat (hx-headers on <body>)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page.content.decode()).group(1)
    response = client.post(URL, {"text": "**hi**"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and "<strong>hi</strong>" in response.content.decode()


def test_preview_is_404_for_a_workspace_the_viewer_cannot_see(viewer_client):
    assert viewer_client.post("/-/markdown/globex/preview", {"text": "hi"}).status_code == 404
    assert viewer_client.post("/-/markdown/nowhere/preview", {"text": "hi"}).status_code == 404


def test_preview_output_is_the_renderers(viewer_client):
    text = "# Title\n\n`code` and [a link](https://example.com)"
    html = _preview(viewer_client, text).content.decode()
    assert str(rendering.markdown(text, {})) in html


# --- the boxes that ask for it -----------------------------------------------------------------------------------

PREVIEW_ATTR = 'data-markdown-preview="/-/markdown/acme/preview"'


def _textareas(html: str) -> dict[str, str]:
    return {re.search(r'name="([^"]+)"', tag).group(1): tag for tag in re.findall(r"<textarea[^>]*>", html)}


def test_pull_request_forms_offer_a_preview_of_their_markdown_boxes(demo_mirror):
    client = demo_mirror.signed_in("alice")
    pr = demo_mirror.open_pr("api-server")
    pages = {
        "/acme/api-server/pull-requests/new": {"description"},
        f"/acme/api-server/pull-requests/{pr.number}/edit": {"description"},
        f"/acme/api-server/pull-requests/{pr.number}/decline": {"reason"},
        f"/acme/api-server/pull-requests/{pr.number}": {"text"},  # the comment box
        f"/acme/api-server/pull-requests/{pr.number}/my-review": {"summary"},
    }
    for url, markdown_boxes in pages.items():
        boxes = _textareas(client.get(url).content.decode())
        assert markdown_boxes <= set(boxes), url
        for name in markdown_boxes:
            assert PREVIEW_ATTR in boxes[name], (url, name)


def test_file_edit_offers_a_preview_of_the_pull_request_description_only(demo_mirror):
    client = demo_mirror.signed_in("alice")
    boxes = _textareas(client.get("/acme/api-server/edit", {"branch": "main", "path": "README.md"}).content.decode())
    assert PREVIEW_ATTR in boxes["pr_description"]
    assert "data-markdown-preview" not in boxes["content"]  # the file is not Markdown to Bitbucket's comments
    assert "data-markdown-preview" not in boxes["message"]  # nor is a commit message
