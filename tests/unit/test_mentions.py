"""Mentions: `@{account_id}` in Markdown renders as a link to the person's page with the name the mirror knows, and a
comment box's `@` asks `/<ws>/members/suggest?q=` for the workspace's members."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bitbucket_sync.client.records import Account as AccountRecord
from bitbucket_sync.client.records import Comment
from dashboard import rendering
from dashboard.selectors.mentions import member_suggestions, mention_names
from dashboard.selectors.threads import build_threads
from tests import factories as f
from tests.unit.test_browse_rendering import assert_inert

ALICE_ID = "557058:1c0a8a3e-6b0f-4a53-9d4e-0c2b7e1f2a3b"
LEGACY_ID = "5c09bf77ec71bd223bbe866f"
UNKNOWN_ID = "712020:00000000-0000-4000-8000-000000000000"
NAMES = {ALICE_ID: "Alice Adams", LEGACY_ID: "Scott Demo"}


def md(text: str, names=NAMES) -> str:
    return str(rendering.markdown(text, names))


# --- rendering --------------------------------------------------------------------------------------------------


def test_known_mention_links_to_the_persons_page_with_their_name():
    html = md(f"Over to @{{{ALICE_ID}}}, and @{{{LEGACY_ID}}}.")
    assert (
        f'<a class="mention" href="/-/people/{ALICE_ID}/" rel="noopener noreferrer nofollow">@Alice Adams</a>' in html
    )
    assert f'href="/-/people/{LEGACY_ID}/"' in html and ">@Scott Demo</a>" in html
    assert "@{" not in html


def test_unknown_mention_renders_as_unknown_user_text():
    html = md(f"Ask @{{{UNKNOWN_ID}}} first")
    assert html == "<p>Ask @unknown user first</p>\n"


@pytest.mark.parametrize(
    "raw",
    [
        "@{557058:not-a-uuid}",
        "@{alice}",
        "@{{1c0a8a3e-6b0f-4a53-9d4e-0c2b7e1f2a3b}}",  # a braced uuid is not an account id
        "@{557058:1c0a8a3e-6b0f-4a53-9d4e-0c2b7e1f2a3bb}",
        "@{5c09bf77ec71bd223bbe866}",
        "@{٥٥٧٠٥٨:1c0a8a3e-6b0f-4a53-9d4e-0c2b7e1f2a3b}",  # Arabic-Indic digits
        "@{}",
    ],
)
def test_malformed_ids_stay_text_and_build_no_link(raw):
    html = md(f"hi {raw}")
    assert "<a" not in html and "unknown user" not in html
    assert raw in html


def test_mentions_in_code_stay_literal():
    span = md(f"Use `@{{{ALICE_ID}}}` to mention")
    assert f"<code>@{{{ALICE_ID}}}</code>" in span and "<a" not in span
    block = md(f"```\n@{{{ALICE_ID}}}\n```")
    assert f"@{{{ALICE_ID}}}" in block and "<a" not in block
    indented = md(f"    @{{{ALICE_ID}}}")
    assert "<pre><code>" in indented and "<a" not in indented


def test_escaped_at_sign_and_link_text_do_not_make_a_link_in_a_link():
    assert "<a" not in md(f"\\@{{{ALICE_ID}}}")
    html = md(f"[ask @{{{ALICE_ID}}}](https://example.org/)")
    assert html.count("<a ") == 1 and "ask @Alice Adams</a>" in html


def test_without_names_a_page_shows_mentions_as_written():
    assert str(rendering.markdown(f"hi @{{{ALICE_ID}}}")) == f"<p>hi @{{{ALICE_ID}}}</p>\n"


@pytest.mark.parametrize(
    "raw",
    [
        '@{"><script>alert(1)</script>}',
        '@{557058:1c0a8a3e-6b0f-4a53-9d4e-0c2b7e1f2a3b"><img src=x onerror=alert(1)>}',
        "@{<img src=x onerror=alert(1)>}",
        "@{javascript:alert(1)}",
    ],
)
def test_xss_attempts_in_mentions_stay_inert(raw):
    html = md(f"{raw} and {raw.replace('@{', '`@{', 1)}`")
    assert_inert(html)
    assert "<a" not in html


def test_hostile_display_name_is_escaped():
    html = md(f"@{{{ALICE_ID}}}", {ALICE_ID: '<img src=x onerror=alert(1)>"'})
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_mention_class_is_the_only_class_a_link_keeps():
    html = str(rendering.sanitise('<a class="button primary" href="https://example.org/">x</a>'))
    assert "class" not in html


def test_mentioned_account_ids_finds_only_valid_ids():
    texts = [f"@{{{ALICE_ID}}} and @{{{LEGACY_ID}}}", "@{bad} @{557058:x}", "", f"`@{{{UNKNOWN_ID}}}`"]
    assert rendering.mentioned_account_ids(texts) == {ALICE_ID, LEGACY_ID, UNKNOWN_ID}


def test_review_threads_render_mentions_with_the_names_given():
    author = AccountRecord(uuid="{b}", type="user", display_name="Bob", account_id="557058:bob")
    c = Comment(id=1, content=f"@{{{ALICE_ID}}} please look", user=author, created_on=datetime(2026, 1, 1, tzinfo=UTC))
    threads = build_threads([c], viewer_account_id=None, mentions=NAMES)
    assert f'href="/-/people/{ALICE_ID}/"' in str(threads.threads[0].root.html)


# --- names from the mirror --------------------------------------------------------------------------------------


@pytest.fixture
def acme(db, browse_encryption_key):
    viewer = f.user("viewer")
    ws, other_ws = f.workspace("acme"), f.workspace("globex")
    alice = f.account("Alice Adams", nickname="alice", account_id=ALICE_ID)
    f.member(ws, alice)
    repo = f.repository(ws, "api")
    f.grant(viewer, repo)
    f.credential(viewer, acct=alice)
    outsider = f.account("Oscar Outsider", nickname="oscar")
    f.member(other_ws, outsider)
    hidden = f.repository(other_ws, "secret")
    return {"viewer": viewer, "ws": ws, "other_ws": other_ws, "alice": alice, "outsider": outsider, "hidden": hidden}


def test_mention_names_is_one_query_over_the_workspaces_live_members(acme):
    gone = f.account("Gary Gone", nickname="gary")
    f.member(acme["ws"], gone).__class__.objects.filter(account=gone).update(
        removed_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    texts = [f"@{{{ALICE_ID}}}", f"@{{{acme['outsider'].account_id}}} @{{{gone.account_id}}} @{{{UNKNOWN_ID}}}"]
    with CaptureQueriesContext(connection) as queries:
        names = mention_names(acme["ws"], texts)
    assert names == {ALICE_ID: "Alice Adams"}
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as none:
        assert mention_names(acme["ws"], ["no mentions here", ""]) == {}
    assert len(none) == 0


def test_mention_names_fall_back_to_the_nickname(acme):
    nameless = f.account("Quiet One", nickname="quiet")
    nameless.display_name = ""
    nameless.save(update_fields=["display_name"])
    f.member(acme["ws"], nameless)
    assert mention_names(acme["ws"].pk, [f"@{{{nameless.account_id}}}"]) == {nameless.account_id: "quiet"}


# --- suggestions --------------------------------------------------------------------------------------------------


def test_suggestions_match_name_or_nickname_case_insensitively_prefix_first(acme):
    for name, nick in [("Bob Alison", "bobby"), ("Malik Stone", "mstone"), ("Zed Zero", "alizee")]:
        f.member(acme["ws"], f.account(name, nickname=nick))
    assert [p.display_name for p in member_suggestions(acme["ws"], "ALI")] == [
        "Alice Adams",  # the name starts with it
        "Zed Zero",  # the nickname starts with it
        "Bob Alison",  # a later word starts with it
        "Malik Stone",  # it is inside a word
    ]
    assert [p.display_name for p in member_suggestions(acme["ws"], "mston")] == ["Malik Stone"]
    assert member_suggestions(acme["ws"], "   ") == []


def test_suggestions_stop_at_eight_and_skip_people_without_an_account_id(acme):
    for n in range(12):
        f.member(acme["ws"], f.account(f"Sam {n:02}", nickname=f"sam{n:02}"))
    f.member(acme["ws"], f.account("Sam Team", nickname="samteam", account_id=""))
    found = member_suggestions(acme["ws"], "sam")
    assert [p.display_name for p in found] == [f"Sam {n:02}" for n in range(8)]


def test_suggest_endpoint_returns_a_listbox_fragment(client, acme):
    client.force_login(acme["viewer"])
    response = client.get("/acme/members/suggest", {"q": "ali"})
    assert response.status_code == 200
    text = response.content.decode()
    assert '<ul class="mention-list" role="listbox"' in text and "<html" not in text
    assert (
        f'<li role="option" aria-selected="false" data-account-id="{ALICE_ID}" data-display-name="Alice Adams">' in text
    )
    assert "no-cache" in response["Cache-Control"]
    assert 'role="option"' not in client.get("/acme/members/suggest", {"q": "nobody"}).content.decode()
    assert 'role="option"' not in client.get("/acme/members/suggest").content.decode()


def test_suggest_endpoint_is_404_for_a_workspace_the_user_cannot_see(client, acme):
    client.force_login(acme["viewer"])
    assert client.get("/globex/members/suggest", {"q": "osc"}).status_code == 404
    assert client.get("/nowhere/members/suggest", {"q": "osc"}).status_code == 404
    assert client.post("/acme/members/suggest", {"q": "ali"}).status_code == 405


def test_pr_page_links_description_mentions_and_its_comment_box_asks_for_members(client, acme):
    repo = f.repository(acme["ws"], "web")
    f.grant(acme["viewer"], repo)
    description = f"Thanks @{{{ALICE_ID}}}, and @{{{acme['outsider'].account_id}}}"
    pr = f.pull_request(repo, author=acme["alice"], description=description)
    client.force_login(acme["viewer"])
    text = client.get(f"/acme/web/pull-requests/{pr.number}").content.decode()
    assert (
        f'<a class="mention" href="/-/people/{ALICE_ID}/" rel="noopener noreferrer nofollow">@Alice Adams</a>' in text
    )
    assert "and @unknown user" in text and "Oscar" not in text  # not a member of this workspace
    assert 'data-mentions-url="/acme/members/suggest"' in text
    assert "js/mentions" in text and ".js" in text
