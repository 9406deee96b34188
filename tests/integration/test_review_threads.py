"""Review threads end to end: the discussion tab's threads, and each thread action (reply, edit, delete, resolve,
reopen, a task from a comment, a new line comment) from the view through the acting user's credential to the
emulator over HTTP, with its audit event, its idempotency key and its refusals in words."""

import re

import pytest

from bitbucket_sync.models import AuditEvent
from dashboard import rendering

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PR = "/acme/api-server/pull-requests/4"
LOOKUP = "src/api_server/add_customer_lookup_endpoint.py"
COMMENTS = "POST /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/comments"


@pytest.fixture
def alice(demo_world):
    return demo_world.signed_in("alice")


@pytest.fixture
def bob(demo_world):
    return demo_world.signed_in("bob")


def _comments(demo_world, username="alice"):
    return list(demo_world.client(username).iter_pull_request_comments("acme", "api-server", 4))


def _roots(demo_world):
    """PR 4's two seeded comments: alice's question and dave's answer (both on the pull request itself)."""
    found = {c.content: c for c in _comments(demo_world)}
    return found["Can we cache the lookups?"], found["Good idea, added a TTL cache."]


def _keys(html: str) -> list[str]:
    return re.findall(r'name="idempotency_key" value="([^"]+)"', html)


def _posts(demo_world, family=COMMENTS) -> int:
    return demo_world.counts()["by_endpoint"].get(family, {}).get("total", 0)


def _thread(html: str, thread_id: int) -> str:
    assert html.lstrip().startswith('<article class="thread'), html[:200]
    assert f'id="thread-{thread_id}"' in html and "<html" not in html
    return html


def test_discussion_lists_threads_with_their_anchors_and_keeps_the_activity(demo_world, alice):
    mine, _theirs = _roots(demo_world)
    client = demo_world.client("bob")
    inline = client.comment_pull_request(
        "acme", "api-server", 4, content="Validate the id", inline_path=LOOKUP, inline_to=4, inline_start_to=3
    )
    client.comment_pull_request("acme", "api-server", 4, content="Agreed", parent_id=mine.id)
    client.resolve_pull_request_comment("acme", "api-server", 4, mine.id)

    html = alice.get(f"{PR}/activity", **HX).content.decode()

    anchor = rendering.file_anchor(LOOKUP)
    assert html.count('<article class="thread') == 3 and "3 threads · 2 open" in html
    assert f'href="#{anchor}">{LOOKUP}</a>' in html and f'href="#L{anchor}-new-4">lines 3\u20134</a>' in html
    resolved = html[html.index(f'id="thread-{mine.id}"') :]
    assert '<details class="thread-body">' in resolved.split("</article>")[0]  # folded
    assert "Resolved by Bob" in resolved and ">Reopen</button>" in resolved.split("</article>")[0]
    # alice may edit and delete her own comment only; Bob's inline one offers no such thing to her.
    assert f'id="edit-text-{mine.id}"' in html and f'id="edit-text-{inline.id}"' not in html
    assert 'data-draft-key="reply-' in html and f'data-draft-url="{PR}/drafts"' in html
    assert "<h3>Activity</h3>" in html and "approved" in html
    # The diff shows the same threads under their lines: a form swaps its own copy, not the first with the id.
    targets = set(re.findall(r'hx-target="([^"]*)"', html))
    assert targets == {"closest .thread"}
    # ...and a label's `for` finds only the first copy's box: each box names itself.
    assert html.count('aria-label="Reply"') == 3


def test_reply_swaps_the_thread_audits_once_and_ignores_a_double_submit(demo_world, alice):
    mine, _ = _roots(demo_world)
    alice.get(f"{PR}/activity", **HX)  # the page read (and cached) the discussion
    demo_world.reset_counts()
    data = {"idempotency_key": "k-reply-1", "text": "Yes, for **60 s**."}

    first = alice.post(f"{PR}/comments/{mine.id}/reply", data, **HX)
    second = alice.post(f"{PR}/comments/{mine.id}/reply", data, **HX)

    html = _thread(first.content.decode(), mine.id)
    assert "Reply posted." in html and "<strong>60 s</strong>" in html  # read again: the cache was dropped
    assert "already done" in second.content.decode() and "<strong>60 s</strong>" in second.content.decode()
    assert _posts(demo_world) == 1
    reply = next(c for c in _comments(demo_world) if c.content == "Yes, for **60 s**.")
    assert reply.parent_id == mine.id and not reply.pending
    event = AuditEvent.objects.get(action="pull_request.comment_reply")
    assert (event.result, event.target, event.actor_id) == ("success", f"#4 comment {mine.id}", demo_world.alice.pk)


def test_reply_added_to_review_is_a_draft_and_a_plain_post_redirects(demo_world, bob):
    _, theirs = _roots(demo_world)
    data = {"idempotency_key": "k-reply-2", "text": "Later.", "pending": "1"}
    response = bob.post(f"{PR}/comments/{theirs.id}/reply", data)
    assert response.status_code == 302 and response["Location"] == f"{PR}/activity#thread-{theirs.id}"
    draft = next(c for c in _comments(demo_world, "bob") if c.content == "Later.")
    assert draft.pending and draft.parent_id == theirs.id
    assert all(c.content != "Later." for c in _comments(demo_world, "alice"))  # only its author sees a draft
    page = bob.get(f"{PR}/activity", **HX).content.decode()
    assert "Later." in page and "draft" in page


def test_an_empty_reply_is_refused_without_a_request(demo_world, alice):
    mine, _ = _roots(demo_world)
    alice.get(f"{PR}/activity", **HX)
    demo_world.reset_counts()
    response = alice.post(f"{PR}/comments/{mine.id}/reply", {"idempotency_key": "k-empty", "text": "  "}, **HX)
    assert "Nothing was sent" in response.content.decode() and _posts(demo_world) == 0


def test_edit_own_comment_and_bitbuckets_refusal_of_someone_elses_keeps_the_text(demo_world, alice):
    mine, theirs = _roots(demo_world)
    edited = alice.post(
        f"{PR}/comments/{mine.id}/edit", {"idempotency_key": "k-edit-1", "text": "Can we cache them?"}, **HX
    )
    assert "Comment changed." in edited.content.decode() and "Can we cache them?" in edited.content.decode()
    assert _roots_text(demo_world, mine.id) == "Can we cache them?"

    refused = alice.post(
        f"{PR}/comments/{theirs.id}/edit", {"idempotency_key": "k-edit-2", "text": "Put words in Dave's mouth"}, **HX
    )
    html = _thread(refused.content.decode(), theirs.id)
    assert "Bitbucket refused to change this comment (only its author may)" in html
    assert "Put words in Dave&#x27;s mouth</textarea>" in html  # the typed text is kept in its form
    assert _roots_text(demo_world, theirs.id) == "Good idea, added a TTL cache."
    failed = AuditEvent.objects.get(action="pull_request.comment_edit", result="failure")
    assert failed.details["kind"] == "refused"


def _roots_text(demo_world, comment_id):
    return next(c.content for c in _comments(demo_world) if c.id == comment_id)


def test_delete_own_comment_keeps_the_thread_of_replies(demo_world, alice):
    mine, _ = _roots(demo_world)
    demo_world.client("bob").comment_pull_request("acme", "api-server", 4, content="Kept", parent_id=mine.id)
    response = alice.post(f"{PR}/comments/{mine.id}/delete", {"idempotency_key": "k-del-1"}, **HX)
    html = _thread(response.content.decode(), mine.id)
    assert "This comment was deleted." in html and "Kept" in html and "Comment deleted." in html
    assert next(c for c in _comments(demo_world) if c.id == mine.id).deleted


def test_delete_of_a_lone_comment_leaves_a_note_in_its_place(demo_world, alice):
    mine, _ = _roots(demo_world)
    response = alice.post(f"{PR}/comments/{mine.id}/delete", {"idempotency_key": "k-del-2"}, **HX)
    html = response.content.decode()
    assert f'id="thread-{mine.id}"' in html and "Comment deleted." in html and "Can we cache" not in html


def test_resolve_then_reopen_and_their_refusals_in_plain_words(demo_world, alice, bob):
    mine, theirs = _roots(demo_world)
    resolved = alice.post(f"{PR}/comments/{mine.id}/resolve", {"idempotency_key": "k-res-1"}, **HX)
    assert "Thread resolved." in resolved.content.decode() and ">Reopen</button>" in resolved.content.decode()
    assert AuditEvent.objects.filter(action="pull_request.comment_resolve", result="success").count() == 1

    # Someone else resolved it meanwhile: Bitbucket's 409, said plainly, the thread shown as it is.
    demo_world.client("alice").resolve_pull_request_comment("acme", "api-server", 4, theirs.id)
    late = bob.post(f"{PR}/comments/{theirs.id}/resolve", {"idempotency_key": "k-res-2"}, **HX)
    assert "Someone resolved this thread before you did" in late.content.decode()
    assert ">Reopen</button>" in late.content.decode()

    reopened = bob.post(f"{PR}/comments/{mine.id}/reopen", {"idempotency_key": "k-reopen-1"}, **HX)
    assert "Thread reopened." in reopened.content.decode() and ">Resolve</button>" in reopened.content.decode()
    # Reopening an open thread: Bitbucket's bare 404, told apart from a missing comment by a second read.
    again = bob.post(f"{PR}/comments/{mine.id}/reopen", {"idempotency_key": "k-reopen-2"}, **HX)
    assert "This thread is not resolved" in again.content.decode()


def test_a_reply_cannot_be_resolved_and_bitbucket_says_why(demo_world, alice):
    mine, _ = _roots(demo_world)
    reply = demo_world.client("alice").comment_pull_request("acme", "api-server", 4, content="r", parent_id=mine.id)
    response = alice.post(f"{PR}/comments/{reply.id}/resolve", {"idempotency_key": "k-res-3"}, **HX)
    html = _thread(response.content.decode(), mine.id)
    assert "only its first comment can be resolved" in html


def test_task_from_a_comment_is_anchored_and_refreshes_the_task_list(demo_world, alice):
    mine, _ = _roots(demo_world)
    before = demo_world.pr("api-server", 4).task_count
    response = alice.post(f"{PR}/comments/{mine.id}/task", {"idempotency_key": "k-task-1", "text": "Add a TTL"}, **HX)
    html = response.content.decode()
    assert "Task added." in html and 'id="pr-tasks" class="card" aria-labelledby="tasks" hx-swap-oob="true"' in html
    assert "Add a TTL" in html
    assert "mirror-changed" in response["HX-Trigger"]
    task = next(
        t for t in demo_world.client().iter_pull_request_tasks("acme", "api-server", 4) if t.content == "Add a TTL"
    )
    assert task.comment_id == mine.id
    assert demo_world.pr("api-server", 4).task_count == before + 1
    assert AuditEvent.objects.get(action="pull_request.task_create").target == f"#4 comment {mine.id}"


def test_inline_composer_is_a_fragment_a_page_and_posts_a_line_comment(demo_world, alice):
    query = f"path={LOOKUP}&side=new&line=6&start=4"
    fragment = alice.get(f"{PR}/comments/new?{query}", **HX).content.decode()
    assert fragment.lstrip().startswith("<form") and "lines 4\u20136 (new side)" in fragment
    key = f"inline-{rendering.file_anchor(LOOKUP)}-new-6"
    assert f'data-draft-key="{key}"' in fragment and ">Add to review</button>" in fragment
    page = alice.get(f"{PR}/comments/new?{query}").content.decode()
    assert "<html" in page and "Back to the pull request" in page

    key = _keys(fragment)[0]
    demo_world.reset_counts()
    posted = alice.post(f"{PR}/comments/new?{query}", {"idempotency_key": key, "text": "Return the customer"}, **HX)
    again = alice.post(f"{PR}/comments/new?{query}", {"idempotency_key": key, "text": "Return the customer"}, **HX)
    assert _posts(demo_world) == 1

    comment = next(c for c in _comments(demo_world) if c.content == "Return the customer")
    assert (comment.inline_path, comment.inline_to, comment.inline_start_to) == (LOOKUP, 6, 4)
    html = _thread(posted.content.decode(), comment.id)
    assert "Comment posted." in html and "lines 4\u20136" in html
    assert "already done" in _thread(again.content.decode(), comment.id)  # the same thread, not a second one
    assert AuditEvent.objects.get(action="pull_request.comment_inline").result == "success"


def test_inline_draft_on_the_old_side_and_a_plain_post_redirects(demo_world, alice):
    response = alice.post(
        f"{PR}/comments/new?path={LOOKUP}&side=old&line=2",
        {"idempotency_key": "k-inline-2", "text": "Draft", "pending": "1"},
    )
    comment = next(c for c in _comments(demo_world) if c.content == "Draft")
    assert response.status_code == 302 and response["Location"] == f"{PR}/activity#thread-{comment.id}"
    assert comment.pending and (comment.inline_from, comment.inline_to) == (2, None)


@pytest.mark.parametrize(
    "query",
    [
        "side=new&line=3",  # no path
        f"path={LOOKUP}&side=middle&line=3",
        f"path={LOOKUP}&side=new&line=0",
        f"path={LOOKUP}&side=new&line=-2",
        f"path={LOOKUP}&side=new&line=x",
        f"path={LOOKUP}&side=new&line=3&start=5",  # a range ending before it starts
        "path=src/../secrets&side=new&line=3",
        "path=src/%252e%252e/x&side=new&line=3",
    ],
)
def test_inline_composer_refuses_an_anchor_that_cannot_be_right(demo_world, alice, query):
    demo_world.reset_counts()
    assert alice.get(f"{PR}/comments/new?{query}", **HX).status_code == 404
    assert alice.post(f"{PR}/comments/new?{query}", {"idempotency_key": "k", "text": "x"}, **HX).status_code == 404
    assert demo_world.counts()["total"] == 0


def test_inline_comment_refused_by_bitbucket_keeps_the_text(demo_world, alice):
    demo_world.emulator.controls.set_fault(1, "500", path="/2.0/repositories/acme/api-server/pullrequests/4/comments")
    response = alice.post(
        f"{PR}/comments/new?path={LOOKUP}&side=new&line=3", {"idempotency_key": "k-fail", "text": "Keep me"}, **HX
    )
    html = response.content.decode()
    assert html.lstrip().startswith("<form") and "Keep me</textarea>" in html and 'role="alert"' in html
    assert _keys(html)[0] != "k-fail"  # a retry is a new attempt


def test_general_comment_added_to_review_is_a_draft(demo_world, alice):
    response = alice.post(f"{PR}/comment", {"idempotency_key": "k-gen-1", "text": "Draft note", "pending": "1"})
    assert response.status_code == 302
    assert next(c for c in _comments(demo_world) if c.content == "Draft note").pending
    assert 'data-draft-key="general"' in alice.get(PR).content.decode()


def test_a_refusal_without_htmx_is_a_page_holding_the_thread_and_the_text(demo_world, alice):
    _, theirs = _roots(demo_world)
    response = alice.post(f"{PR}/comments/{theirs.id}/edit", {"idempotency_key": "k-edit-3", "text": "Mine now"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and "Back to the pull request" in html
    assert f'id="thread-{theirs.id}"' in html and "only its author may" in html and "Mine now</textarea>" in html


def test_a_thread_whose_line_changed_is_marked_outdated(demo_world, alice):
    client = demo_world.client("bob")
    changed = client.comment_pull_request("acme", "api-server", 4, content="Literal", inline_path=LOOKUP, inline_to=6)
    kept = client.comment_pull_request("acme", "api-server", 4, content="Docstring", inline_path=LOOKUP, inline_to=5)
    world = demo_world.emulator.world
    body = '"""Add customer lookup endpoint."""\n\n\ndef add_customer_lookup_endpoint(request):\n'
    body += '    """Handle add customer lookup endpoint."""\n    return lookup(request)\n'  # line 6 changes
    with world.lock:
        source = world.repository("acme", "api-server").pullrequests[4].source_branch
        world.commit_files("acme", "api-server", source, "dave", {LOOKUP: body})

    html = alice.get(f"{PR}/activity", **HX).content.decode()

    outdated = html[html.index(f'id="thread-{changed.id}"') :].split("</article>")[0]
    current = html[html.index(f'id="thread-{kept.id}"') :].split("</article>")[0]
    assert 'class="badge outdated"' in outdated and 'class="badge outdated"' not in current


def test_a_comment_newer_than_the_cached_read_can_be_acted_on(demo_world, alice):
    alice.get(f"{PR}/activity", **HX)  # cached now
    fresh = demo_world.client("bob").comment_pull_request("acme", "api-server", 4, content="Just now")
    response = alice.post(f"{PR}/comments/{fresh.id}/reply", {"idempotency_key": "k-new-root", "text": "Seen"}, **HX)
    html = _thread(response.content.decode(), fresh.id)
    assert "Just now" in html and "Seen" in html


def test_a_draft_added_in_place_tells_the_review_panel_and_forgets_the_saved_text(demo_world, alice):
    """The composer's text was autosaved; once its comment is a draft of the review, the saved text goes and the
    answer asks the review panel to list the new draft."""
    from bitbucket_sync import drafts
    from bitbucket_sync.models import CommentDraft, PullRequest

    pull_request = PullRequest.objects.get(repository__slug="api-server", number=4)
    user = demo_world.users["alice"]
    key = f"inline-{rendering.file_anchor(LOOKUP)}-new-5"
    assert drafts.save_draft(user, pull_request, key, "Name the cache") is not None
    query = f"path={LOOKUP}&side=new&line=5"
    posted = alice.post(
        f"{PR}/comments/new?{query}", {"idempotency_key": "k-inline-5", "text": "Name the cache", "pending": "1"}, **HX
    )
    assert posted.status_code == 200 and "review-changed" in posted["HX-Trigger"]
    assert not CommentDraft.objects.filter(user=user, key=key).exists()
    now = alice.post(f"{PR}/comments/new?{query}", {"idempotency_key": "k-inline-6", "text": "Posted now"}, **HX)
    assert "HX-Trigger" not in now


def test_a_composer_for_any_path_has_a_draft_key_the_store_takes(demo_world, alice):
    """A path with spaces or punctuation names its draft by the file's anchor, which the draft store accepts."""
    from bitbucket_sync import drafts

    fragment = alice.get(f"{PR}/comments/new?path=docs/release notes (v2).md&side=new&line=3", **HX).content.decode()
    key = re.search(r'data-draft-key="([^"]+)"', fragment).group(1)
    assert key.startswith("inline-file-") and key.endswith("-new-3")
    assert drafts.key_problem(key) == ""
