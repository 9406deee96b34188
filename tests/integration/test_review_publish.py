"""A review end to end: pending comments added from the page, listed in the review panel to their author only,
published together with a summary and a decision against the emulator over HTTP; a failure part way says what was
published and what is left; a discarded review deletes the drafts; the reviewed commit is recorded."""

import pytest
import requests
from django.test import Client

from bitbucket_sync import actions, drafts, sync
from bitbucket_sync.models import AuditEvent, CommentDraft, Participant, PullRequest

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def bob(act_world):
    client = Client()
    client.force_login(act_world.users["bob"])
    return client


@pytest.fixture
def pr(act_world) -> PullRequest:
    return act_world.open_pr("api-server", author="dave")


def _url(pr: PullRequest, rest: str = "") -> str:
    return f"/acme/api-server/pull-requests/{pr.number}{rest}"


def _emu_pr(act_world, pr):
    return act_world.emulator.world.repository("acme", "api-server").pullrequests[pr.number]


def _add_to_review(bob, pr, text: str, key: str) -> None:
    response = bob.post(_url(pr, "/comment"), {"idempotency_key": key, "text": text, "pending": "1"}, **HX)
    assert response.status_code == 200 and response["HX-Redirect"]


def _drafts(act_world, pr) -> list[int]:
    bob_uuid = act_world.emulator.account("bob")["uuid"]
    return [c.id for c in _emu_pr(act_world, pr).comments if c.pending and c.user_uuid == bob_uuid and not c.deleted]


def _seen_by(act_world, username: str, pr) -> set[int]:
    with act_world.client(username) as client:
        return {c.id for c in client.iter_pull_request_comments("acme", "api-server", pr.number)}


def _panel(bob, pr) -> str:
    response = bob.get(_url(pr, "/my-review"), **HX)
    assert response.status_code == 200
    return response.content.decode()


def _publish(bob, pr, key: str, ids, **fields):
    data = {"idempotency_key": key, "comment": [str(i) for i in ids], "decision": "comment", **fields}
    return bob.post(_url(pr, "/my-review/publish"), data, **HX)


def test_pending_comments_are_listed_to_their_author_then_published_with_request_changes(act_world, bob, pr):
    _add_to_review(bob, pr, "Rename **this**.", "p1")
    _add_to_review(bob, pr, "And that.", "p2")
    ids = _drafts(act_world, pr)
    assert len(ids) == 2
    assert not set(ids) & _seen_by(act_world, "alice", pr)  # nobody else sees a draft

    panel = _panel(bob, pr)
    assert panel.lstrip().startswith('<section id="pr-review"')
    assert "2 pending" in panel and "<strong>this</strong>" in panel and "Finish your review" in panel
    assert all(f'name="comment" value="{i}"' in panel for i in ids)

    drafts.save_draft(act_world.users["bob"], pr, drafts.REVIEW_SUMMARY, "Two nits, otherwise fine.")
    response = _publish(bob, pr, "pub-1", ids, summary="Two nits, otherwise fine.", decision="request_changes")

    assert response.status_code == 200 and response["HX-Redirect"] == _url(pr)
    assert _drafts(act_world, pr) == []
    assert set(ids) <= _seen_by(act_world, "alice", pr)  # published: everybody sees them
    emu = _emu_pr(act_world, pr)
    bob_uuid = act_world.emulator.account("bob")["uuid"]
    assert emu.comments[-1].raw == "Two nits, otherwise fine." and not emu.comments[-1].pending
    assert emu.participants[bob_uuid].state == "changes_requested"
    assert not CommentDraft.objects.filter(user=act_world.users["bob"]).exists()  # the summary was posted
    pr.refresh_from_db()
    mine = Participant.objects.get(pull_request=pr, account__bitbucket_uuid=bob_uuid)
    assert mine.state == "changes_requested" and mine.reviewed_commit == pr.source_commit
    published = AuditEvent.objects.get(action="pull_request.review_publish")
    assert published.result == "success" and published.details["published"] == ids
    assert published.details["summary_comment"] == emu.comments[-1].id
    assert AuditEvent.objects.get(action="pull_request.request_changes").result == "success"
    assert "pending" not in _panel(bob, pr).split("</h2>")[0]  # the panel is back to "Start a review"


def test_publish_twice_with_the_same_key_acts_once(act_world, bob, pr):
    _add_to_review(bob, pr, "Once.", "p1")
    ids = _drafts(act_world, pr)
    before = len(_emu_pr(act_world, pr).comments)

    first = _publish(bob, pr, "pub-twice", ids, summary="Summary once.")
    second = _publish(bob, pr, "pub-twice", ids, summary="Summary once.")

    assert first["HX-Redirect"] and second["HX-Redirect"]
    assert len(_emu_pr(act_world, pr).comments) == before + 1  # one summary comment, not two
    assert AuditEvent.objects.filter(action="pull_request.review_publish").count() == 1


def test_a_failure_midway_says_what_was_published_and_what_is_left(act_world, bob, pr):
    for n in range(3):
        _add_to_review(bob, pr, f"Draft {n}.", f"p{n}")
    ids = _drafts(act_world, pr)
    bob_uuid = act_world.emulator.account("bob")["uuid"]
    before = _emu_pr(act_world, pr).participants[bob_uuid].state
    assert before != "changes_requested"
    path = f"/2.0/repositories/acme/api-server/pullrequests/{pr.number}/comments/{ids[1]}"
    faults = f"{act_world.emulator.base_url}/_emulator/faults"
    requests.post(faults, json={"every": 1, "kind": "500", "path": path}, timeout=5)
    try:
        response = _publish(bob, pr, "pub-fail", ids, summary="My summary.", decision="request_changes")
    finally:
        requests.delete(faults, timeout=5)

    html = response.content.decode()
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert f"1 comment (#{ids[0]}) is published." in html
    assert f"2 comments still pending (#{ids[1]}, #{ids[2]})" in html
    assert "your summary not posted" in html and "no decision recorded" in html
    assert ">My summary.</textarea>" in html  # the summary is kept
    assert _drafts(act_world, pr) == ids[1:]  # nothing lost: the rest is still pending, and listed
    assert all(f'name="comment" value="{i}"' in html for i in ids[1:])
    assert f'name="comment" value="{ids[0]}"' not in html
    assert _emu_pr(act_world, pr).participants[bob_uuid].state == before  # no decision sent
    event = AuditEvent.objects.get(action="pull_request.review_publish")
    assert event.result == "failure" and event.details["published"] == ids[:1] and event.details["left"] == ids[1:]

    # Publishing again sends only the rest.
    again = _publish(bob, pr, "pub-again", ids[1:], summary="My summary.", decision="request_changes")
    assert again["HX-Redirect"]
    assert _drafts(act_world, pr) == []
    assert _emu_pr(act_world, pr).participants[bob_uuid].state == "changes_requested"


def test_a_refused_decision_after_publishing_does_not_offer_the_summary_again(act_world):
    """Bitbucket refuses an author's approval of their own pull request: the comments and summary are out, the
    decision is not, and the panel says so without the posted summary (publishing again would post it twice)."""
    alice = act_world.users["alice"]
    act_world.emulator.world.commit_files("acme", "api-server", "feature/own", "alice", {"o.md": "o\n"}, "Own")
    sync.upsert_branch(
        repository=act_world.repo("api-server"),
        record=act_world.client("alice").get_branch("acme", "api-server", "feature/own"),
    )
    pr = actions.open_pull_request(
        user=alice, repository=act_world.repo("api-server"), source="feature/own", destination="main", title="Own"
    )
    client = Client()
    client.force_login(alice)
    client.post(_url(pr, "/comment"), {"idempotency_key": "a1", "text": "Note to self.", "pending": "1"}, **HX)
    alice_uuid = act_world.emulator.account("alice")["uuid"]
    ids = [c.id for c in _emu_pr(act_world, pr).comments if c.pending and c.user_uuid == alice_uuid]
    assert len(ids) == 1

    html = _publish(client, pr, "own", ids, summary="Posted once.", decision="approve").content.decode()

    assert f"1 comment (#{ids[0]}) and your summary are published." in html
    assert "Your decision (approve) was not recorded" in html and "approve your own" in html
    assert ">Posted once.</textarea>" not in html
    assert [c.raw for c in _emu_pr(act_world, pr).comments if not c.pending] == ["Note to self.", "Posted once."]


def test_discard_asks_naming_how_many_then_deletes_the_drafts(act_world, bob, pr):
    _add_to_review(bob, pr, "Never mind 1.", "p1")
    _add_to_review(bob, pr, "Never mind 2.", "p2")
    ids = _drafts(act_world, pr)
    drafts.save_draft(act_world.users["bob"], pr, drafts.REVIEW_SUMMARY, "half a summary")
    data = {"idempotency_key": "d1", "comment": [str(i) for i in ids]}

    asked = bob.post(_url(pr, "/my-review/discard"), data, **HX).content.decode()
    assert "deletes your 2 pending comments" in asked and "Discard 2 pending comments" in asked
    assert _drafts(act_world, pr) == ids  # nothing sent yet

    done = bob.post(_url(pr, "/my-review/discard"), {**data, "idempotency_key": "d2", "confirmed": "1"}, **HX)
    assert done["HX-Redirect"] == _url(pr)
    assert _drafts(act_world, pr) == []
    assert not set(ids) & _seen_by(act_world, "alice", pr)
    assert drafts.draft_text(act_world.users["bob"], pr, drafts.REVIEW_SUMMARY) == ""
    assert AuditEvent.objects.get(action="pull_request.review_discard").details["deleted"] == ids


def test_approve_records_the_commit_reviewed_even_over_an_older_review(act_world, pr):
    bob = act_world.users["bob"]
    actions.request_changes(user=bob, pull_request=pr)
    mine = Participant.objects.get(pull_request=pr, account=act_world.credentials["bob"].account)
    Participant.objects.filter(pk=mine.pk).update(reviewed_commit="0" * 40)  # given on an older commit

    actions.approve(user=bob, pull_request=pr)

    mine.refresh_from_db()
    pr.refresh_from_db()
    assert mine.state == "approved" and mine.reviewed_commit == pr.source_commit != "0" * 40
    event = AuditEvent.objects.filter(action="pull_request.approve").latest("pk")
    assert event.details["reviewed_commit"] == pr.source_commit


def test_general_comment_clears_its_saved_draft(act_world, bob, pr):
    user = act_world.users["bob"]
    drafts.save_draft(user, pr, "general", "About to send")
    response = bob.post(_url(pr, "/comment"), {"idempotency_key": "c1", "text": "About to send"}, **HX)
    assert response["HX-Redirect"]
    assert drafts.draft_text(user, pr, "general") == ""


def test_nothing_to_publish_is_said_plainly(act_world, bob, pr):
    html = _publish(bob, pr, "empty", []).content.decode()
    assert "nothing to publish" in html
    assert not AuditEvent.objects.filter(action="pull_request.review_publish").exists()


def test_the_page_loads_the_panel_and_its_boxes_autosave(act_world, bob, pr):
    page = bob.get(_url(pr)).content.decode()
    assert f'hx-get="{_url(pr)}/my-review" hx-trigger="discussion-read from:body' in page
    assert f'data-draft-key="general" data-draft-url="{_url(pr)}/drafts"' in page
    assert 'name="pending" value="1"' in page  # "Add to review" on the general box
    assert "js/drafts." in page

    panel = _panel(bob, pr)
    assert "Start a review" in panel and '<details class="review-box">' in panel  # compact: closed, nothing pending
    assert f'data-draft-key="review-summary" data-draft-url="{_url(pr)}/drafts"' in panel

    drafts.save_draft(act_world.users["bob"], pr, drafts.REVIEW_SUMMARY, "Begun.")
    started = _panel(bob, pr)
    assert '<details class="review-box" open>' in started and ">Begun.</textarea>" in started


def test_the_panel_reads_nothing_more_once_the_page_read_the_discussion(act_world, bob, pr):
    discussion = bob.get(_url(pr, "/activity"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="pr-discussion")
    assert "discussion-read" in discussion["HX-Trigger"]  # the panel loads on it
    act_world.emulator.controls.reset_counts()

    assert "Start a review" in _panel(bob, pr)

    assert act_world.counts()["total"] == 0  # the same cached read, for the same credential
