"""Credential health against the emulator over HTTP: a 401 met by a sync or an action marks the credential invalid at
once and nothing scheduled is sent with it again; a 403 (or Data Center's 401 for a missing permission) changes
nothing; the daily re-check refuses and restores; "Sync now" says why it cannot run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bitbucket_sync import tasks
from bitbucket_sync.credentials.lifecycle import save_credential
from bitbucket_sync.models import AuditEvent, Credential, Repository, SyncRun
from bitbucket_sync.sync import access, engine

from .test_sync_datacenter import connect, dc  # noqa: F401  (fixture)
from .test_sync_datacenter import sync as dc_sync
from .test_sync_engine import encryption_key, make_user_with_credential, setup_workspace, sync_inline  # noqa: F401

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def emulated_user(emu, username: str):
    return next(u for u in emu.world.users.values() if u.username == username)


def revoke_at_bitbucket(emu, username: str) -> None:
    """The person deleted their API token at Bitbucket: every request with the stored secret now answers 401."""
    emulated_user(emu, username).api_token = f"replaced-at-bitbucket-{username}"


def sent_with(emu, username: str) -> int:
    """Requests the emulator received with `username`'s API token, any status."""
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


def total_requests(emu) -> int:
    return emu.controls.counts()["total"]


# -- a sync meets a 401 --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("encryption_key")
def test_sync_401_marks_the_credential_invalid_at_once_and_scheduled_syncs_stop(emulator):
    workspace = setup_workspace(emulator)
    sync_inline(workspace, kind=SyncRun.Kind.FULL)
    credential = workspace.sync_credential
    revoke_at_bitbucket(emulator, "alice")
    emulator.controls.reset_counts()

    run = sync_inline(workspace, kind=SyncRun.Kind.FULL)

    credential.refresh_from_db()
    assert credential.status == Credential.Status.INVALID
    assert credential.last_checked_at is not None and credential.last_checked_at > timezone.now() - timedelta(minutes=1)
    assert "refused it (401)" in credential.last_error and "while syncing" in credential.last_error
    assert "UTC" in credential.last_error  # when, in words too
    # At once: the first refused request was the last one sent (the listing stopped, no repository was tried).
    assert total_requests(emulator) == 1
    assert run.status == SyncRun.Status.FAILED and "refused" in run.message
    event = AuditEvent.objects.get(action="credential.refused")
    assert event.subject_user_id == credential.owner_id and event.result == AuditEvent.Result.FAILURE
    assert event.actor is None and event.details["purpose"] == "sync"

    # The next scheduled tick sends nothing: the run is recorded as skipped, with the reason, once.
    emulator.controls.reset_counts()
    tasks.sync_all_workspaces()
    tasks.sync_all_workspaces()
    assert total_requests(emulator) == 0
    skipped = SyncRun.objects.filter(workspace=workspace, status=SyncRun.Status.SKIPPED)
    assert skipped.count() == 1
    assert skipped.get().trigger == SyncRun.Trigger.SCHEDULE
    assert "refused the credential this workspace is synced with" in skipped.get().message
    assert str(credential.owner) not in skipped.get().message  # members read runs; whose credential is not theirs
    # A run already queued (or a worker's retry) stops before its first request too.
    run = SyncRun.objects.create(workspace=workspace, trigger=SyncRun.Trigger.SCHEDULE, credential=credential)
    tasks.sync_workspace_task(run.pk)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED and "refused" in run.message
    assert total_requests(emulator) == 0
    # Still one audit event: a refused credential is not marked again.
    assert AuditEvent.objects.filter(action="credential.refused").count() == 1


@pytest.mark.usefixtures("encryption_key")
def test_sync_401_in_a_repository_step_ends_the_run_there(emulator):
    workspace = setup_workspace(emulator)
    sync_inline(workspace, kind=SyncRun.Kind.FULL)
    # The listing answers; the token is deleted at Bitbucket before the first repository's step.
    run = SyncRun.objects.create(
        workspace=workspace, kind=SyncRun.Kind.INCREMENTAL, trigger=SyncRun.Trigger.COMMAND, credential=None
    )
    assert engine.begin_run(run=run)
    client = engine.sync_client(run)
    pending = engine.sync_workspace_listing(run=run, client=client)
    assert len(pending) > 1
    revoke_at_bitbucket(emulator, "alice")
    emulator.controls.reset_counts()
    first, *_ = pending
    with pytest.raises(Exception) as refused:
        engine.sync_repository(run=run, repository=Repository.objects.get(pk=first), client=client)
    assert getattr(refused.value, "status", None) == 401
    assert Credential.objects.get(pk=workspace.sync_credential_id).status == Credential.Status.INVALID
    # The other repositories' steps (each a Celery task) stop before any request.
    with pytest.raises(engine.SyncCredentialRefused):
        engine.sync_client(SyncRun.objects.get(pk=run.pk))
    assert total_requests(emulator) == 1
    client.close()


@pytest.mark.usefixtures("encryption_key")
def test_sync_403_for_a_missing_scope_does_not_mark_the_credential(emulator):
    workspace = setup_workspace(emulator)
    alice = emulated_user(emulator, "alice")
    alice.api_token_scopes = [s for s in alice.api_token_scopes if s != "read:pullrequest:bitbucket"]
    emulator.controls.reset_counts()

    run = sync_inline(workspace, kind=SyncRun.Kind.FULL)

    statuses = {
        status
        for endpoint in emulator.controls.counts()["by_endpoint"].values()
        for status in endpoint.get("status", {})
    }
    assert "403" in statuses  # Bitbucket did refuse the pull request listings, for the scope
    assert run.errors  # and the run says so
    credential = Credential.objects.get(pk=workspace.sync_credential_id)
    assert credential.status == Credential.Status.VALID
    assert not AuditEvent.objects.filter(action="credential.refused").exists()
    tasks.sync_all_workspaces()
    assert not SyncRun.objects.filter(workspace=workspace, status=SyncRun.Status.SKIPPED).exists()


def test_datacenter_401_for_a_missing_permission_does_not_mark_the_credential(dc):  # noqa: F811
    # bob may not list PLAT's people: Data Center answers 401 AuthorisationException, about the members only.
    workspace = connect(dc, "bob")
    dc_sync(workspace, SyncRun.Kind.FULL)
    workspace.refresh_from_db()
    assert workspace.members_state == "forbidden"
    assert Credential.objects.get(pk=workspace.sync_credential_id).status == Credential.Status.VALID


def test_datacenter_wrong_password_marks_the_credential_invalid(dc):  # noqa: F811
    workspace = connect(dc, "alice")
    dc.world.datacenter.users["alice"].password = "changed-at-the-server"
    run = engine.run_inline(
        run=SyncRun.objects.create(
            workspace=workspace, trigger=SyncRun.Trigger.COMMAND, credential=workspace.sync_credential
        ),
        sleep=lambda seconds: None,
    )
    credential = Credential.objects.get(pk=workspace.sync_credential_id)
    assert run.status == SyncRun.Status.FAILED
    assert credential.status == Credential.Status.INVALID
    assert "Authentication failed" in credential.last_error


# -- "Sync now" ------------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("encryption_key")
def test_sync_now_with_a_refused_credential_says_why_and_queues_nothing(emulator):
    workspace = setup_workspace(emulator)
    credential = workspace.sync_credential
    access.sync_user_access(user=credential.owner)
    Credential.objects.filter(pk=credential.pk).update(
        status=Credential.Status.INVALID, last_error="Bitbucket refused it (401) while syncing: Invalid credentials"
    )
    client = Client()
    client.force_login(credential.owner)
    emulator.controls.reset_counts()

    response = client.post(reverse("sync_request", args=[workspace.slug]), **HX)

    text = response.content.decode()
    assert response.status_code == 200
    assert "Bitbucket refused your credential" in text and "Invalid credentials" in text
    assert not SyncRun.objects.filter(workspace=workspace, trigger=SyncRun.Trigger.MANUAL).exists()
    assert total_requests(emulator) == 0


# -- actions -------------------------------------------------------------------------------------------------------


def test_action_401_marks_the_credential_invalid_and_says_so(act_world):
    emu = act_world.emulator
    pr = act_world.open_pr("api-server", author="dave")
    bob = Client()
    bob.force_login(act_world.users["bob"])
    credential = Credential.objects.get(owner=act_world.users["bob"], is_active=True)
    revoke_at_bitbucket(emu, "bob")

    response = bob.post(
        f"/acme/api-server/pull-requests/{pr.number}/review", {"idempotency_key": "r401", "verdict": "approve"}, **HX
    )

    text = response.content.decode()
    assert "Bitbucket refused your credential (401" in text and "marked it invalid" in text
    credential.refresh_from_db()
    assert credential.status == Credential.Status.INVALID and "while acting for its owner" in credential.last_error
    assert AuditEvent.objects.filter(action="credential.refused", subject_user=credential.owner).count() == 1

    # The next action is refused before anything is sent, and says why; the banner is on the page too.
    emu.controls.reset_counts()
    again = bob.post(
        f"/acme/api-server/pull-requests/{pr.number}/review", {"idempotency_key": "r401b", "verdict": "approve"}, **HX
    )
    assert "Bitbucket refused your credential for this site" in again.content.decode()
    assert sent_with(emu, "bob") == 0
    page = bob.get(f"/acme/api-server/pull-requests/{pr.number}").content.decode()
    assert 'class="banner error credential-refused"' in page


def test_action_403_does_not_mark_the_credential(act_world):
    emu = act_world.emulator
    pr = act_world.open_pr("api-server", author="dave")
    bob_user = emulated_user(emu, "bob")
    bob_user.api_token_scopes = [s for s in bob_user.api_token_scopes if s != "write:pullrequest:bitbucket"]
    bob = Client()
    bob.force_login(act_world.users["bob"])

    response = bob.post(
        f"/acme/api-server/pull-requests/{pr.number}/review", {"idempotency_key": "r403", "verdict": "approve"}, **HX
    )

    assert "lacks the scope" in response.content.decode()
    credential = Credential.objects.get(owner=act_world.users["bob"], is_active=True)
    assert credential.status == Credential.Status.VALID
    assert not AuditEvent.objects.filter(action="credential.refused").exists()


# -- the daily re-check --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("encryption_key")
def test_daily_recheck_costs_one_request_refuses_and_restores(emulator):
    _, credential = make_user_with_credential(emulator, "alice")
    token = emulated_user(emulator, "alice").api_token
    emulator.controls.reset_counts()

    assert tasks.recheck_credential_task(credential.pk) == "valid"
    assert total_requests(emulator) == 1
    credential.refresh_from_db()
    assert credential.status == Credential.Status.VALID and credential.last_checked_at is not None

    revoke_at_bitbucket(emulator, "alice")
    emulator.controls.reset_counts()
    assert tasks.recheck_credential_task(credential.pk) == "refused"
    assert total_requests(emulator) == 1
    credential.refresh_from_db()
    assert credential.status == Credential.Status.INVALID and "while checking it" in credential.last_error
    assert tasks.recheck_credential_task(credential.pk) == "unchanged"  # still refused: nothing new recorded
    assert AuditEvent.objects.filter(action="credential.refused").count() == 1

    emulated_user(emulator, "alice").api_token = token  # Bitbucket accepts it again (a spurious refusal)
    emulator.controls.reset_counts()
    assert tasks.recheck_credential_task(credential.pk) == "restored"
    credential.refresh_from_db()
    assert credential.status == Credential.Status.VALID and not credential.last_error.startswith("Bitbucket refused")
    assert 1 < total_requests(emulator) <= 7  # the probe, then the full check that restores it
    assert AuditEvent.objects.filter(action="credential.check", result=AuditEvent.Result.SUCCESS).exists()


@pytest.mark.usefixtures("encryption_key")
def test_a_restored_credential_syncs_again(emulator):
    workspace = setup_workspace(emulator)
    Credential.objects.filter(pk=workspace.sync_credential_id).update(status=Credential.Status.INVALID)
    tasks.sync_all_workspaces()
    assert SyncRun.objects.filter(workspace=workspace, status=SyncRun.Status.SKIPPED).count() == 1

    assert tasks.recheck_credential_task(workspace.sync_credential_id) == "restored"
    tasks.sync_all_workspaces()
    assert SyncRun.objects.filter(workspace=workspace, status=SyncRun.Status.QUEUED).count() == 1


@pytest.mark.usefixtures("encryption_key")
def test_recheck_credentials_spreads_the_work_and_skips_fresh_ones(emulator, monkeypatch, settings):
    settings.BBDASH_CREDENTIAL_CHECK_SPACING_SECONDS = 7
    _, alice = make_user_with_credential(emulator, "alice")
    _, bob = make_user_with_credential(emulator, "bob")
    _, carol = make_user_with_credential(emulator, "carol")
    now = timezone.now()
    Credential.objects.filter(pk=alice.pk).update(last_checked_at=now - timedelta(days=2))
    Credential.objects.filter(pk=bob.pk).update(last_checked_at=now - timedelta(hours=1))  # checked today: skipped
    Credential.objects.filter(pk=carol.pk).update(
        status=Credential.Status.INVALID, last_checked_at=now - timedelta(hours=1)
    )  # refused: asked whatever its age
    queued = []
    monkeypatch.setattr(
        tasks.recheck_credential_task, "apply_async", lambda args, countdown: queued.append((args[0], countdown))
    )
    emulator.controls.reset_counts()

    assert tasks.recheck_credentials() == 2

    assert queued == [(alice.pk, 0), (carol.pk, 7)]
    assert total_requests(emulator) == 0  # the beat task only queues


def test_recheck_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["recheck-credentials-daily"]
    assert entry["task"] == "bitbucket_sync.tasks.recheck_credentials"
    assert entry["schedule"].hour == {settings.BBDASH_CREDENTIAL_CHECK_HOUR}


@pytest.mark.usefixtures("encryption_key")
def test_saving_a_new_credential_lets_syncs_resume(emulator):
    workspace = setup_workspace(emulator)
    owner = workspace.sync_credential.owner
    Credential.objects.filter(pk=workspace.sync_credential_id).update(status=Credential.Status.INVALID)
    person = emulator.account("alice")
    new, _ = save_credential(
        actor=None, owner=owner, kind="api_token", login=person["email"], secret=person["api_token"]
    )
    workspace.refresh_from_db()
    assert workspace.sync_credential_id == new.pk
    tasks.sync_all_workspaces()
    assert SyncRun.objects.filter(workspace=workspace, status=SyncRun.Status.QUEUED).exists()
