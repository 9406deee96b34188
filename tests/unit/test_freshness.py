"""Is a workspace's mirror stale, since when and why (dashboard.selectors.staleness), and the banner that says so on
every page of the workspace, the PR page and the source browser included."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bitbucket_sync.models import Credential, SyncRun, Workspace
from dashboard.selectors import staleness as fr
from tests import factories as f

NOW = timezone.now()
LOCK = timedelta(seconds=300)  # settings.BBDASH_SYNC_LOCK_SECONDS


def _ws(*, synced: timedelta | None = timedelta(minutes=1), locked_by: int | None = None, expires=None) -> Workspace:
    return Workspace(
        pk=1,
        slug="acme",
        synced_at=NOW - synced if synced is not None else None,
        sync_locked_by_run=locked_by,
        sync_lock_expires_at=expires,
    )


def _run(status: str, *, pk: int = 7, age: timedelta = timedelta(minutes=1), **fields) -> SyncRun:
    return SyncRun(pk=pk, workspace_id=1, status=status, created_at=NOW - age, **fields)


def _decide(ws: Workspace, latest: SyncRun | None = None, finished: SyncRun | None = None) -> fr.Freshness:
    return fr.decide(workspace=ws, latest=latest, finished=finished, now=NOW)


# --- the decision, one reason at a time ---------------------------------------------------------------------------


def test_freshness_recent_success_is_fresh():
    done = _run(SyncRun.Status.SUCCEEDED, finished_at=NOW - timedelta(minutes=1))
    state = _decide(_ws(), done, done)
    assert not state.stale and state.reason == "" and not state.error


def test_freshness_overdue_boundary_follows_the_interval(settings):
    settings.BBDASH_SYNC_INTERVAL_MINUTES = 5
    allowance = 2 * timedelta(minutes=5) + fr.OVERDUE_GRACE
    assert fr.overdue_after() == allowance
    assert not _decide(_ws(synced=allowance - timedelta(seconds=1))).stale
    state = _decide(_ws(synced=allowance + timedelta(seconds=1)))
    assert state.reason == "overdue" and state.since == NOW - allowance - timedelta(seconds=1)
    assert state.interval_minutes == 5 and not state.error
    settings.BBDASH_SYNC_INTERVAL_MINUTES = 30  # a slower schedule allows an older mirror
    assert not _decide(_ws(synced=allowance + timedelta(seconds=1))).stale


def test_freshness_never_synced():
    state = _decide(_ws(synced=None))
    assert state.reason == "never" and state.since is None and not state.running
    queued = _run(SyncRun.Status.QUEUED)
    first = _decide(_ws(synced=None), queued)
    assert first.reason == "never" and first.running


def test_freshness_failed_run_says_when_and_why():
    failed = _run(
        SyncRun.Status.FAILED,
        finished_at=NOW - timedelta(minutes=3),
        message="Bitbucket unavailable while listing acme: GET /repositories/acme -> 503: Service unavailable",
    )
    state = _decide(_ws(synced=timedelta(minutes=8)), failed, failed)
    assert state.reason == "failed" and state.error
    assert state.failed_at == NOW - timedelta(minutes=3) and state.since == NOW - timedelta(minutes=8)
    assert "503" in state.detail and not state.credential_refused


def test_freshness_failed_for_a_refused_credential():
    refused = Credential(status=Credential.Status.INVALID)
    failed = _run(SyncRun.Status.FAILED, finished_at=NOW, message="Listing acme failed", credential=refused)
    assert _decide(_ws(synced=timedelta(hours=1)), failed, failed).credential_refused
    by_status = _run(SyncRun.Status.FAILED, finished_at=NOW, message="Listing acme failed: GET /workspaces -> 401: x")
    assert _decide(_ws(synced=timedelta(hours=1)), by_status, by_status).credential_refused


def test_freshness_run_finished_with_repository_errors_is_not_stale():
    # finish_run stamps synced_at with the same moment as finished_at when only single repositories failed.
    ws = _ws(synced=timedelta(minutes=2))
    partial = _run(SyncRun.Status.FAILED, finished_at=ws.synced_at, message="Finished with 1 error(s); see below.")
    assert not _decide(ws, partial, partial).stale


def test_freshness_failure_stays_shown_while_a_new_sync_runs():
    failed = _run(SyncRun.Status.FAILED, pk=6, finished_at=NOW - timedelta(minutes=4), message="Listing failed")
    running = _run(SyncRun.Status.RUNNING, started_at=NOW - timedelta(minutes=1))
    ws = _ws(synced=timedelta(minutes=9), locked_by=7, expires=NOW + LOCK)
    state = _decide(ws, running, failed)
    assert state.reason == "failed" and state.running
    later = _run(SyncRun.Status.SUCCEEDED, pk=8, finished_at=NOW)
    assert not _decide(_ws(), later, later).stale  # a success after the failure clears it


def test_freshness_stalled_worker_after_lock_expiry_and_grace():
    running = _run(SyncRun.Status.RUNNING, started_at=NOW - timedelta(minutes=20))
    expires = NOW - fr.WORKER_GRACE + timedelta(seconds=1)
    assert not _decide(_ws(locked_by=7, expires=expires), running).stale  # within the grace: changing hands
    expires = NOW - fr.WORKER_GRACE - timedelta(seconds=1)
    state = _decide(_ws(locked_by=7, expires=expires), running)
    assert state.reason == "stalled" and state.error
    assert state.since == expires - LOCK  # the last heartbeat pushed the expiry one lock's life ahead


def test_freshness_stalled_when_nobody_holds_the_lock():
    running = _run(SyncRun.Status.RUNNING, started_at=NOW - timedelta(minutes=20))
    state = _decide(_ws(), running)
    assert state.reason == "stalled" and state.since == running.started_at


def test_freshness_queued_run_never_picked_up(settings):
    settings.BBDASH_SYNC_LOCK_SECONDS = 300
    limit = fr.waiting_after()
    assert limit == LOCK + fr.WORKER_GRACE
    assert not _decide(_ws(), _run(SyncRun.Status.QUEUED, age=limit - timedelta(seconds=1))).stale
    queued = _run(SyncRun.Status.QUEUED, age=limit + timedelta(seconds=1))
    state = _decide(_ws(), queued)
    assert state.reason == "waiting" and state.since == queued.created_at and state.error


def test_freshness_paused_with_its_lock_held():
    until = NOW + timedelta(minutes=10)
    paused = _run(SyncRun.Status.PAUSED, started_at=NOW, paused_until=until, message="Rate limited; resumes at ...")
    state = _decide(_ws(locked_by=7, expires=until + LOCK), paused)
    assert state.reason == "paused" and state.paused and state.paused_until == until and not state.error
    assert not state.paused_for_budget
    budget = _run(SyncRun.Status.PAUSED, paused_until=until, message="Hourly request budget used up (keeping 30%)")
    assert _decide(_ws(locked_by=7, expires=until + LOCK), budget).paused_for_budget


def test_freshness_paused_run_whose_worker_never_came_back():
    until = NOW - timedelta(minutes=30)
    paused = _run(SyncRun.Status.PAUSED, paused_until=until)
    state = _decide(_ws(locked_by=7, expires=until + LOCK), paused)
    assert state.reason == "stalled" and state.since == until


# --- the queries ----------------------------------------------------------------------------------------------------


@pytest.fixture
def mirror(db, browse_encryption_key):
    viewer = f.user("viewer")
    acme = f.workspace("acme")
    api = f.repository(acme, "api")
    f.grant(viewer, api)
    account = f.account("Viewer")
    f.member(acme, account)
    f.credential(viewer, acct=account)
    return {"viewer": viewer, "acme": acme, "api": api, "viewer_account": account}


def _stale(ws: Workspace, *, minutes: int = 90) -> datetime:
    synced = timezone.now() - timedelta(minutes=minutes)
    Workspace.objects.filter(pk=ws.pk).update(synced_at=synced)
    ws.refresh_from_db()
    return synced


def test_freshness_one_query_and_skipped_runs_ignored(mirror, django_assert_num_queries):
    acme = mirror["acme"]
    failed = f.sync_run(acme, status=SyncRun.Status.FAILED, finished_at=timezone.now(), message="Listing failed")
    f.sync_run(acme, status=SyncRun.Status.SKIPPED, finished_at=timezone.now())
    _stale(acme)
    with django_assert_num_queries(1):
        state = fr.freshness(acme)
    assert state.reason == "failed" and state.last_run == failed


def test_freshness_of_many_workspaces_in_one_query(mirror, django_assert_num_queries):
    workspaces = [mirror["acme"]] + [f.workspace(f"w{i}") for i in range(6)]
    for i, ws in enumerate(workspaces):
        f.sync_run(ws, status=SyncRun.Status.FAILED, finished_at=timezone.now() - timedelta(minutes=5), message="old")
        f.sync_run(ws, status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())
        if i % 2:
            f.sync_run(ws, status=SyncRun.Status.QUEUED)
        if i % 3 == 0:
            _stale(ws)
    with django_assert_num_queries(1):
        many = fr.freshness_of(workspaces)
    for ws in workspaces:
        one, other = fr.freshness(ws), many[ws.pk]
        assert (other.reason, other.last_run, other.running) == (one.reason, one.last_run, one.running)
    assert [s.workspace.slug for s in fr.stale_workspaces(workspaces)] == ["acme", "w2", "w5"]


# --- the banner on the pages ------------------------------------------------------------------------------------------

BANNER = 'id="freshness-banner"'


def _banner(html: str) -> str:
    found = re.search(r'<(p|div) id="freshness-banner".*?</\1>', html, re.S)
    return re.sub(r"\s+", " ", found.group(0)) if found else ""


@pytest.fixture
def pages(mirror):
    pr = f.pull_request(mirror["api"], title="A change")
    return [
        "/acme/",
        "/acme/pull-requests/",
        "/acme/members/",
        "/acme/api/",
        "/acme/api/branches/",
        "/acme/api/tags/",
        "/acme/api/watchers/",
        "/acme/api/pull-requests/",
        f"/acme/api/pull-requests/{pr.number}",
        "/acme/api/src/main/",
        "/acme/api/commits/",
        "/acme/api/branches/compare/feature..main",
        f"/-/people/{mirror['viewer_account'].account_id}/",
    ]


def test_banner_absent_when_fresh(client, mirror, pages):
    client.force_login(mirror["viewer"])
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert BANNER not in response.content.decode(), path


def test_banner_on_every_workspace_page_when_overdue(client, mirror, pages, settings):
    settings.BBDASH_SYNC_INTERVAL_MINUTES = 5
    _stale(mirror["acme"], minutes=47)
    client.force_login(mirror["viewer"])
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        banner = _banner(response.content.decode())
        assert 'role="status"' in banner, path
        assert "was last synced <time" in banner and "47 minutes ago</time>" in banner, path
        assert "syncs run every 5 minutes" in banner, path
        assert 'href="/-/sync/#sync-acme"' in banner, path


def test_pull_request_and_source_pages_say_why_a_sync_failed(client, mirror):
    acme = mirror["acme"]
    pr = f.pull_request(mirror["api"], title="A change")
    f.sync_run(
        acme, status=SyncRun.Status.FAILED, finished_at=timezone.now(), message="Listing acme failed: GET /x -> 500"
    )
    client.force_login(mirror["viewer"])
    for path in (f"/acme/api/pull-requests/{pr.number}", "/acme/api/src/main/"):
        banner = _banner(client.get(path).content.decode())
        assert "banner freshness-banner error" in banner, path
        assert "The last sync of" in banner and "Listing acme failed: GET /x -&gt; 500" in banner, path


def test_banner_not_in_htmx_fragments(client, mirror):
    _stale(mirror["acme"])
    client.force_login(mirror["viewer"])
    fragment = client.get("/acme/pull-requests/?tab=all", HTTP_HX_REQUEST="true").content.decode()
    assert BANNER not in fragment


def test_banner_reuses_the_views_freshness(client, mirror):
    """A list page that already read the workspace's freshness for its "Synced …" line reads no run again."""
    _stale(mirror["acme"])
    client.force_login(mirror["viewer"])
    client.get("/acme/")
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/acme/").content.decode()
    assert BANNER in html
    runs = [q["sql"] for q in queries if 'FROM "bitbucket_sync_syncrun"' in q["sql"].split("WHERE")[0]]
    assert len(runs) == 1, runs


def test_home_and_inbox_list_the_stale_workspaces(client, mirror):
    viewer = mirror["viewer"]
    labs = f.workspace("labs")
    f.grant(viewer, f.repository(labs, "tools"), workspaces=[labs])
    f.sync_run(labs, status=SyncRun.Status.QUEUED)
    SyncRun.objects.filter(workspace=labs).update(created_at=timezone.now() - timedelta(hours=1))
    client.force_login(viewer)
    for path in ("/", "/-/inbox/"):
        banner = _banner(client.get(path).content.decode())
        assert "One of your workspaces is not up to date" in banner, path
        assert "has waited for a worker" in banner and "labs" in banner.lower() and "acme" not in banner.lower(), path
    _stale(mirror["acme"])
    assert "2 of your workspaces are not up to date" in _banner(client.get("/").content.decode())
