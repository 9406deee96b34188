"""Sync hardening: "Sync now" is paced and keeps the budget reserve, pauses and failure retries are counted apart,
and sync errors name a repository only to people who may see it."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from bitbucket_sync import tasks, webhooks
from bitbucket_sync.client import RateLimited, Unavailable
from bitbucket_sync.models import RequestLedgerEntry, SyncRun, WebhookDelivery, WebhookSubscription, Workspace
from bitbucket_sync.sync import engine
from tests import factories as f

HX = {"HTTP_HX_REQUEST": "true"}
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(browse_encryption_key):
    alice = f.user("alice", is_staff=True)
    carol = f.user("carol")
    acme = f.workspace("acme")
    api = f.repository(acme, "api")
    vault = f.repository(acme, "vault")
    f.grant(alice, api, vault)
    f.grant(carol, api)
    acme.sync_credential = f.credential(alice)
    acme.save()
    return {"alice": alice, "carol": carol, "acme": acme, "api": api, "vault": vault}


# --- "Sync now" is paced and keeps the budget reserve --------------------------------------------------------


def _manual_runs(workspace) -> int:
    return SyncRun.objects.filter(workspace=workspace, trigger=SyncRun.Trigger.MANUAL).count()


def _end_runs(workspace) -> None:
    SyncRun.objects.filter(workspace=workspace).update(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())


def test_sync_request_second_manual_run_within_the_interval_is_refused(client, world, settings):
    settings.BBDASH_MANUAL_SYNC_MINUTES = 5
    client.force_login(world["carol"])
    assert client.post("/-/sync/acme/run").status_code == 302
    _end_runs(world["acme"])  # the first run ended quickly: a second click would start another
    response = client.post("/-/sync/acme/run", follow=True)
    assert response.status_code == 200
    assert _manual_runs(world["acme"]) == 1
    text = response.content.decode()
    assert "next manual sync possible at" in text
    fragment = client.post("/-/sync/acme/run", **HX)
    assert fragment.status_code == 200 and "next manual sync possible at" in fragment.content.decode()
    assert _manual_runs(world["acme"]) == 1
    SyncRun.objects.filter(workspace=world["acme"]).update(created_at=timezone.now() - timedelta(minutes=6))
    client.post("/-/sync/acme/run")
    assert _manual_runs(world["acme"]) == 2  # once the interval has passed


def test_sync_request_override_is_for_staff_only(client, world):
    f.sync_run(world["acme"], trigger=SyncRun.Trigger.MANUAL)
    client.force_login(world["carol"])
    client.post("/-/sync/acme/run", {"override": "1"})
    assert _manual_runs(world["acme"]) == 1
    client.force_login(world["alice"])
    page = client.get("/-/sync/").content.decode()
    assert "Sync now anyway" in page
    client.post("/-/sync/acme/run", {"override": "1"})
    assert _manual_runs(world["acme"]) == 2


def test_sync_page_says_when_the_next_manual_sync_is_possible(client, world, settings):
    settings.BBDASH_MANUAL_SYNC_MINUTES = 5
    run = f.sync_run(world["acme"], trigger=SyncRun.Trigger.MANUAL)
    next_at = timezone.localtime(run.created_at + timedelta(minutes=5))
    client.force_login(world["carol"])
    text = client.get("/-/sync/").content.decode()
    assert f"Next manual sync possible at {next_at:%H:%M}" in text
    assert "Sync now anyway" not in text


def test_manual_sync_minutes_setting_bad_value_stops_the_site(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "BBDASH_VAR_DIR": str(tmp_path), "BBDASH_MANUAL_SYNC_MINUTES": "soon"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "BBDASH_MANUAL_SYNC_MINUTES" in result.stderr


def test_check_budget_manual_run_keeps_the_reserve(world, settings):
    settings.BBDASH_BUDGET_RESERVE_PERCENT = 30
    credential = world["acme"].sync_credential
    RequestLedgerEntry.objects.bulk_create(
        RequestLedgerEntry(credential=credential, at=timezone.now(), method="GET", family="repositories")
        for _ in range(700)
    )
    run = f.sync_run(world["acme"], status=SyncRun.Status.QUEUED, trigger=SyncRun.Trigger.MANUAL, credential=credential)
    with pytest.raises(engine.SyncPaused, match="budget"):
        engine.check_budget(run)


# --- pauses and failure retries are counted apart -------------------------------------------------------------


def _fails_then_succeeds(*failures: Exception):
    remaining = list(failures)

    def sync_repository(**kwargs):
        if remaining:
            raise remaining.pop(0)

    return sync_repository


def test_sync_repository_task_unavailable_after_many_pauses_is_retried(world, monkeypatch):
    acme = world["acme"]
    run = f.sync_run(acme, status=SyncRun.Status.QUEUED, repositories_total=2, credential=acme.sync_credential)
    assert engine.begin_run(run=run)
    pauses = tasks.UNAVAILABLE_RETRIES
    failures = [RateLimited("slow down", retry_after=1) for _ in range(pauses)] + [Unavailable("502 Bad Gateway")]
    monkeypatch.setattr(engine, "sync_repository", _fails_then_succeeds(*failures))
    # Applied eagerly, the task runs each retry it asks for in turn, as a worker would after the countdown.
    result = tasks.sync_repository_task.apply(args=[world["api"].pk, run.pk])
    assert result.state == "SUCCESS"
    run.refresh_from_db()
    # The 5xx that followed six 429s was its first failure: retried, not written off as a failed repository.
    assert run.errors == []
    assert (run.rate_limit_pauses, run.failure_retries, run.repositories_done) == (pauses, 1, 1)


def test_sync_page_shows_pauses_and_retries_apart(client, world):
    f.sync_run(world["acme"], rate_limit_pauses=3, failure_retries=2, requests_made=40)
    client.force_login(world["carol"])
    for response in (client.get("/-/sync/"), client.get("/-/sync/acme/", **HX)):
        text = response.content.decode()
        assert "paused 3 times (rate limit or budget)" in text
        assert "2 retries after Bitbucket failed" in text


# --- sync errors and live-update notes name a repository only to people who may see it ------------------------


def test_record_repository_failure_stores_which_repository(world):
    run = f.sync_run(world["acme"], status=SyncRun.Status.RUNNING, repositories_total=2)
    engine.record_repository_failure(run_id=run.pk, repository=world["vault"], exc=Unavailable("502 Bad Gateway"))
    run.refresh_from_db()
    (error,) = run.errors
    assert error["repository_id"] == world["vault"].pk


def test_sync_page_error_about_hidden_repository_is_shown_only_to_who_may_see_it(client, world):
    run = f.sync_run(world["acme"], status=SyncRun.Status.FAILED, repositories_total=2)
    for repository in (world["api"], world["vault"]):
        message = f"Bitbucket said 500 on /2.0/repositories/{repository.full_name}/pullrequests"
        engine.record_repository_failure(run_id=run.pk, repository=repository, exc=Unavailable(message))
    # An error written before errors carried their repository: matched by its full name.
    SyncRun.objects.filter(pk=run.pk).update(
        errors=[*SyncRun.objects.get(pk=run.pk).errors, {"where": "acme/vault", "message": "older error"}]
    )
    client.force_login(world["carol"])
    for response in (client.get("/-/sync/"), client.get("/-/sync/acme/", **HX)):
        text = response.content.decode()
        assert "acme/api/pullrequests" in text
        assert "vault" not in text and "older error" not in text
        assert "2 errors about repositories you cannot see are not shown" in text
    client.force_login(world["alice"])
    text = client.get("/-/sync/").content.decode()
    assert "acme/vault/pullrequests" in text and "older error" in text


def _push_delivery(workspace, repository, *, branch: str) -> WebhookDelivery:
    commit = {"type": "commit", "hash": "b" * 40, "date": timezone.now().isoformat()}
    payload = {
        "repository": {"type": "repository", "uuid": repository.bitbucket_uuid, "full_name": repository.full_name},
        "push": {
            "changes": [
                {
                    "new": {"type": "branch", "name": branch, "target": commit},
                    "old": {"type": "branch", "name": branch, "target": {"type": "commit", "hash": "a" * 40}},
                }
            ]
        },
    }
    return WebhookDelivery.objects.create(
        workspace=workspace,
        request_uuid="req-push-1",
        event="repo:push",
        received_at=timezone.now(),
        repository_full_name=repository.full_name,
        payload=payload,
    )


def test_live_updates_gap_note_names_hidden_repository_only_to_who_may_see_it(client, world):
    subscription = WebhookSubscription(
        workspace=world["acme"],
        enabled=True,
        status=WebhookSubscription.Status.ACTIVE,
        hook_uuid="{hook}",
        url="https://dash.example.com/hooks/bitbucket/x/",
        enabled_at=timezone.now() - timedelta(hours=1),
        last_delivery_at=timezone.now(),
    )
    subscription.set_secret("secret")
    subscription.save()
    # A push to a branch from a tip the mirror does not have, with no sync credential to read the branch: the note
    # says which branch could not be checked.
    Workspace.objects.filter(pk=world["acme"].pk).update(sync_credential=None)
    delivery = _push_delivery(world["acme"], world["vault"], branch="release/secret-launch")
    webhooks.apply_delivery(delivery_id=delivery.pk)
    client.force_login(world["carol"])
    region = client.get("/-/sync/webhooks/acme/", **HX).content.decode()
    assert "Some deliveries were lost" in region
    assert "vault" not in region and "secret-launch" not in region
    client.force_login(world["alice"])
    region = client.get("/-/sync/webhooks/acme/", **HX).content.decode()
    assert "acme/vault:release/secret-launch" in region


def test_delivery_log_leaves_out_deliveries_about_hidden_repositories(client, world):
    sam = f.user("sam", is_staff=True)
    f.grant(sam, world["api"])
    for n, repository in enumerate((world["api"], world["vault"])):
        WebhookDelivery.objects.create(
            workspace=world["acme"],
            request_uuid=f"req-{n}",
            event="pullrequest:updated",
            received_at=timezone.now(),
            result=WebhookDelivery.Result.APPLIED,
            repository_full_name=repository.full_name,
            target="#3",
            message=f"Pull request {repository.full_name}#3 updated (open)",
        )
    client.force_login(sam)
    text = client.get("/-/sync/webhooks/").content.decode()
    assert "Pull request acme/api#3 updated" in text
    assert "vault" not in text
