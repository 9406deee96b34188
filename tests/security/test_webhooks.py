"""Webhook holes: uniform refusals at the public receiver, and signed deliveries replayed under a new request UUID."""

from __future__ import annotations

import json
import uuid
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bitbucket_emulator.world import statuses as emulated_statuses
from bitbucket_sync import webhooks
from bitbucket_sync.models import Branch, BuildStatus, WebhookDelivery, WebhookSubscription, Workspace
from tests import factories as f

SECRET = "s3cret-for-tests-only"


# -- the receiver's refusals -----------------------------------------------------------------------------------------


@pytest.fixture
def subscription(settings, db):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    workspace = Workspace.objects.create(bitbucket_uuid="{" + str(uuid.uuid4()) + "}", slug="acme", name="Acme")
    return f.webhook_subscription(workspace, secret=SECRET)


def _refusals(client, subscription) -> dict[str, tuple]:
    """The same signed body posted as an unknown workspace, a workspace with live updates off, a bad signature and a
    secret that cannot be decrypted: each answer with the database queries and signature checks it cost."""
    body = json.dumps({"repository": {"uuid": "{r}", "full_name": "acme/api"}}).encode()
    signed = webhooks.sign(secret=SECRET, body=body)
    known = subscription.workspace.bitbucket_uuid.strip("{}")

    def post(workspace_uuid: str, signature: str):
        compare = mock.patch.object(
            webhooks.receiving.hmac, "compare_digest", wraps=webhooks.receiving.hmac.compare_digest
        )
        with CaptureQueriesContext(connection) as queries, compare as checked:
            response = client.post(
                f"/hooks/bitbucket/{workspace_uuid}/",
                data=body,
                content_type="application/json",
                HTTP_X_HUB_SIGNATURE=signature,
                HTTP_X_REQUEST_UUID=str(uuid.uuid4()),
                HTTP_X_EVENT_KEY="repo:push",
            )
        return response, len(queries), checked.call_count

    answers = {
        "unknown workspace": post(str(uuid.uuid4()), signed),
        "bad signature": post(known, webhooks.sign(secret="not-the-secret", body=body)),
    }
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    )
    answers["unreadable secret"] = post(known, signed)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        enabled=False, secret_encrypted=subscription.secret_encrypted
    )
    answers["live updates off"] = post(known, signed)
    assert not WebhookDelivery.objects.exists()
    return answers


def test_receiver_refusals_answer_the_same(client, subscription):
    answers = _refusals(client, subscription)
    shapes = {
        # Expires is the moment of answering (never_cache), whichever the answer.
        name: (response.status_code, response.content, sorted(h for h in response.headers.items() if h[0] != "Expires"))
        for name, (response, _queries, _checks) in answers.items()
    }
    first = shapes["bad signature"]
    assert first[0] == 403
    assert all(shape == first for shape in shapes.values()), shapes


def test_receiver_refusals_do_the_same_work(client, subscription):
    answers = _refusals(client, subscription)
    work = {name: (queries, checks) for name, (_response, queries, checks) in answers.items()}
    # One query and one constant-time signature comparison, whichever the reason: no timing tells them apart.
    assert set(work.values()) == {(1, 1)}, work


# -- replayed pushes -------------------------------------------------------------------------------------------------


def _pushes(world, start: int) -> list:
    found = [d for d in list(world.emulator.webhooks.log)[start:] if d.event == "repo:push"]
    assert found, "the emulator sent no repo:push"
    return found


def _apply(world, sent, *, request_uuid: str | None = None) -> WebhookDelivery:
    recorded, created = webhooks.record_delivery(
        subscription=world.subscription,
        request_uuid=request_uuid or sent.request_uuid,
        event=sent.event,
        payload=json.loads(sent.body),
        hook_uuid=sent.hook_uuid,
    )
    assert created
    applied = webhooks.apply_delivery(delivery_id=recorded.pk)
    assert applied is not None
    return applied


def _replay(world, sent) -> WebhookDelivery:
    """The same signed body again under a request UUID Bitbucket never sent (the receiver records it as new)."""
    return _apply(world, sent, request_uuid=str(uuid.uuid4()))


def _branch(name: str, slug: str = "api-server") -> Branch:
    return Branch.objects.get(repository__slug=slug, name=name)


def _counts_by_endpoint(world) -> dict:
    return {endpoint: hits["total"] for endpoint, hits in world.emulator.controls.counts()["by_endpoint"].items()}


def test_push_replayed_does_not_move_branch_backwards(hooked):
    emu, world = hooked.emulator, hooked.emulator.world
    start = len(emu.webhooks.log)
    world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "undone below\n"})
    with world.lock:
        repo = world.repository("acme", "api-server")
        parent = repo.commits[repo.branches["release/1.4"]].parents[0]
        world.move_branch(repo, "release/1.4", parent, None)  # reset back one commit
    world.time_travel(60)
    newer = world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "after the reset\n"})
    undone, forced, later = _pushes(hooked, start)
    assert json.loads(forced.body)["push"]["changes"][0]["forced"]  # a history rewrite: not ordered by dates
    assert _apply(hooked, undone).result == "applied"
    assert _apply(hooked, forced).result == "applied"
    assert _apply(hooked, later).result == "applied"
    assert _branch("release/1.4").target_hash == newer.hash

    emu.controls.reset_counts()
    replayed = _replay(hooked, forced)

    assert _branch("release/1.4").target_hash == newer.hash, replayed.message
    # Its `old` is not the mirror's tip: the branch was read once, with the workspace's sync credential.
    assert _counts_by_endpoint(hooked) == {"GET /2.0/repositories/{workspace}/{repo_slug}/refs/branches/{name}": 1}


def test_push_replayed_creation_does_not_reset_a_live_branch(hooked):
    emu, world = hooked.emulator, hooked.emulator.world
    start = len(emu.webhooks.log)
    with world.lock:
        repo = world.repository("acme", "api-server")
        tip = repo.branches["main"]
        older = repo.commits[tip].parents[0]
        world.create_branch(repo, "feature/replayed", tip, None)
        world.move_branch(repo, "feature/replayed", older, None)  # reset to an older commit
    created, reset = _pushes(hooked, start)
    assert _apply(hooked, created).result == "applied"
    assert _apply(hooked, reset).result == "applied"
    assert _branch("feature/replayed").target_hash == older

    _replay(hooked, created)

    branch = _branch("feature/replayed")
    assert (branch.target_hash, branch.removed_at) == (older, None)


def test_push_replayed_deletion_does_not_remove_a_recreated_branch(hooked):
    emu, world = hooked.emulator, hooked.emulator.world
    start = len(emu.webhooks.log)
    with world.lock:
        repo = world.repository("acme", "api-server")
        deleted_at, recreated_at = repo.branches["hotfix/timeout"], repo.branches["main"]
        assert deleted_at != recreated_at
        world.delete_branch(repo, "hotfix/timeout", None)
        world.create_branch(repo, "hotfix/timeout", recreated_at, None)
    deletion, creation = _pushes(hooked, start)
    assert _apply(hooked, deletion).result == "applied"
    assert _apply(hooked, creation).result == "applied"

    _replay(hooked, deletion)

    branch = _branch("hotfix/timeout")
    assert (branch.target_hash, branch.removed_at) == (recreated_at, None)


def test_build_status_replayed_does_not_turn_a_build_back(hooked):
    """A signed status body replayed under a new request UUID (or delivered late) must not make a passed build look
    failed again: the older `updated_on` loses."""
    world = hooked.emulator.world
    start = len(hooked.emulator.webhooks.log)
    emulated_statuses.set_status(world, "acme", "api-server", "ci-build", "FAILED", pr_id=5)
    world.time_travel(5)
    emulated_statuses.set_status(world, "acme", "api-server", "ci-build", "SUCCESSFUL", pr_id=5)
    failed, passed = [d for d in list(hooked.emulator.webhooks.log)[start:] if d.event.startswith("repo:commit_status")]
    assert _apply(hooked, failed).result == "applied"
    assert _apply(hooked, passed).result == "applied"
    _replay(hooked, failed)
    assert BuildStatus.objects.get(pull_request=hooked.pr("api-server", 5), key="ci-build").state == "SUCCESSFUL"
    assert hooked.pr("api-server", 5).build_state == "SUCCESSFUL"


def test_build_status_for_another_workspaces_repository_is_ignored(hooked):
    world = hooked.emulator.world
    other = f.repository(f.workspace("elsewhere"), "secret")
    start = len(hooked.emulator.webhooks.log)
    emulated_statuses.set_status(world, "acme", "api-server", "ci-build", "FAILED", pr_id=5)
    (sent,) = [d for d in list(hooked.emulator.webhooks.log)[start:] if d.event.startswith("repo:commit_status")]
    payload = json.loads(sent.body)
    payload["repository"]["uuid"] = other.bitbucket_uuid
    recorded, _ = webhooks.record_delivery(
        subscription=hooked.subscription,
        request_uuid=sent.request_uuid,
        event=sent.event,
        payload=payload,
        hook_uuid=sent.hook_uuid,
    )
    applied = webhooks.apply_delivery(delivery_id=recorded.pk)
    assert applied is not None and applied.result == "ignored"
    assert hooked.pr("api-server", 5).build_state == "INPROGRESS"
