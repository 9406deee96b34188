"""The sync through real Celery workers against the emulator: faults, a killed worker, two syncs at once."""

from __future__ import annotations

import time

import pytest
from cryptography.fernet import Fernet

from bitbucket_sync import tasks
from bitbucket_sync.models import Branch, PullRequest, Repository, RepositoryWatcher, SyncRun, WorkspaceMembership
from tests.integration.test_sync_engine import emulator_export, mirror_export, setup_workspace

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST = {
    # Waits scaled down so a test sees several pauses and retries within seconds.
    "BBDASH_RATE_LIMIT_BACKOFF_SECONDS": "1",
    "BBDASH_SYNC_RETRY_BACKOFF_SECONDS": "1",
    "BBDASH_SYNC_LOCK_SECONDS": "3",
}


@pytest.fixture
def key(settings):
    value = Fernet.generate_key().decode()
    settings.BBDASH_ENCRYPTION_KEYS = [value]
    return value


@pytest.fixture
def start_worker(celery_worker_factory, key):
    def start(concurrency: int = 2):
        return celery_worker_factory(concurrency=concurrency, BBDASH_ENCRYPTION_KEYS=key, **FAST)

    return start


def new_run(workspace, kind=SyncRun.Kind.FULL) -> SyncRun:
    return SyncRun.objects.create(
        workspace=workspace, kind=kind, trigger=SyncRun.Trigger.MANUAL, credential=workspace.sync_credential
    )


def wait_for(predicate, *, timeout: float = 90, what: str = "condition", worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    log = worker.log()[-4000:] if worker is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def finished(run_id: int) -> SyncRun | None:
    run = SyncRun.objects.get(pk=run_id)
    return run if run.status not in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING, SyncRun.Status.PAUSED) else None


def nothing_removed() -> bool:
    return not any(
        model.objects.filter(removed_at__isnull=False).exists()
        for model in (Repository, Branch, RepositoryWatcher, WorkspaceMembership)
    )


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"fault": {"every": 20, "kind": "500"}}, id="5pct-500s"),
        pytest.param({"fault": {"every": 6, "kind": "drop"}}, id="dropped-connections"),
        pytest.param({"rate": {"limit": 8, "window": 2, "retry_after": 1}}, id="429-retry-after"),
        pytest.param({"rate": {"limit": 8, "window": 2, "retry_after": None}}, id="429-no-retry-after"),
    ],
)
def test_sync_under_faults_ends_with_the_same_mirror(emulator, start_worker, fault):
    workspace = setup_workspace(emulator)
    worker = start_worker()
    if "fault" in fault:
        emulator.controls.set_fault(**fault["fault"])
    else:
        emulator.controls.set_rate_limit(resource="all", **fault["rate"])
    # A full sync of the demo world is about twenty requests: every 20th failing needs a few syncs to strike.
    for _ in range(3 if "fault" in fault else 1):
        run = new_run(workspace)
        tasks.sync_workspace_task.delay(run.pk)
        run = wait_for(lambda r=run: finished(r.pk), what="the sync to end", worker=worker)
        assert run.status == SyncRun.Status.SUCCEEDED, (run.message, run.errors, worker.log()[-3000:])
        assert nothing_removed()
        assert mirror_export() == emulator_export(emulator)
    statuses = emulator.controls.counts()["by_credential"]["api_token:alice"]["status"]
    emulator.controls.clear()
    # The faults did happen, and the syncs went through them.
    assert set(statuses) & {"500", "429", "dropped"}, statuses


def test_sync_rate_limited_run_says_paused_and_when(emulator, start_worker):
    workspace = setup_workspace(emulator)
    worker = start_worker()
    emulator.controls.set_rate_limit(limit=15, window=3, retry_after=2, resource="all")
    run = new_run(workspace)
    tasks.sync_workspace_task.delay(run.pk)
    paused = wait_for(
        lambda: SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.PAUSED).first(), what="a pause", worker=worker
    )
    assert paused.paused_until is not None
    assert "429" in paused.message and "resumes at" in paused.message
    run = wait_for(lambda: finished(run.pk), what="the sync to end", worker=worker)
    assert run.status == SyncRun.Status.SUCCEEDED, (run.message, run.errors)
    assert mirror_export() == emulator_export(emulator)


def test_sync_worker_killed_mid_sync_is_finished_by_another(emulator, start_worker):
    workspace = setup_workspace(emulator)
    emulator.controls.set_latency(ms=250)
    first = start_worker(concurrency=1)
    run = new_run(workspace)
    tasks.sync_workspace_task.delay(run.pk)
    wait_for(
        lambda: SyncRun.objects.filter(pk=run.pk, repositories_done__gte=1).exists(), what="progress", worker=first
    )
    first.kill()
    midway = SyncRun.objects.get(pk=run.pk)
    assert midway.status == SyncRun.Status.RUNNING
    assert midway.repositories_done < midway.repositories_total

    emulator.controls.set_latency(ms=0)
    second = start_worker(concurrency=2)

    def resumed_and_finished():
        # Beat runs resume_stalled_syncs every minute: once the dead worker's lock has expired, the run is continued
        # (if the broker handed the killed task's message to the new worker first, that worker goes on with it).
        tasks.resume_stalled_syncs.apply()
        return finished(run.pk)

    run = wait_for(resumed_and_finished, what="the resumed sync to end", worker=second)
    assert run.status == SyncRun.Status.SUCCEEDED, (run.message, run.errors)
    assert run.repositories_done == run.repositories_total
    expected = emulator_export(emulator)
    assert mirror_export() == expected
    assert PullRequest.objects.count() == sum(len(r["pull_requests"]) for r in expected["repositories"])
    assert nothing_removed()


def test_sync_two_at_once_one_runs_one_is_skipped(emulator, start_worker):
    workspace = setup_workspace(emulator)
    emulator.controls.set_latency(ms=100)
    worker = start_worker(concurrency=2)
    first, second = new_run(workspace), new_run(workspace)
    tasks.sync_workspace_task.delay(first.pk)
    tasks.sync_workspace_task.delay(second.pk)
    runs = [wait_for(lambda r=r: finished(r.pk), what="both runs to end", worker=worker) for r in (first, second)]
    statuses = sorted(r.status for r in runs)
    assert statuses == [SyncRun.Status.SKIPPED, SyncRun.Status.SUCCEEDED], [(r.status, r.message) for r in runs]
    skipped = next(r for r in runs if r.status == SyncRun.Status.SKIPPED)
    ran = next(r for r in runs if r.status == SyncRun.Status.SUCCEEDED)
    assert f"#{ran.pk}" in skipped.message and skipped.requests_made == 0
    assert mirror_export() == emulator_export(emulator)
