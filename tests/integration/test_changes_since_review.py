"""Changes since a reviewer's last review, against the emulator over HTTP: bob approves through bbdash (which
records the commit), the author pushes, and bob's diff offers the changes since (only the pushed commit's) and marks
the files that changed; viewed marks clear when their file changes; a reviewed commit gone after a force push falls
back to all changes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bitbucket_sync import actions, sync
from bitbucket_sync.models import Participant, PullRequest, ViewedFile

pytestmark = pytest.mark.django_db

BRANCH = "feature/since-review"


def _pr(world) -> PullRequest:
    """alice's pull request with two files, bob its reviewer."""
    world.emulator.world.commit_files(
        "acme", "api-server", BRANCH, "alice", {"since/first.py": "one = 1\n", "since/second.py": "two = 2\n"}, "two"
    )
    repository = world.repo("api-server")
    sync.upsert_branch(repository=repository, record=world.client("alice").get_branch("acme", "api-server", BRANCH))
    return actions.open_pull_request(
        user=world.users["alice"],
        repository=repository,
        source=BRANCH,
        destination="main",
        title="Since review",
        reviewers=[world.emulator.account("bob")["uuid"]],
    )


def _push(world, pr: PullRequest, files: dict) -> PullRequest:
    world.emulator.world.commit_files("acme", "api-server", BRANCH, "alice", files, "more")
    record = world.client("alice").get_pull_request("acme", "api-server", pr.number)
    return sync.upsert_pull_request(repository=pr.repository, record=record)


def _diff(client, pr: PullRequest, **params) -> str:
    url = reverse("pull_request_section", args=["acme", "api-server", pr.number, "diff"])
    response = client.get(url, params, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def _files(html: str) -> list[str]:
    return re.findall(r'<details class="diff-file"[^>]*>\s*<summary><span class="mono">([^<]+)</span>', html)


def _fingerprint(html: str, path: str) -> str:
    match = re.search(
        r'name="path" value="' + re.escape(path) + r'"><input type="hidden" name="fingerprint" value="([0-9a-f]{64})"',
        html,
    )
    assert match, f"no viewed mark for {path}"
    return match.group(1)


@pytest.fixture
def bob(act_world, client):
    client.force_login(act_world.users["bob"])
    return client


def test_approving_records_the_commit_then_a_push_offers_only_its_changes(act_world, bob):
    pr = _pr(act_world)
    reviewed = pr.source_commit
    pr = actions.approve(user=act_world.users["bob"], pull_request=pr)
    assert Participant.objects.get(pull_request=pr, account__nickname__iexact="bob").reviewed_commit == reviewed
    assert "Changes since your last review" not in _diff(bob, pr)

    pr = _push(act_world, pr, {"since/second.py": "two = 22\n", "since/third.py": "three = 3\n"})
    assert pr.source_commit != reviewed
    everything = _diff(bob, pr)
    assert f"?since={reviewed}" in everything
    assert f'Changes since your last review (<span class="mono">{reviewed[:7]}</span>, 1 commit ago)' in everything
    assert sorted(_files(everything)) == ["since/first.py", "since/second.py", "since/third.py"]
    marked = re.findall(r'<span class="mono">([^<]+)</span>[^\n]*?changed since your review', everything)
    assert sorted(marked) == ["since/second.py", "since/third.py"]

    act_world.reset_counts()
    since = _diff(bob, pr, since=reviewed)
    assert sorted(_files(since)) == ["since/second.py", "since/third.py"]
    code = re.sub(r"<[^>]+>", "", since)
    assert "two = 22" in code and "three = 3" in code and "one = 1" not in code
    assert 'aria-current="true">Changes since your last review' in since
    assert act_world.counts()["total"] > 0
    # Cached by the two hashes (and the activity with the discussion): a second look sends nothing.
    act_world.reset_counts()
    _diff(bob, pr, since=reviewed)
    assert act_world.counts()["total"] == 0


def test_viewed_marks_clear_when_their_file_changes(act_world, bob):
    pr = _pr(act_world)
    html = _diff(bob, pr)
    url = reverse("pull_request_file_viewed", args=["acme", "api-server", pr.number])
    for path in ("since/first.py", "since/second.py"):
        response = bob.post(
            url, {"path": path, "fingerprint": _fingerprint(html, path), "viewed": "on"}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200 and "checked" in response.content.decode()
    html = _diff(bob, pr)
    assert "2 of 2 files viewed" in html and html.count(" checked>") == 2

    pr = _push(act_world, pr, {"since/second.py": "two = 22\n"})
    html = _diff(bob, pr)
    assert "1 of 2 files viewed" in html and html.count(" checked>") == 1
    assert re.search(r'value="since/first.py">.*?checked', html)

    # Unchecking removes the mark.
    bob.post(url, {"path": "since/first.py", "fingerprint": _fingerprint(html, "since/first.py")})
    assert not ViewedFile.objects.filter(pull_request=pr, path="since/first.py").exists()


def test_reviewed_commit_gone_after_a_force_push_falls_back_to_all_changes(act_world, bob):
    pr = _pr(act_world)
    reviewed = pr.source_commit
    pr = actions.approve(user=act_world.users["bob"], pull_request=pr)
    pr = _push(act_world, pr, {"since/third.py": "three = 3\n"})
    with act_world.emulator.world.lock:
        # What a force push and Bitbucket's clean-up leave: the reviewed commit is no longer in the repository.
        commits = act_world.emulator.world.repository("acme", "api-server").commits
        commits.pop(next(h for h in commits if h.startswith(reviewed)))

    html = _diff(bob, pr, since=reviewed)
    assert "is no longer in the repository" in html
    assert "since/first.py" in _files(html) and "Changes since your last review (" not in html


def test_a_review_given_in_bitbucket_is_read_from_the_activity_and_remembered(act_world, bob):
    pr = _pr(act_world)
    first = pr.source_commit
    pr = actions.approve(user=act_world.users["bob"], pull_request=pr)
    pr = _push(act_world, pr, {"since/third.py": "three = 3\n"})
    assert "Changes since your last review (" in _diff(bob, pr)

    # bob requests changes on the new commit in Bitbucket itself; the mirror still holds the approval's commit.
    act_world.client("bob").request_changes("acme", "api-server", pr.number)
    record = act_world.client("alice").get_pull_request("acme", "api-server", pr.number)
    pr = sync.upsert_pull_request(repository=pr.repository, record=record)
    participant = Participant.objects.get(pull_request=pr, account__nickname__iexact="bob")
    assert participant.state == "changes_requested" and participant.reviewed_commit == first

    html = _diff(bob, pr)
    assert "Changes since your last review (" not in html and "changed since your review" not in html
    participant.refresh_from_db()
    assert participant.reviewed_commit == pr.source_commit


def test_requesting_changes_after_a_push_moves_the_reviewed_commit(act_world, bob):
    pr = _pr(act_world)
    pr = actions.approve(user=act_world.users["bob"], pull_request=pr)
    pr = _push(act_world, pr, {"since/third.py": "three = 3\n"})
    seen = pr.source_commit

    pr = actions.request_changes(user=act_world.users["bob"], pull_request=pr)

    participant = Participant.objects.get(pull_request=pr, account__nickname__iexact="bob")
    assert (participant.state, participant.reviewed_commit) == ("changes_requested", seen)
    assert not participant.needs_review
