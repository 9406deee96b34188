"""Comments grouped into review threads: replies under their root, anchors, deleted comments, the viewer's own."""

from datetime import UTC, datetime, timedelta

from bitbucket_sync.client.records import Account, Comment
from dashboard.selectors.threads import NEW, OLD, build_threads

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ALICE = Account(uuid="{a}", type="user", display_name="Alice", account_id="557058:alice")
BOB = Account(uuid="{b}", type="user", display_name="Bob", account_id="557058:bob")


def comment(id, minutes, *, user=ALICE, **kw):
    return Comment(id=id, content=f"c{id}", user=user, created_on=T0 + timedelta(minutes=minutes), **kw)


def test_replies_join_their_root_in_order_and_nested_replies_are_flattened():
    threads = build_threads(
        [
            comment(3, 3, parent_id=2, user=BOB),
            comment(1, 0, inline_path="a.py", inline_to=7),
            comment(2, 1, parent_id=1, user=BOB),
            comment(4, 4),
        ],
        viewer_account_id=BOB.account_id,
    )
    assert [t.id for t in threads.threads] == [1, 4]
    first = threads.threads[0]
    assert [p.id for p in first.replies] == [2, 3]
    assert [p.mine for p in first.posts] == [False, True, True]
    assert (first.path, first.side, first.line) == ("a.py", NEW, 7)
    assert [t.id for t in threads.general] == [4]
    assert threads.by_line("a.py") == {(NEW, 7): [first]}


def test_old_side_ranges_and_outdated_threads_are_kept_apart_from_lines():
    old = comment(1, 0, inline_path="a.py", inline_from=5, inline_start_from=3)
    gone = comment(2, 1, inline_path="a.py", inline_to=9, inline_outdated=True)
    threads = build_threads([old, gone], viewer_account_id=None)
    first, second = threads.threads
    assert (first.side, first.start_line, first.line) == (OLD, 3, 5)
    assert second.outdated
    assert threads.by_line("a.py") == {(OLD, 5): [first]}
    assert threads.on_file("a.py") == [first, second]


def test_a_deleted_root_stays_only_while_it_has_replies():
    threads = build_threads(
        [comment(1, 0, deleted=True), comment(2, 1, parent_id=1), comment(3, 2, deleted=True)],
        viewer_account_id=None,
    )
    assert [t.id for t in threads.threads] == [1]
    assert threads.threads[0].root.comment.deleted


def test_a_reply_whose_root_is_not_listed_is_a_thread_of_its_own():
    threads = build_threads([comment(5, 0, parent_id=99)], viewer_account_id=None)
    assert [t.id for t in threads.threads] == [5]


def test_a_thread_names_its_diff_row_its_lines_and_whether_it_can_be_resolved():
    threads = build_threads(
        [
            comment(1, 0, inline_path="a.py", inline_to=9, inline_start_to=7),
            comment(2, 1, parent_id=1),
            comment(3, 2, pending=True),
        ],
        viewer_account_id=None,
    )
    ranged, draft = threads.threads
    assert ranged.line_anchor == f"L{ranged.file_anchor}-new-9" and ranged.lines == "7\u20139"
    assert threads.thread_of(2) is ranged and threads.thread_of(99) is None
    assert ranged.resolvable and not draft.resolvable  # a draft is nobody's thread to resolve yet
    assert draft.line_anchor == "" and draft.lines == ""


def test_the_thread_partial_marks_outdated_and_draft_threads_and_offers_edit_only_on_ones_own():
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    threads = build_threads(
        [
            comment(1, 0, user=BOB, inline_path="a.py", inline_from=4, inline_outdated=True),
            comment(2, 1, parent_id=1, pending=True),
        ],
        viewer_account_id=ALICE.account_id,
    )
    html = render_to_string(
        "pull_requests/_thread.html#thread",
        {
            "thread": threads.threads[0],
            "workspace": SimpleNamespace(slug="acme"),
            "repository": SimpleNamespace(slug="api"),
            "pull_request": SimpleNamespace(number=4),
            "pr_url": "/acme/api/pull-requests/4",
        },
    )
    assert 'class="badge outdated"' in html and "(old side)" in html and 'class="badge draft"' in html
    assert 'id="edit-text-2"' in html and 'id="edit-text-1"' not in html  # alice wrote only the reply
    assert 'data-draft-key="edit-2"' in html and 'data-draft-key="reply-1"' in html
    assert 'id="task-text-2"' not in html  # a draft is not yet a comment a task can hang on
