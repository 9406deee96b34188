"""An interrupted pull request listing resumes at the page where it stopped, against the emulator over HTTP.

One repository with 120 pull requests is three pages of the listing (50 a page). The emulator's rate limit answers
429 after the repository listing and the first page, the inline run waits (the wait lifts the limit) and tries the
repository again; the saved link makes that attempt read pages two and three only.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bitbucket_sync.client import RateLimited
from bitbucket_sync.models import PullRequest, Repository, SyncRun
from bitbucket_sync.sync import engine
from tests.integration.test_sync_engine import emulator_export, mirror_export, setup_workspace

pytestmark = pytest.mark.django_db

PR_LIST = "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests"
PULL_REQUESTS = 120  # three pages of 50


@pytest.fixture
def encryption_key(settings):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]


@pytest.fixture
def emu(emulator_factory):
    return emulator_factory(seed="scale", repos=1, pull_requests=PULL_REQUESTS, members=3, branches=1)


def pr_list_statuses(emu) -> dict[str, int]:
    return emu.controls.counts()["by_endpoint"].get(PR_LIST, {}).get("status", {})


def new_run(workspace, kind=SyncRun.Kind.INCREMENTAL) -> SyncRun:
    return SyncRun.objects.create(
        workspace=workspace, kind=kind, trigger=SyncRun.Trigger.COMMAND, credential=workspace.sync_credential
    )


def test_sync_resume_after_429_reads_the_remaining_pages_only(emu, encryption_key):
    workspace = setup_workspace(emu)
    emu.controls.reset_counts()
    # Requests under /2.0/repositories/: the repository listing, then pull request page 1; page 2 gets the 429.
    emu.controls.set_rate_limit(2, retry_after=1)
    paused_with: list[dict] = []

    def on_pause(run, paused):
        repository = Repository.objects.get(workspace=workspace)
        paused_with.append(
            {
                "reason": paused.reason,
                "resume_url": repository.pull_requests_resume_url,
                "synced_through": repository.pull_requests_synced_through,
                "mirrored": PullRequest.objects.count(),
            }
        )

    run = engine.run_inline(
        run=new_run(workspace), sleep=lambda seconds: emu.controls.set_rate_limit(None), on_pause=on_pause
    )

    assert run.status == SyncRun.Status.SUCCEEDED, (run.message, run.errors)
    [pause] = paused_with
    assert "429" in pause["reason"]
    assert pause["resume_url"].startswith(emu.api_url) and "page=2" in pause["resume_url"]
    assert pause["synced_through"] is None  # the mark waits for the listing to complete
    assert pause["mirrored"] == 50
    # Three pages read once each, plus the one request refused with 429: not page one a second time.
    assert pr_list_statuses(emu) == {"200": 3, "429": 1}
    assert mirror_export() == emulator_export(emu)
    repository = Repository.objects.get(workspace=workspace)
    with emu.world.lock:
        newest = max(pr.updated_on for pr in emu.world.repository("acme", repository.slug).pullrequests.values())
    assert repository.pull_requests_synced_through == newest  # the newest of the whole listing, page 1 included
    assert repository.pull_requests_resume_url == ""
    assert repository.pull_requests_resume_newest is None and repository.pull_requests_resume_run is None

    emu.controls.reset_counts()
    assert engine.run_inline(run=new_run(workspace), sleep=lambda s: None).status == SyncRun.Status.SUCCEEDED
    assert pr_list_statuses(emu) == {"200": 1}  # nothing newer than the mark: one empty page


def test_sync_resumed_mirror_equals_uninterrupted_sync(emu, encryption_key):
    workspace = setup_workspace(emu)
    emu.controls.set_rate_limit(2, retry_after=1)
    engine.run_inline(run=new_run(workspace), sleep=lambda seconds: emu.controls.set_rate_limit(None))
    resumed = mirror_export()

    PullRequest.objects.all().delete()
    Repository.objects.update(pull_requests_synced_through=None)
    emu.controls.reset_counts()
    assert engine.run_inline(run=new_run(workspace), sleep=lambda s: None).status == SyncRun.Status.SUCCEEDED
    assert pr_list_statuses(emu) == {"200": 3}

    assert mirror_export() == resumed


def interrupt_after_first_page(emu, workspace) -> tuple[SyncRun, int]:
    """A run whose pull request listing got a 429 on page two and whose worker then died (the run is ended)."""
    emu.controls.set_rate_limit(2, retry_after=1)
    run = new_run(workspace)
    engine.begin_run(run=run)
    client = engine.sync_client(run)
    [repository_id] = engine.sync_workspace_listing(run=run, client=client)
    with pytest.raises(RateLimited):
        engine.sync_repository(run=run, repository=Repository.objects.get(pk=repository_id), client=client)
    engine.finish_run(run_id=run.pk, failure="Stopped for the test (its worker died).")
    emu.controls.set_rate_limit(None)
    left = Repository.objects.get(pk=repository_id)
    assert "page=2" in left.pull_requests_resume_url and left.pull_requests_resume_run == run.pk
    emu.controls.reset_counts()
    return run, repository_id


def test_sync_incremental_resumes_the_point_a_stopped_run_left(emu, encryption_key):
    workspace = setup_workspace(emu)
    interrupt_after_first_page(emu, workspace)

    later = engine.run_inline(run=new_run(workspace), sleep=lambda s: None)

    assert later.status == SyncRun.Status.SUCCEEDED, (later.message, later.errors)
    assert pr_list_statuses(emu) == {"200": 2}  # pages two and three
    assert mirror_export() == emulator_export(emu)


def test_sync_full_discards_a_resume_point_left_by_another_run(emu, encryption_key):
    workspace = setup_workspace(emu)
    interrupt_after_first_page(emu, workspace)

    full = engine.run_inline(run=new_run(workspace, kind=SyncRun.Kind.FULL), sleep=lambda s: None)

    assert full.status == SyncRun.Status.SUCCEEDED, (full.message, full.errors)
    assert pr_list_statuses(emu) == {"200": 3}  # every page again: a full sync reads everything
    assert Repository.objects.get(workspace=workspace).pull_requests_resume_url == ""
    assert mirror_export() == emulator_export(emu)


def test_sync_changed_mark_discards_the_resume_point(emu, encryption_key):
    workspace = setup_workspace(emu)
    _, repository_id = interrupt_after_first_page(emu, workspace)
    with emu.world.lock:
        oldest = min(pr.updated_on for pr in emu.world.repository("acme", "repo-0001").pullrequests.values())
    # The saved link lists "everything"; a listing from another mark has other pages.
    Repository.objects.filter(pk=repository_id).update(pull_requests_synced_through=oldest)

    later = engine.run_inline(run=new_run(workspace), sleep=lambda s: None)

    assert later.status == SyncRun.Status.SUCCEEDED, (later.message, later.errors)
    assert pr_list_statuses(emu) == {"200": 3}  # 119 pull requests newer than the mark, from page one
    assert mirror_export() == emulator_export(emu)


def test_sync_saved_link_of_a_renamed_repository_restarts_at_page_one(emu, encryption_key):
    workspace = setup_workspace(emu)
    _, repository_id = interrupt_after_first_page(emu, workspace)
    new_slug = emu.world.rename_repository("acme", "repo-0001", "Renamed")

    later = engine.run_inline(run=new_run(workspace), sleep=lambda s: None)

    assert later.status == SyncRun.Status.SUCCEEDED, (later.message, later.errors)
    assert Repository.objects.get(pk=repository_id).slug == new_slug
    assert pr_list_statuses(emu) == {"200": 3}  # the old slug's link was dropped, not followed
    assert mirror_export() == emulator_export(emu)
