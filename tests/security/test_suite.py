"""The test suite's own promises: every list page runs as many queries for one row as for twenty, and each test gets
the shared emulator and the demo world back as new, whatever the test before it did."""

from __future__ import annotations

import itertools
import os
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bitbucket_emulator.world.objects import Hook
from bitbucket_sync import audit
from bitbucket_sync.models import AuditEvent, Credential, SyncRun, WebhookDelivery
from dashboard.celery import app as celery_app
from tests import factories as f
from tests.conftest import _own_redis_database
from tests.fixtures.emulator import reset_emulator

_numbers = itertools.count(1)

# Every list page, with the rows that make it longer. alice (staff, owner of acme) looks at each.
LIST_PAGES = {
    "inbox": "/acme/pull-requests/?tab=all",
    "repository list": "/acme/",
    "pull request list": "/acme/api/pull-requests/",
    "branches": "/acme/api/branches/",
    "watchers": "/acme/api/watchers/",
    "members": "/acme/members/",
    "sync": "/-/sync/",
    "webhook deliveries": "/-/sync/webhooks/",
    "audit": "/-/audit/",
    "credentials": "/-/credentials/",
}


def _add_rows(personas, count: int) -> None:
    """`count` more of everything a list page lists, each row with the relations its page shows."""
    acme, api = personas.workspace, personas.repositories["api"]
    alice, bob = personas.users["alice"], personas.users["bob"]
    for _ in range(count):
        n = next(_numbers)
        person = f.account(f"Person {n}", nickname=f"person{n}")
        f.member(acme, person)
        f.watcher(api, person)
        f.branch(api, f"feature/{n}")
        pr = f.pull_request(api, author=person, title=f"Change {n}")
        f.reviewer(pr, personas.accounts["bob"], approved=n % 2 == 0)
        f.reviewer(pr, personas.accounts["carol"])
        repo = f.repository(acme, f"service-{n}")
        f.grant(alice, repo, permission="admin")
        f.grant(bob, repo)
        f.sync_run(acme, credential=personas.credentials["alice"], requests_made=n)
        WebhookDelivery.objects.create(
            workspace=acme, request_uuid=f"req-{n}", event="pullrequest:updated", received_at=timezone.now()
        )
        owner = f.user(f"user{n}")
        f.credential(owner, acct=person, kind=Credential.Kind.API_TOKEN)
        audit.record(
            actor=alice,
            action="credential.check",
            result=AuditEvent.Result.SUCCESS,
            subject_user=owner,
            workspace_slug="acme",
            repository_full_name=api.full_name,
        )


@pytest.mark.parametrize("path", LIST_PAGES.values(), ids=LIST_PAGES.keys())
def test_list_page_queries_same_for_one_and_twenty_rows(client, personas, path, django_assert_num_queries):
    personas.workspace.sync_credential = personas.credentials["alice"]
    personas.workspace.save()
    client.force_login(personas.users["alice"])
    _add_rows(personas, 1)
    assert client.get(path).status_code == 200  # the session and the caches, warm
    with CaptureQueriesContext(connection) as one:
        assert client.get(path).status_code == 200
    _add_rows(personas, 19)
    with django_assert_num_queries(len(one)):
        response = client.get(path)
    assert response.status_code == 200


def test_personas_see_what_their_access_allows(client, personas):
    for username, status in {"alice": 200, "bob": 200, "carol": 200, "dave": 404}.items():
        client.force_login(personas.users[username])
        assert client.get("/acme/api/").status_code == status, username
    assert personas.users["alice"].is_staff and not personas.users["bob"].is_staff
    assert {a.permission for a in personas.users["carol"].repository_access.all()} == {"read"}


def test_reset_emulator_undoes_what_a_test_changed(emulator):
    emulator.controls.set_latency(ms=500)
    emulator.controls.set_rate_limit(1)
    emulator.controls.set_dc_rate_limit(1)
    emulator.controls.set_fault(every=1, kind="500")
    emulator.controls.drop_webhooks()
    emulator.controls.slow_merges = True
    emulator.controls.clock = lambda: 0.0
    emulator.app.merge_task_delay = 9.0
    emulator.webhooks.retry_delays = (9.0,)
    emulator.world.app_passwords_enabled = False
    emulator.world.time_travel(3600)
    emulator.world.delete_repository("acme", "api-server")
    reset_emulator(emulator)
    described = emulator.controls.describe()
    assert described == {
        "latency": {"ms": 0.0, "jitter_ms": 0.0},
        "rate_limit": None,
        "datacenter_rate_limit": None,
        "faults": None,
        "slow_merges": False,
        "webhook_drops": None,
    }
    assert emulator.controls.counts()["total"] == 0
    assert emulator.app.merge_task_delay == 0.3
    assert emulator.webhooks.retry_delays == (0.2, 1.0)
    assert emulator.world.app_passwords_enabled is True
    assert emulator.world.repository("acme", "api-server") is not None
    assert abs((emulator.world.now() - timezone.now()).total_seconds()) < 60


def test_reset_emulator_drops_deliveries_queued_for_the_last_test(emulator):
    receiver = "http://127.0.0.1:9/never"  # nothing listens there: the sender would retry
    with emulator.world.lock:
        repo = emulator.world.repository("acme", "api-server")
        repo.hooks.append(
            Hook("{hook}", "repository", repo.uuid, receiver, "", True, ["repo:push"], None, emulator.world.now())
        )
    emulator.world.commit_files("acme", "api-server", "main", "alice", {"notes.md": "queued\n"})
    assert emulator.webhooks.log
    reset_emulator(emulator)
    assert emulator.webhooks.log == []
    assert emulator.webhooks.on_event in emulator.world.listeners
    assert len(emulator.world.listeners) == 1


@pytest.mark.parametrize("order", ["first", "second"])
def test_demo_world_is_new_for_each_test(demo_world, order):
    """Both orders change the world; each sees it as built."""
    assert SyncRun.objects.count() == 1
    assert demo_world.repo("api-server").name == "api-server"
    assert demo_world.credential.get_secret() == demo_world.emulator.account("alice")["api_token"]
    assert demo_world.workspace.sync_credential_id == demo_world.credential.pk
    assert demo_world.workspace.synced_at > timezone.now() - timedelta(minutes=1)
    SyncRun.objects.all().delete()
    demo_world.repo("api-server").delete()
    demo_world.emulator.world.delete_repository("acme", "api-server")


@pytest.mark.django_db(transaction=True)
def test_demo_world_restores_in_a_transactional_test(demo_world):
    assert {u for u in demo_world.users} == {"alice", "bob"}
    assert demo_world.sync().status == SyncRun.Status.SUCCEEDED


def test_own_redis_database_per_worker(settings, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/8")
    settings.CELERY_BROKER_URL = settings.CELERY_RESULT_BACKEND = "redis://127.0.0.1:6379/8"
    monkeypatch.setattr(celery_app, "configured", False)
    _own_redis_database(3)
    assert settings.CELERY_BROKER_URL == settings.CELERY_RESULT_BACKEND == "redis://127.0.0.1:6379/11"
    assert os.environ["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/11"
    with pytest.raises(pytest.UsageError):
        _own_redis_database(8)
