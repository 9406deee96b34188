"""Build status webhooks (`repo:commit_status_created/updated`) applied to a mirror of the emulator's world.

As in test_webhook_apply, the emulator builds, signs and logs each delivery but drops it; the test records and
applies it itself. The live path (a real worker, the emulator delivering) is in test_webhook_live.
"""

from __future__ import annotations

import json

import pytest

from bitbucket_emulator.world import statuses as emulated
from bitbucket_sync import webhooks
from bitbucket_sync.models import BuildStatus, PullRequest
from tests.integration.test_webhook_apply import _apply, _emitted

pytestmark = pytest.mark.django_db

REPO = "api-server"
FAILING, RUNNING = 4, 5  # demo pull requests of api-server: a failed build, a running one


def _run_build(world, number: int, state: str, key: str = "ci-build", **extra) -> None:
    emulated.set_status(world.emulator.world, "acme", REPO, key, state, pr_id=number, **extra)


def _mirrored(pr: PullRequest) -> dict[str, str]:
    return dict(BuildStatus.objects.filter(pull_request=pr).values_list("key", "state"))


def test_webhooks_subscribe_to_build_status_events():
    assert {"repo:commit_status_created", "repo:commit_status_updated"} <= set(webhooks.EVENTS)


def test_webhook_finished_build_reaches_the_mirror_without_requests(hooked):
    emu = hooked.emulator
    running = hooked.pr(REPO, RUNNING)
    assert running.build_state == "INPROGRESS"
    start = len(emu.webhooks.log)
    _run_build(hooked, RUNNING, "FAILED")
    (delivery,) = _emitted(hooked, start, "repo:commit_status_updated")
    emu.controls.reset_counts()
    applied = _apply(hooked, delivery)
    assert applied.result == "applied", applied.message
    assert emu.controls.counts()["total"] == 0  # the delivery carries the status
    finished = hooked.pr(REPO, RUNNING)
    assert finished.build_state == "FAILED" and _mirrored(finished) == {"ci-build": "FAILED"}
    assert finished.turn == "author"  # a failed build sends it back to its author
    row = BuildStatus.objects.get(pull_request=finished, key="ci-build")
    assert row.commit_hash == finished.source_commit  # the listing's form: the next full read changes nothing


def test_webhook_new_build_on_a_new_tip_reads_the_pull_requests_statuses_once(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    emu.world.commit_files("acme", REPO, hooked.pr(REPO, FAILING).source_branch, "bob", {"fix.md": "fixed\n"})
    (updated,) = _emitted(hooked, start, "pullrequest:updated")
    assert _apply(hooked, updated).result == "applied"
    moved = hooked.pr(REPO, FAILING)
    assert moved.statuses_synced_for != moved.source_commit  # the old tip's statuses, not this one's

    start = len(emu.webhooks.log)
    _run_build(hooked, FAILING, "INPROGRESS", key="ci-build-2")
    (created,) = _emitted(hooked, start, "repo:commit_status_created")
    emu.controls.reset_counts()
    applied = _apply(hooked, created)
    assert applied.result == "applied" and "read from Bitbucket" in applied.message, applied.message
    counts = emu.controls.counts()
    assert list(counts["by_endpoint"]) == [
        "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/statuses"
    ]
    assert counts["total"] == 1
    fresh = hooked.pr(REPO, FAILING)
    assert _mirrored(fresh) == {"ci-build-2": "INPROGRESS"}  # the old tip's failed build is gone
    assert fresh.statuses_synced_for == fresh.source_commit and fresh.build_state == "INPROGRESS"

    # The next one for this tip is applied as delivered.
    start = len(emu.webhooks.log)
    _run_build(hooked, FAILING, "SUCCESSFUL", key="ci-build-2")
    (done,) = _emitted(hooked, start, "repo:commit_status_updated")
    emu.controls.reset_counts()
    assert _apply(hooked, done).result == "applied"
    assert emu.controls.counts()["total"] == 0
    assert hooked.pr(REPO, FAILING).build_state == "SUCCESSFUL"


def test_webhook_status_with_the_hash_only_in_its_commit_link(hooked):
    """The documented example body: no `commit` object and no `refname`; the hash is read from links.commit."""
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    _run_build(hooked, RUNNING, "SUCCESSFUL")
    (delivery,) = _emitted(hooked, start, "repo:commit_status_updated")
    payload = json.loads(delivery.body)
    del payload["commit_status"]["commit"], payload["commit_status"]["refname"]
    applied = _apply(hooked, delivery, payload=payload)
    assert applied.result == "applied", applied.message
    assert hooked.pr(REPO, RUNNING).build_state == "SUCCESSFUL"


def test_webhook_status_for_no_pull_request_or_another_branch_is_ignored(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    emulated.set_status(emu.world, "acme", REPO, "ci-build", "FAILED", commit="main")
    (on_main,) = _emitted(hooked, start, "repo:commit_status_created")
    assert _apply(hooked, on_main).result == "ignored"

    start = len(emu.webhooks.log)
    _run_build(hooked, RUNNING, "FAILED", key="release-ci", refname="release/1.4")  # the tip, built for another branch
    (elsewhere,) = _emitted(hooked, start, "repo:commit_status_created")
    ignored = _apply(hooked, elsewhere)
    assert ignored.result == "ignored", ignored.message
    assert hooked.pr(REPO, RUNNING).build_state == "INPROGRESS"


def test_webhook_status_delivered_out_of_order_keeps_the_newer_state(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    _run_build(hooked, RUNNING, "FAILED")
    emu.world.time_travel(5)
    _run_build(hooked, RUNNING, "SUCCESSFUL")
    first, second = _emitted(hooked, start, "repo:commit_status_updated")
    assert _apply(hooked, second).result == "applied"
    late = _apply(hooked, first)
    assert late.result == "applied" and "unchanged" in late.message, late.message
    assert hooked.pr(REPO, RUNNING).build_state == "SUCCESSFUL"
