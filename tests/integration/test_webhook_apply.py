"""Registration through the client, and deliveries built by the emulator applied to a mirror of its world.

The emulator drops every delivery here (its drop-deliveries control): it builds and signs each payload as Bitbucket
would and logs it, and the test records and applies them itself (the HTTP path is covered by the receiver and
end-to-end tests).
"""

from __future__ import annotations

import json

import pytest

from bitbucket_sync import webhooks
from bitbucket_sync.models import (
    AuditEvent,
    Branch,
    Participant,
    PullRequest,
    WebhookDelivery,
    WebhookSubscription,
)
from tests import factories as f
from tests.fixtures.world import DEAD_URL

pytestmark = pytest.mark.django_db


def _emitted(world, start: int, event: str):
    found = [d for d in list(world.emulator.webhooks.log)[start:] if d.event == event]
    assert found, f"the emulator sent no {event}"
    return found


def _apply(world, delivery, *, payload=None) -> WebhookDelivery:
    recorded, created = webhooks.record_delivery(
        subscription=world.subscription,
        request_uuid=delivery.request_uuid,
        event=delivery.event,
        payload=payload if payload is not None else json.loads(delivery.body),
        hook_uuid=delivery.hook_uuid,
    )
    assert created
    return webhooks.apply_delivery(delivery_id=recorded.pk)


def _open_pr(slug: str = "api-server") -> PullRequest:
    return PullRequest.objects.filter(repository__slug=slug, state="OPEN").order_by("number").first()


def _hooks(world):
    with world.emulator.world.lock:
        return list(world.emulator.world.workspace("acme").hooks)


def test_webhook_registration_creates_one_signed_workspace_hook(hooked):
    (hook,) = _hooks(hooked)
    sub = WebhookSubscription.objects.get(workspace=hooked.workspace)
    assert (sub.status, sub.hook_uuid, sub.url) == ("active", hook.uuid, DEAD_URL)
    assert sorted(hook.events) == sorted(webhooks.EVENTS)
    assert hook.secret and hook.secret == sub.get_secret()
    assert hook.secret not in sub.secret_encrypted and hook.secret not in repr(sub)
    assert AuditEvent.objects.filter(action="webhook.create", result="success", actor=hooked.alice).count() == 1

    webhooks.disable_live_updates(workspace=hooked.workspace, actor=hooked.alice)
    assert _hooks(hooked) == []
    sub.refresh_from_db()
    assert (sub.enabled, sub.status, sub.hook_uuid, sub.secret_encrypted) == (False, "off", "", "")
    assert AuditEvent.objects.filter(action="webhook.delete", result="success").count() == 1


def test_webhook_check_recreates_a_hook_bitbucket_lost(hooked):
    (lost,) = _hooks(hooked)
    with hooked.client() as client:
        client.delete_webhook("acme", lost.uuid)
    sub = webhooks.check_subscription(subscription_id=hooked.subscription.pk)
    (again,) = _hooks(hooked)
    assert again.uuid != lost.uuid
    assert (sub.status, sub.hook_uuid) == ("active", again.uuid)
    assert again.secret == sub.get_secret()
    assert sub.gap_detected_at is not None  # deliveries may have been lost meanwhile
    assert AuditEvent.objects.filter(action="webhook.recreate", result="success", actor=None).exists()


def test_webhook_check_keeps_a_healthy_hook(hooked):
    before = hooked.subscription.hook_uuid
    sub = webhooks.check_subscription(subscription_id=hooked.subscription.pk)
    assert (sub.status, sub.hook_uuid, sub.gap_detected_at) == ("active", before, None)
    assert len(_hooks(hooked)) == 1


def test_webhook_pull_request_event_applies_without_requests(hooked):
    emu, pr = hooked.emulator, _open_pr()
    start = len(emu.webhooks.log)
    emu.world.update_pull_request_title("acme", "api-server", pr.number, "alice", "Retry the payment call")
    (delivery,) = _emitted(hooked, start, "pullrequest:updated")
    emu.controls.reset_counts()
    applied = _apply(hooked, delivery)
    assert applied.result == "applied", applied.message
    assert emu.controls.counts()["total"] == 0  # the payload carries the whole pull request
    pr.refresh_from_db()
    assert pr.title == "Retry the payment call"
    assert applied.payload is None and applied.latency_ms is not None


def test_webhook_condensed_pull_request_is_read_in_full(hooked):
    emu, pr = hooked.emulator, _open_pr()
    world = emu.world
    carol = emu.account("carol")["uuid"]
    start = len(emu.webhooks.log)
    with world.lock:
        repo = world.repository("acme", "api-server")
        world.set_review(repo, world.pull_request(repo, pr.number), carol, "approved")
    (delivery,) = _emitted(hooked, start, "pullrequest:approved")
    payload = json.loads(delivery.body)
    del payload["pullrequest"]["participants"], payload["pullrequest"]["reviewers"]
    emu.controls.reset_counts()
    applied = _apply(hooked, delivery, payload=payload)
    assert applied.result == "applied" and "read in full" in applied.message
    counts = emu.controls.counts()
    assert counts["total"] == 1, counts
    (endpoint,) = counts["by_endpoint"]
    assert endpoint == "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}"
    assert Participant.objects.get(pull_request=pr, account__bitbucket_uuid=carol).approved


def test_webhook_push_updates_branch(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    commit = emu.world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "pushed\n"})
    (delivery,) = _emitted(hooked, start, "repo:push")
    emu.controls.reset_counts()
    applied = _apply(hooked, delivery)
    assert applied.result == "applied", applied.message
    assert emu.controls.counts()["total"] == 0  # it starts at the mirror's tip: the payload is enough
    assert Branch.objects.get(repository__slug="api-server", name="release/1.4").target_hash == commit.hash
    assert WebhookSubscription.objects.get().gap_detected_at is None


def test_webhook_push_after_a_lost_one_flags_a_gap(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    emu.world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "one\n"})
    second = emu.world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "two\n"})
    _lost, delivered = _emitted(hooked, start, "repo:push")
    applied = _apply(hooked, delivered)
    assert applied.result == "applied"
    assert Branch.objects.get(repository__slug="api-server", name="release/1.4").target_hash == second.hash
    sub = WebhookSubscription.objects.get()
    assert sub.gap_detected_at is not None and "release/1.4" in sub.gap_reason
    assert webhooks.live_status(workspace=hooked.workspace).state == "gap"


def test_webhook_branch_deleted_by_push_is_marked_removed(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    with emu.world.lock:
        emu.world.delete_branch(emu.world.repository("acme", "api-server"), "hotfix/timeout", None)
    (delivery,) = _emitted(hooked, start, "repo:push")
    assert _apply(hooked, delivery).result == "applied"
    assert Branch.objects.get(repository__slug="api-server", name="hotfix/timeout").removed_at is not None


def test_webhook_push_deleting_a_branch_the_mirror_has_elsewhere_reads_it_first(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        emu.world.delete_branch(repo, "hotfix/timeout", None)
    (deletion,) = _emitted(hooked, start, "repo:push")
    Branch.objects.filter(repository__slug="api-server", name="hotfix/timeout").update(target_hash="f" * 40)
    applied = _apply(hooked, deletion)
    assert applied.result == "applied" and "deleted (read from Bitbucket)" in applied.message
    assert Branch.objects.get(repository__slug="api-server", name="hotfix/timeout").removed_at is not None


def test_webhook_push_not_from_the_tip_without_sync_credential_keeps_the_branch(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    emu.world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "one\n"})
    emu.world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "two\n"})
    _lost, delivered = _emitted(hooked, start, "repo:push")
    before = Branch.objects.get(repository__slug="api-server", name="release/1.4").target_hash
    hooked.workspace.sync_credential = None
    hooked.workspace.save(update_fields=["sync_credential"])
    emu.controls.reset_counts()
    applied = _apply(hooked, delivered)
    assert applied.result == "applied" and "no sync credential" in applied.message
    assert emu.controls.counts()["total"] == 0
    assert Branch.objects.get(repository__slug="api-server", name="release/1.4").target_hash == before
    assert WebhookSubscription.objects.get().gap_detected_at is not None  # the next poll repairs it


def test_webhook_out_of_order_event_is_ignored(hooked):
    emu, pr = hooked.emulator, _open_pr()
    start = len(emu.webhooks.log)
    emu.world.time_travel(1)
    emu.world.update_pull_request_title("acme", "api-server", pr.number, "alice", "First title")
    emu.world.time_travel(1)
    emu.world.update_pull_request_title("acme", "api-server", pr.number, "alice", "Second title")
    first, second = _emitted(hooked, start, "pullrequest:updated")
    assert _apply(hooked, second).result == "applied"
    late = _apply(hooked, first)
    assert late.result == "ignored" and "out of order" in late.message
    pr.refresh_from_db()
    assert pr.title == "Second title"


def test_webhook_unknown_event_is_logged_and_ignored(hooked, caplog):
    emu, pr = hooked.emulator, _open_pr()
    start = len(emu.webhooks.log)
    emu.world.update_pull_request_title("acme", "api-server", pr.number, "alice", "Not applied")
    (delivery,) = _emitted(hooked, start, "pullrequest:updated")
    delivery.event = "repo:fork"
    with caplog.at_level("INFO", logger="bitbucket_sync.webhooks"):
        applied = _apply(hooked, delivery)
    assert applied.result == "ignored"
    assert "repo:fork" in caplog.text
    pr.refresh_from_db()
    assert pr.title != "Not applied"


def test_webhook_never_crosses_into_another_workspace(hooked):
    emu, pr = hooked.emulator, _open_pr()
    other = f.repository(f.workspace("elsewhere"), "secret")
    start = len(emu.webhooks.log)
    emu.world.update_pull_request_title("acme", "api-server", pr.number, "alice", "Smuggled")
    (delivery,) = _emitted(hooked, start, "pullrequest:updated")
    payload = json.loads(delivery.body)
    payload["repository"]["uuid"] = other.bitbucket_uuid
    applied = _apply(hooked, delivery, payload=payload)
    assert applied.result == "ignored" and "another workspace" in applied.message
    assert not PullRequest.objects.filter(repository=other).exists()
    assert not PullRequest.objects.filter(title="Smuggled").exists()


def test_webhook_unparseable_payload_fails_with_the_reason(hooked):
    emu, pr = hooked.emulator, _open_pr()
    start = len(emu.webhooks.log)
    emu.world.update_pull_request_title("acme", "api-server", pr.number, "alice", "Broken")
    (delivery,) = _emitted(hooked, start, "pullrequest:updated")
    payload = json.loads(delivery.body)
    del payload["pullrequest"]["updated_on"]
    applied = _apply(hooked, delivery, payload=payload)
    assert applied.result == "failed" and "updated_on" in applied.message
    assert applied.payload is not None  # kept for a look


def test_webhook_switch_on_sync_page_turns_live_updates_on_and_off(live_mirror, client, settings):
    settings.BBDASH_PUBLIC_URL = "https://dash.example.com"
    client.force_login(live_mirror.alice)
    on = client.post("/-/sync/webhooks/acme/toggle", {"enabled": "1"}, HTTP_HX_REQUEST="true")
    assert on.status_code == 200
    assert "Turn off live updates" in on.content.decode()
    (hook,) = _hooks(live_mirror)
    uuid = live_mirror.workspace.bitbucket_uuid.strip("{}")
    assert hook.url == f"https://dash.example.com/hooks/bitbucket/{uuid}/"
    off = client.post("/-/sync/webhooks/acme/toggle", {"enabled": "0"})
    assert off.status_code == 302
    assert _hooks(live_mirror) == []
    assert WebhookSubscription.objects.get().status == "off"


def test_webhook_switch_shows_bitbucket_refusal(live_mirror, client, settings):
    settings.BBDASH_PUBLIC_URL = "https://dash.example.com"
    bob = live_mirror.users["bob"]
    bob.is_staff = True  # staff here, a plain member on Bitbucket (with his own credential)
    bob.save()
    client.force_login(bob)
    answer = client.post("/-/sync/webhooks/acme/toggle", {"enabled": "1"}, HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert "Bitbucket refused to create the webhook" in html and "owners" in html
    assert _hooks(live_mirror) == []
    sub = WebhookSubscription.objects.get()
    assert sub.status == "error"
    assert webhooks.live_status(workspace=live_mirror.workspace).state == "failing"
    assert AuditEvent.objects.filter(action="webhook.create", result="failure", actor=bob).exists()


def test_webhook_turning_on_again_leaves_one_hook(hooked):
    WebhookSubscription.objects.update(status=WebhookSubscription.Status.ERROR, last_error="earlier trouble")
    again = webhooks.enable_live_updates(workspace=hooked.workspace, url=DEAD_URL, actor=hooked.alice)
    (hook,) = _hooks(hooked)
    assert (again.status, again.hook_uuid) == ("active", hook.uuid)
    assert hook.uuid != hooked.subscription.hook_uuid


def test_webhook_push_delivered_late_keeps_the_newer_tip(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    emu.world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "one\n"})
    emu.world.time_travel(60)
    second = emu.world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "two\n"})
    first_push, second_push = _emitted(hooked, start, "repo:push")
    assert _apply(hooked, second_push).result == "applied"
    late = _apply(hooked, first_push)
    # It does not start at the mirror's tip: Bitbucket is asked where the branch is, and that is kept.
    assert late.result == "applied" and "kept at" in late.message and "read from Bitbucket" in late.message
    assert Branch.objects.get(repository__slug="api-server", name="release/1.4").target_hash == second.hash


def test_webhook_push_already_polled_is_no_gap(hooked):
    emu = hooked.emulator
    start = len(emu.webhooks.log)
    pushed = emu.world.commit_files("acme", "api-server", "release/1.4", "alice", {"NOTES.md": "polled first\n"})
    hooked.sync()  # the poll saw the new tip before the delivery was applied
    assert Branch.objects.get(repository__slug="api-server", name="release/1.4").target_hash == pushed.hash
    (delivery,) = _emitted(hooked, start, "repo:push")
    assert _apply(hooked, delivery).result == "applied"
    assert WebhookSubscription.objects.get().gap_detected_at is None


def test_webhook_redelivery_through_the_receiver_changes_nothing(hooked, client, django_capture_on_commit_callbacks):
    emu, pr = hooked.emulator, _open_pr()
    start = len(emu.webhooks.log)
    emu.world.update_pull_request_title("acme", "api-server", pr.number, "alice", "Applied once")
    (sent,) = _emitted(hooked, start, "pullrequest:updated")
    uuid = hooked.workspace.bitbucket_uuid.strip("{}")
    headers = {
        "HTTP_X_EVENT_KEY": sent.event,
        "HTTP_X_REQUEST_UUID": sent.request_uuid,
        "HTTP_X_HOOK_UUID": sent.hook_uuid,
        "HTTP_X_HUB_SIGNATURE": webhooks.sign(secret=hooked.subscription.get_secret(), body=sent.body),
    }

    def post(attempt: int):
        return client.post(
            f"/hooks/bitbucket/{uuid}/",
            data=sent.body,
            content_type="application/json",
            HTTP_X_ATTEMPT_NUMBER=str(attempt),
            **headers,
        )

    with django_capture_on_commit_callbacks() as first:
        assert post(1).status_code == 202
    (delivery,) = WebhookDelivery.objects.all()
    webhooks.apply_delivery(delivery_id=delivery.pk)  # what the enqueued task does
    pr.refresh_from_db()
    assert pr.title == "Applied once"
    snapshot = (pr.synced_at, pr.updated_on, list(WebhookDelivery.objects.values()))

    with django_capture_on_commit_callbacks() as again:
        assert post(2).status_code == 200
    assert len(first) == 1 and again == []  # nothing enqueued the second time
    assert webhooks.apply_delivery(delivery_id=delivery.pk).result == "applied"  # a duplicate task does nothing
    pr.refresh_from_db()
    after = list(WebhookDelivery.objects.values())
    assert after[0].pop("redeliveries") == 1
    snapshot[2][0].pop("redeliveries")
    assert (pr.synced_at, pr.updated_on, after) == snapshot
    assert WebhookSubscription.objects.get().gap_detected_at is None  # a redelivery is not a lost delivery
