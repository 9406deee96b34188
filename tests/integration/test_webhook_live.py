"""End to end: the emulator delivers signed webhooks to a live test server, a real Celery worker applies them.

Polling is counted at the emulator: a change that reaches the mirror with zero requests came through the webhook.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from bitbucket_sync import tasks, webhooks
from bitbucket_sync.models import BuildStatus, PullRequest, SyncRun, WebhookDelivery, WebhookSubscription

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_webhook_merge_reaches_the_mirror_within_two_seconds_without_polling(live_updates):
    world, emu = live_updates, live_updates.emulator
    pr = world.mergeable_open_pr()
    emu.controls.reset_counts()
    world.merge_in_bitbucket(pr)
    merged_at = time.monotonic()
    world.wait_for(
        lambda: PullRequest.objects.get(pk=pr.pk).state == "MERGED", timeout=2.0, what="the merge in the mirror"
    )
    elapsed = time.monotonic() - merged_at
    counts = emu.controls.counts()
    assert counts["total"] == 0, counts  # not one polling (or refresh) request reached Bitbucket
    delivery = WebhookDelivery.objects.get(event="pullrequest:fulfilled")
    assert delivery.result == "applied", delivery.message
    assert delivery.latency_ms is not None and delivery.latency_ms < 2000
    print(f"merge -> mirror in {elapsed * 1000:.0f} ms; receipt -> applied {delivery.latency_ms} ms")
    # The emulator got 202s: nothing was retried.
    attempts = [a for d in emu.webhooks.deliveries() for a in d["attempts"]]
    assert attempts and {a["status"] for a in attempts} == {202}


def test_webhook_lost_deliveries_are_repaired_by_reconciliation_polling(live_updates, settings, client):
    world, emu = live_updates, live_updates.emulator
    heard, lost = PullRequest.objects.filter(repository__slug="web-frontend", state="OPEN").order_by("number")[:2]
    client.force_login(world.alice)

    def live_state() -> str:
        """What the sync page's live-updates region says about the workspace."""
        url = reverse("webhook_subscription_detail", args=[world.workspace.slug])
        answer = client.get(url, headers={"HX-Request": "true"})
        assert answer.status_code == 200
        return answer.content.decode()

    # A delivery arrives: webhooks are healthy, so the scheduler will poll only at the slow cadence.
    emu.world.update_pull_request_title("acme", "web-frontend", heard.number, "bob", "Heard through the webhook")
    world.wait_for(
        lambda: WebhookDelivery.objects.filter(event="pullrequest:updated", result="applied").exists(),
        timeout=10,
        what="the first delivery",
    )
    assert "Deliveries are arriving" in live_state()

    # Bitbucket loses the next one: built and logged by the emulator, never sent, never retried.
    emu.controls.drop_webhooks(count=1, events=["pullrequest:updated"])
    emu.world.update_pull_request_title("acme", "web-frontend", lost.number, "bob", "Renamed while nobody listened")
    assert emu.webhooks.wait_idle(timeout=10)
    dropped = emu.webhooks.deliveries()[-1]
    assert (dropped["event"], dropped["dropped"], dropped["attempts"]) == ("pullrequest:updated", True, [])
    assert emu.controls.webhook_drop is None  # only that one
    assert WebhookDelivery.objects.filter(event="pullrequest:updated").count() == 1  # nothing reached us
    assert PullRequest.objects.get(pk=lost.pk).title != "Renamed while nobody listened"

    # Webhooks still look healthy (nothing says a delivery was lost), so the scheduler polls only at the slow cadence...
    assert webhooks.live_status(workspace=world.workspace).healthy
    assert not webhooks.poll_due(workspace=world.workspace)
    tasks.sync_all_workspaces()
    scheduled = SyncRun.objects.filter(workspace=world.workspace, trigger=SyncRun.Trigger.SCHEDULE)
    assert not scheduled.exists()  # the beat tick skipped it (alice's other workspace, without webhooks, was not)
    # ...and once that cadence has passed, its reconciliation poll repairs the mirror.
    SyncRun.objects.update(created_at=timezone.now() - timedelta(minutes=settings.BBDASH_WEBHOOK_POLL_MINUTES + 1))
    emu.controls.reset_counts()
    tasks.sync_all_workspaces()
    world.wait_for(
        lambda: PullRequest.objects.get(pk=lost.pk).title == "Renamed while nobody listened",
        timeout=60,
        what="the reconciliation poll",
        interval=0.2,
    )
    assert emu.controls.counts()["total"] > 0  # repaired by polling, not by a delivery
    run = scheduled.get()
    world.wait_for(lambda: SyncRun.objects.get(pk=run.pk).status == "succeeded", timeout=60, what="the poll's end")

    # No delivery for longer than the silence limit while Bitbucket shows activity: back to normal polling.
    silent_since = timezone.now() - timedelta(minutes=settings.BBDASH_WEBHOOK_SILENCE_MINUTES + 5)
    WebhookSubscription.objects.filter(pk=world.subscription.pk).update(last_delivery_at=silent_since)
    PullRequest.objects.filter(pk=lost.pk).update(updated_on=timezone.now())
    status = webhooks.live_status(workspace=world.workspace)
    assert status.state == "silent", status
    assert webhooks.poll_due(workspace=world.workspace)
    said = live_state()
    assert "No delivery for over" in said and "polling at the normal cadence" in said


def test_webhook_build_status_posted_through_the_emulator_control_reaches_the_mirror(live_updates):
    world, emu = live_updates, live_updates.emulator
    running = world.pr("api-server", 5)  # the demo's build in progress
    assert running.build_state == "INPROGRESS"
    emu.controls.reset_counts()
    body = {"workspace": "acme", "repo_slug": "api-server", "pr_id": 5, "key": "ci-build", "state": "SUCCESSFUL"}
    answer = requests.post(f"{emu.base_url}/_emulator/statuses", json=body, timeout=5)
    assert answer.status_code == 200, answer.text
    world.wait_for(
        lambda: PullRequest.objects.get(pk=running.pk).build_state == "SUCCESSFUL",
        timeout=10,
        what="the finished build in the mirror",
    )
    assert emu.controls.counts()["total"] == 0  # no polling: the webhook brought it
    delivery = WebhookDelivery.objects.get(event="repo:commit_status_updated")
    assert delivery.result == "applied", delivery.message
    assert BuildStatus.objects.get(pull_request=running, key="ci-build").state == "SUCCESSFUL"
