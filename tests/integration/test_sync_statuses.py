"""Build statuses in the sync, against the emulator over HTTP: a full sync reads every open pull request's, an
incremental one only those whose source commit moved and, once per poll interval, those with a build running; a
failed read deletes nothing, a 429 pauses and resumes without reading anything twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bitbucket_emulator.world import statuses as emulated
from bitbucket_sync import turns
from bitbucket_sync.client import Unavailable
from bitbucket_sync.models import BuildStatus, PullRequest, SyncRun
from bitbucket_sync.sync import engine, statuses
from bitbucket_sync.sync.upserts import Stats
from tests.fixtures.world import DemoWorld

pytestmark = pytest.mark.django_db

STATUSES = "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/statuses"
REPO = "api-server"
PASSING, FAILING, RUNNING, NO_BUILD = 3, 4, 5, 9  # the demo seed's open pull requests of api-server


def status_reads(world: DemoWorld) -> int:
    return world.counts()["by_endpoint"].get(STATUSES, {}).get("status", {}).get("200", 0)


def mirrored(pr: PullRequest) -> dict[str, str]:
    return dict(BuildStatus.objects.filter(pull_request=pr).values_list("key", "state"))


def in_bitbucket(world: DemoWorld, slug: str, number: int) -> dict[str, str]:
    emu = world.emulator.world
    with emu.lock:
        repo = emu.repository("acme", slug)
        return {s.key: s.state for s in emulated.for_pull_request(repo, repo.pullrequests[number])}


def run_build(world: DemoWorld, number: int, state: str, key: str = "ci-build") -> None:
    emulated.set_status(world.emulator.world, "acme", REPO, key, state, pr_id=number)


def push(world: DemoWorld, number: int) -> None:
    emu = world.emulator.world
    with emu.lock:
        branch = emu.repository("acme", REPO).pullrequests[number].source_branch
    emu.commit_files("acme", REPO, branch, "bob", {f"notes/push-{number}.md": "more\n"})


def test_full_sync_reads_every_open_pull_requests_statuses(demo_world: DemoWorld):
    for pr in PullRequest.objects.filter(state="OPEN").select_related("repository"):
        assert mirrored(pr) == in_bitbucket(demo_world, pr.repository.slug, pr.number), pr
        assert pr.statuses_synced_for == pr.source_commit and pr.statuses_synced_at is not None
    failing = demo_world.pr(REPO, FAILING)
    assert failing.build_state == "FAILED"
    row = BuildStatus.objects.get(pull_request=failing, key="ci-build")
    assert (row.name, row.url, row.refname) == (
        "Build #215",
        "https://ci.acme.test/api-server/215",
        failing.source_branch,
    )
    assert row.commit_hash == failing.source_commit and row.updated_on is not None
    assert demo_world.pr(REPO, PASSING).build_state == "SUCCESSFUL"
    assert demo_world.pr(REPO, RUNNING).build_state == "INPROGRESS"
    assert demo_world.pr(REPO, NO_BUILD).build_state == ""
    # The rules saw them: a failed build is the author's to fix.
    assert turns.facts_for([failing])[failing.pk].builds == ("FAILED", "SUCCESSFUL")

    demo_world.reset_counts()
    run = demo_world.sync(SyncRun.Kind.FULL)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert status_reads(demo_world) == PullRequest.objects.filter(state="OPEN").count()  # one request each
    assert "statuses" not in run.stats  # nothing changed, nothing written


def test_incremental_sync_rereads_only_moved_source_commits(demo_world: DemoWorld):
    before = demo_world.pr(REPO, FAILING).statuses_synced_at
    push(demo_world, FAILING)  # a new tip: no build yet
    run_build(demo_world, FAILING, "INPROGRESS", key="ci-build-2")
    run_build(demo_world, PASSING, "FAILED")  # not moved, not running: left for the webhook or the full sync
    demo_world.reset_counts()

    run = demo_world.sync()

    assert run.status == SyncRun.Status.SUCCEEDED
    assert status_reads(demo_world) == 1
    moved = demo_world.pr(REPO, FAILING)
    assert mirrored(moved) == {"ci-build-2": "INPROGRESS"}  # the old tip's keys are gone after a complete listing
    assert moved.build_state == "INPROGRESS" and moved.statuses_synced_for == moved.source_commit
    assert moved.statuses_synced_at > before
    assert run.stats["statuses"] == {"created": 1, "updated": 0, "removed": 2}
    assert mirrored(demo_world.pr(REPO, PASSING)) == {"ci-build": "SUCCESSFUL", "lint": "SUCCESSFUL"}

    demo_world.reset_counts()
    demo_world.sync()
    assert status_reads(demo_world) == 0  # read for this tip, and its build was read less than the interval ago


def test_in_progress_build_polled_then_finished_with_the_interval_respected(demo_world: DemoWorld, settings):
    settings.BBDASH_STATUS_POLL_MINUTES = 5
    running = demo_world.pr(REPO, RUNNING)
    run_build(demo_world, RUNNING, "SUCCESSFUL")
    demo_world.reset_counts()
    demo_world.sync()
    assert status_reads(demo_world) == 0  # read by the full sync moments ago
    assert demo_world.pr(REPO, RUNNING).build_state == "INPROGRESS"

    # Four minutes later: still not due.
    PullRequest.objects.filter(pk=running.pk).update(statuses_synced_at=timezone.now() - timedelta(minutes=4))
    demo_world.sync()
    assert status_reads(demo_world) == 0

    # Past the interval: read once, the build has finished.
    PullRequest.objects.filter(pk=running.pk).update(statuses_synced_at=timezone.now() - timedelta(minutes=6))
    run = demo_world.sync()
    assert status_reads(demo_world) == 1
    finished = demo_world.pr(REPO, RUNNING)
    assert finished.build_state == "SUCCESSFUL" and mirrored(finished) == {"ci-build": "SUCCESSFUL"}
    assert run.stats["statuses"]["updated"] == 1

    # Nothing runs any more: never polled again.
    PullRequest.objects.filter(pk=running.pk).update(statuses_synced_at=timezone.now() - timedelta(hours=1))
    demo_world.sync()
    assert status_reads(demo_world) == 1


def test_failed_status_read_deletes_nothing(demo_world: DemoWorld):
    push(demo_world, FAILING)
    demo_world.sync()  # the new tip has no statuses: a complete, empty listing deletes the old tip's
    assert mirrored(demo_world.pr(REPO, FAILING)) == {} and demo_world.pr(REPO, FAILING).build_state == ""

    passing = demo_world.pr(REPO, PASSING)
    path = f"/2.0/repositories/acme/{REPO}/pullrequests/{PASSING}/statuses"
    demo_world.emulator.controls.set_fault(1, "500", path=path)
    PullRequest.objects.filter(pk=passing.pk).update(statuses_synced_for="0" * 12)
    run_row = SyncRun.objects.create(workspace=demo_world.workspace, kind=SyncRun.Kind.INCREMENTAL)
    with pytest.raises(Unavailable):
        statuses.sync_statuses(
            run=run_row,
            repository=demo_world.repo(REPO),
            client=demo_world.client(),
            full=False,
            stats=Stats(),
        )
    demo_world.emulator.controls.set_fault(None)
    kept = demo_world.pr(REPO, PASSING)
    assert mirrored(kept) == {"ci-build": "SUCCESSFUL", "lint": "SUCCESSFUL"} and kept.build_state == "SUCCESSFUL"
    assert kept.statuses_synced_for == "0" * 12  # not claimed as read


def test_rate_limited_status_reads_pause_and_resume_without_reading_twice(demo_world: DemoWorld):
    emu = demo_world.emulator
    demo_world.reset_counts()
    BuildStatus.objects.all().delete()
    PullRequest.objects.update(build_state="", statuses_synced_for="", statuses_synced_at=None)
    emu.controls.set_rate_limit(4, retry_after=1)  # the listing, a PR listing, then a 429 among the status reads
    run = SyncRun.objects.create(
        workspace=demo_world.workspace,
        kind=SyncRun.Kind.FULL,
        trigger=SyncRun.Trigger.COMMAND,
        credential=demo_world.credential,
    )
    done = engine.run_inline(run=run, sleep=lambda seconds: emu.controls.set_rate_limit(None))
    assert done.status == SyncRun.Status.SUCCEEDED, done.errors
    assert done.rate_limit_pauses >= 1
    open_prs = PullRequest.objects.filter(state="OPEN").select_related("repository")
    assert status_reads(demo_world) == open_prs.count()  # each read once, the 429'd one again after the pause
    assert demo_world.counts()["by_endpoint"][STATUSES]["status"].get("429") == 1
    for pr in open_prs:
        assert mirrored(pr) == in_bitbucket(demo_world, pr.repository.slug, pr.number), pr


def test_a_changed_build_moves_the_pull_requests_synced_at_and_an_unchanged_one_does_not(demo_world: DemoWorld):
    running = demo_world.pr(REPO, RUNNING)
    passing = demo_world.pr(REPO, PASSING)
    PullRequest.objects.filter(pk=running.pk).update(statuses_synced_at=timezone.now() - timedelta(minutes=6))
    run_build(demo_world, RUNNING, "FAILED")
    demo_world.sync()
    assert demo_world.pr(REPO, RUNNING).synced_at > running.synced_at  # open pages see the build finish
    demo_world.sync(SyncRun.Kind.FULL)
    assert demo_world.pr(REPO, PASSING).synced_at == passing.synced_at  # read again, nothing changed
