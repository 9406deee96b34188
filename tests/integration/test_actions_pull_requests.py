"""Pull request actions against the emulator over HTTP: open, update, review, comment, merge, decline, and refusals."""

import time

import pytest
import requests

from bitbucket_sync import actions, sync
from bitbucket_sync.models import AuditEvent, Branch, Participant, PullRequest

pytestmark = pytest.mark.django_db

MERGE_STRATEGIES = (
    "merge_commit",
    "squash",
    "fast_forward",
    "squash_fast_forward",
    "rebase_fast_forward",
    "rebase_merge",
)


def _fresh_pr(act_world, *, branch="feature/fresh", user="alice", files=None):
    """A new branch off main with one commit (by the emulator's world, as a push would) and a PR opened by the
    service, so every strategy (fast-forward included) can merge it."""
    act_world.emulator.world.commit_files(
        "acme",
        "api-server",
        branch,
        "carol",
        files or {f"notes/{branch.replace('/', '-')}.md": "A note\n"},
        "Add a note",
    )
    repository = act_world.repo("api-server")
    sync.upsert_branch(repository=repository, record=act_world.client("alice").get_branch("acme", "api-server", branch))
    return actions.open_pull_request(
        user=act_world.users[user],
        repository=act_world.repo("api-server"),
        source=branch,
        destination="main",
        title=f"Fresh {branch}",
    )


def _emu_pr(act_world, pr):
    return act_world.emulator.world.repository("acme", pr.repository.slug).pullrequests[pr.number]


def test_open_pull_request_with_reviewers_close_and_draft(act_world):
    bob_uuid = act_world.emulator.account("bob")["uuid"]
    act_world.emulator.world.commit_files("acme", "api-server", "feature/opened", "alice", {"x.txt": "x\n"}, "x")

    pr = actions.open_pull_request(
        user=act_world.users["alice"],
        repository=act_world.repo("api-server"),
        source="feature/opened",
        destination="main",
        title="Opened here",
        description="Body",
        reviewers=[bob_uuid],
        close_source_branch=True,
        draft=True,
    )

    emu = _emu_pr(act_world, pr)
    assert (emu.title, emu.description, emu.draft, emu.close_source_branch) == ("Opened here", "Body", True, True)
    assert (pr.title, pr.draft, pr.close_source_branch, pr.state) == ("Opened here", True, True, "OPEN")
    assert pr.participants.get().account.bitbucket_uuid == bob_uuid
    event = AuditEvent.objects.get(action="pull_request.open")
    assert event.result == "success" and event.target.startswith(f"#{pr.number}")


def test_update_pull_request_title_reviewers_destination(act_world):
    pr = _fresh_pr(act_world)
    carol_uuid = act_world.emulator.account("carol")["uuid"]

    updated = actions.update_pull_request(
        user=act_world.users["alice"],
        pull_request=pr,
        title="New title",
        description="New body",
        reviewers=[carol_uuid],
        destination="release/1.4",
    )

    emu = _emu_pr(act_world, pr)
    assert (emu.title, emu.description, emu.dest_branch) == ("New title", "New body", "release/1.4")
    assert (updated.title, updated.destination_branch) == ("New title", "release/1.4")
    assert [p.account.bitbucket_uuid for p in updated.participants.filter(role="REVIEWER")] == [carol_uuid]
    assert AuditEvent.objects.filter(action="pull_request.update", result="success").count() == 1


def test_approve_request_changes_and_undo_update_participants(act_world):
    bob = act_world.users["bob"]
    bob_uuid = act_world.emulator.account("bob")["uuid"]
    pr = _fresh_pr(act_world)

    actions.approve(user=bob, pull_request=pr)
    part = Participant.objects.get(pull_request=pr, account__bitbucket_uuid=bob_uuid)
    assert part.approved and part.state == "approved"

    actions.unapprove(user=bob, pull_request=pr)
    part.refresh_from_db()
    assert not part.approved

    actions.request_changes(user=bob, pull_request=pr)
    part.refresh_from_db()
    assert part.state == "changes_requested"

    actions.remove_request_changes(user=bob, pull_request=pr)
    part.refresh_from_db()
    assert part.state == ""
    assert list(AuditEvent.objects.order_by("at").values_list("action", flat=True))[-4:] == [
        "pull_request.approve",
        "pull_request.unapprove",
        "pull_request.request_changes",
        "pull_request.remove_request_changes",
    ]


def test_approve_own_pull_request_refused_in_plain_words(act_world):
    pr = _fresh_pr(act_world)
    with pytest.raises(actions.ActionFailed) as failure:
        actions.approve(user=act_world.users["alice"], pull_request=pr)
    assert "approve your own" in failure.value.message
    assert AuditEvent.objects.get(action="pull_request.approve").result == "failure"


def test_comment_posts_and_counts(act_world):
    pr = _fresh_pr(act_world)
    comment_id = actions.comment(user=act_world.users["bob"], pull_request=pr, text="Reads well.")
    emu = _emu_pr(act_world, pr)
    assert [c.id for c in emu.comments] == [comment_id]
    pr.refresh_from_db()
    assert pr.comment_count == 1


def test_decline_with_reason_posts_comment(act_world):
    pr = _fresh_pr(act_world)

    declined = actions.decline_pull_request(user=act_world.users["alice"], pull_request=pr, reason="Not needed.")

    emu = _emu_pr(act_world, pr)
    assert emu.state == "DECLINED"
    assert [c.raw for c in emu.comments] == ["Declined: Not needed."]
    assert declined.pull_request.state == PullRequest.State.DECLINED
    assert declined.note == "Reason posted as a comment."
    event = AuditEvent.objects.get(action="pull_request.decline")
    assert event.result == "success" and event.details["reason"] == "Not needed."


@pytest.mark.parametrize("strategy", MERGE_STRATEGIES)
def test_merge_each_strategy_updates_pr_branches_and_audit(act_world, strategy):
    pr = _fresh_pr(act_world, branch=f"feature/{strategy}")
    repo = act_world.repo("api-server")

    outcome = actions.merge_pull_request(
        user=act_world.users["alice"],
        pull_request=pr,
        strategy=strategy,
        close_source_branch=True,
        expected_source_commit=pr.source_commit,
        message=actions.default_merge_message(pr, strategy),
        wait_seconds=5,
    )

    assert not outcome.pending
    emu_repo = act_world.emulator.world.repository("acme", "api-server")
    emu = emu_repo.pullrequests[pr.number]
    assert emu.state == "MERGED"
    assert outcome.pull_request.state == "MERGED"
    assert outcome.pull_request.merge_commit and emu_repo.branches["main"].startswith(
        outcome.pull_request.merge_commit[:12]
    )
    assert Branch.objects.get(repository=repo, name="main").target_hash == emu_repo.branches["main"]
    assert Branch.objects.get(repository=repo, name=f"feature/{strategy}").removed_at is not None
    event = AuditEvent.objects.get(action="pull_request.merge")
    assert event.result == "success" and event.details["strategy"] == strategy


def test_merge_options_offer_default_first(act_world):
    pr = _fresh_pr(act_world)
    options = actions.merge_options(user=act_world.users["alice"], pull_request=pr)
    assert options.strategies[0] == options.default == "merge_commit"
    assert set(options.strategies) == set(MERGE_STRATEGIES)
    assert options.messages["squash"].startswith(f"Fresh feature/fresh (pull request #{pr.number})")
    assert options.messages["fast_forward"] == ""


def test_merge_moved_source_refuses_and_shows_change(act_world):
    pr = _fresh_pr(act_world)
    loaded_at = pr.source_commit
    act_world.emulator.world.commit_files(
        "acme", "api-server", "feature/fresh", "bob", {"late.txt": "late!\n"}, "Late change"
    )

    with pytest.raises(actions.SourceMoved) as moved:
        actions.merge_pull_request(
            user=act_world.users["alice"], pull_request=pr, strategy="merge_commit", expected_source_commit=loaded_at
        )

    assert _emu_pr(act_world, pr).state == "OPEN"
    assert "late!" in moved.value.details["diff"]
    pr.refresh_from_db()
    assert not pr.source_commit.startswith(loaded_at[:12])  # the mirror took the fresh read
    assert AuditEvent.objects.get(action="pull_request.merge").result == "failure"


def test_merge_202_polled_until_success(act_world):
    pr = _fresh_pr(act_world)
    act_world.emulator.app.merge_task_delay = 1.0
    alice = act_world.users["alice"]

    outcome = actions.merge_pull_request(
        user=alice, pull_request=pr, strategy="squash", expected_source_commit=pr.source_commit
    )
    assert outcome.pending and "/merge/task-status/" in outcome.task_url
    accepted = AuditEvent.objects.get(action="pull_request.merge")  # written at once, so it is never missing
    assert accepted.details["running"] is True and "is running it" in accepted.message

    checks = 0
    while outcome.pending:
        checks += 1
        assert checks < 40
        time.sleep(0.1)
        outcome = actions.merge_status(user=alice, pull_request=pr, task_url=outcome.task_url, strategy="squash")

    assert checks > 1
    assert outcome.pull_request.state == "MERGED"
    event = AuditEvent.objects.get(action="pull_request.merge")  # the same event, now with the outcome
    assert (event.pk, event.result, event.details["running"]) == (accepted.pk, "success", False)
    assert event.message.startswith(f"Merged pull request #{pr.number} (squash)")


def test_merge_409_ref_moved_explained(act_world):
    pr = _fresh_pr(act_world)
    # Bitbucket's 409: a ref moved while it was merging (the emulator's fault for it).
    requests.post(
        f"{act_world.emulator.base_url}/_emulator/faults",
        json={
            "every": 1,
            "kind": "409",
            "path": f"/2.0/repositories/acme/api-server/pullrequests/{pr.number}/merge",
        },
        timeout=5,
    )

    with pytest.raises(actions.ActionFailed) as failure:
        actions.merge_pull_request(
            user=act_world.users["alice"],
            pull_request=pr,
            strategy="merge_commit",
            expected_source_commit=pr.source_commit,
            wait_seconds=5,
        )

    assert failure.value.kind == "moved" and "nothing was merged" in failure.value.message
    assert failure.value.error.status == 409
    assert _emu_pr(act_world, pr).state == "OPEN"
    assert AuditEvent.objects.filter(action="pull_request.merge", result="failure").count() == 1


def test_merge_409_during_bitbucket_task_explained(act_world):
    pr = _fresh_pr(act_world)
    emu_repo = act_world.emulator.world.repository("acme", "api-server")
    # The ref moving while Bitbucket runs the merge task: the branch changes under the pull request.
    with act_world.emulator.world.lock:
        emu_repo.branches["feature/fresh"] = emu_repo.branches["main"]

    with pytest.raises(actions.ActionFailed) as failure:
        actions.merge_pull_request(
            user=act_world.users["alice"],
            pull_request=pr,
            strategy="merge_commit",
            expected_source_commit=pr.source_commit,
            wait_seconds=5,
        )

    assert failure.value.kind == "moved" and failure.value.error.status == 409
    assert _emu_pr(act_world, pr).state == "OPEN"


def test_merge_555_explained_then_retry_succeeds(act_world):
    pr = _fresh_pr(act_world)
    base = act_world.emulator.base_url
    requests.post(
        f"{base}/_emulator/faults",
        json={
            "every": 1,
            "kind": "555",
            "path": f"/2.0/repositories/acme/api-server/pullrequests/{pr.number}/merge",
        },
        timeout=5,
    )

    with pytest.raises(actions.ActionFailed) as failure:
        actions.merge_pull_request(
            user=act_world.users["alice"],
            pull_request=pr,
            strategy="merge_commit",
            expected_source_commit=pr.source_commit,
        )
    assert failure.value.kind == "timeout" and "timed out" in failure.value.message

    requests.delete(f"{base}/_emulator/faults", timeout=5)
    outcome = actions.merge_pull_request(
        user=act_world.users["alice"],
        pull_request=pr,
        strategy="merge_commit",
        expected_source_commit=pr.source_commit,
        wait_seconds=5,
    )
    assert outcome.pull_request.state == "MERGED"
    assert list(AuditEvent.objects.order_by("at").values_list("result", flat=True)) == [
        "success",
        "failure",
        "success",  # the open, the timed-out merge, the retried merge
    ]


def test_merge_conflicting_pull_request_names_files(act_world):
    pr = act_world.open_pr("api-server", conflicting=True)

    with pytest.raises(actions.MergeConflicts) as conflicts:
        actions.merge_pull_request(
            user=act_world.users["alice"],
            pull_request=pr,
            strategy="merge_commit",
            expected_source_commit=pr.source_commit,
            wait_seconds=5,
        )

    assert conflicts.value.details["paths"] == ["src/api_server/settings.py"]
    assert "src/api_server/settings.py" in conflicts.value.message
    assert _emu_pr(act_world, pr).state == "OPEN"


def test_member_without_write_access_cannot_act_and_nothing_reaches_bitbucket(act_world):
    bob = act_world.users["bob"]
    docs = act_world.repo("docs")  # bob may only read docs
    pr = act_world.open_pr("docs")
    act_world.reset_counts()

    attempts = [
        lambda: actions.create_branch(user=bob, repository=docs, name="feature/nope", target="main"),
        lambda: actions.commit_files(
            user=bob, repository=docs, branch="main", message="m", parent="abc", files={"README.md": "x"}
        ),
        lambda: actions.merge_pull_request(
            user=bob, pull_request=pr, strategy="merge_commit", expected_source_commit=pr.source_commit
        ),
        lambda: actions.decline_pull_request(user=bob, pull_request=pr),
        lambda: actions.open_pull_request(user=bob, repository=docs, source="a", destination="main", title="t"),
    ]
    for attempt in attempts:
        with pytest.raises(actions.ActionRefused) as refused:
            attempt()
        assert "read-only" in refused.value.message and not refused.value.not_visible

    assert act_world.counts()["total"] == 0
    assert AuditEvent.objects.filter(actor=bob, result="failure").count() == len(attempts)
    assert _emu_pr(act_world, pr).state == "OPEN"


def test_member_without_any_access_gets_not_visible(act_world):
    bob = act_world.users["bob"]
    infra = act_world.repo("infra")  # bob has no access at all
    act_world.reset_counts()
    with pytest.raises(actions.ActionRefused) as refused:
        actions.create_branch(user=bob, repository=infra, name="feature/nope", target="main")
    assert refused.value.not_visible
    assert act_world.counts()["total"] == 0
