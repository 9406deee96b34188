"""Live updates for a Bitbucket Data Center project, end to end: PLAT mirrored from the emulator's Data Center site,
live updates turned on through the product (a project webhook on the site), the site's changes delivered to the
dashboard's live server, each delivery applied by the same function the Celery task calls."""

from __future__ import annotations

import time

import pytest
import requests
from django.urls import reverse

from bitbucket_emulator.world import datacenter_changes as dc
from bitbucket_sync import webhooks
from bitbucket_sync.models import Branch, Participant, PullRequest, Repository, WebhookDelivery, WebhookSubscription
from bitbucket_sync.webhooks import applying
from bitbucket_sync.webhooks.subscriptions import DATACENTER_EVENTS
from dashboard.views.webhooks import _receiver_url

from .dc_mirror import DcMirror, build_dc_mirror

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_dc(emulator, settings, browse_encryption_key, live_server) -> DcMirror:
    mirror = build_dc_mirror(emulator, settings)
    settings.BBDASH_PUBLIC_URL = live_server.url
    url = _receiver_url(mirror.workspace)
    webhooks.enable_live_updates(workspace=mirror.workspace, url=url, actor=mirror.alice)
    return mirror


def applied(emulator, count: int, *, timeout: float = 10.0) -> list[WebhookDelivery]:
    """Wait until the live server has recorded `count` deliveries (the emulator sent them all), apply the queued ones
    in the order they arrived and return them all."""
    assert emulator.datacenter_webhooks.wait_idle(timeout=timeout)
    deadline = time.monotonic() + timeout
    while WebhookDelivery.objects.count() < count:
        assert time.monotonic() < deadline, list(WebhookDelivery.objects.values_list("event", flat=True))
        time.sleep(0.02)
    for delivery in WebhookDelivery.objects.filter(result=WebhookDelivery.Result.QUEUED).order_by("received_at", "id"):
        applying.apply_delivery(delivery_id=delivery.pk)
    return list(WebhookDelivery.objects.order_by("received_at", "id"))


def participant(pr: PullRequest, login: str) -> Participant:
    return Participant.objects.get(pull_request=pr, account__account_id=login)


def test_the_sync_page_switch_turns_live_updates_on_for_a_datacenter_project(
    emulator, settings, browse_encryption_key, client
):
    mirror = build_dc_mirror(emulator, settings)
    settings.BBDASH_PUBLIC_URL = "https://dash.example.test"
    client.force_login(mirror.alice)
    handle = mirror.workspace.slug
    assert "@" in handle
    url = reverse("webhook_subscription_toggle", args=[handle])
    answer = client.post(url, {"enabled": "1"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    html = answer.content.decode()
    # The region is named by the row's id: a handle (`PLAT@127.0.0.1:7990~bitbucket`) is no CSS selector.
    assert (
        f'id="live-updates-{mirror.workspace.pk}"' in html
        and f'hx-target="#live-updates-{mirror.workspace.pk}"' in html
    )
    assert "Turn off live updates" in html, html
    (hook,) = emulator.world.datacenter.webhooks.values()
    assert hook.url == f"https://dash.example.test/hooks/bitbucket-datacenter/{handle}/"
    answer = client.post(url, {"enabled": "0"}, headers={"HX-Request": "true"})
    assert "Turn on live updates" in answer.content.decode()
    assert emulator.world.datacenter.webhooks == {}


def test_turning_live_updates_on_creates_a_signed_project_webhook_with_datacenter_events(live_dc, emulator):
    subscription = WebhookSubscription.objects.get(workspace=live_dc.workspace)
    assert subscription.status == WebhookSubscription.Status.ACTIVE, subscription.last_error
    (hook,) = emulator.world.datacenter.webhooks.values()
    assert (hook.scope_type, hook.project_key, hook.repo_slug) == ("project", "PLAT", None)
    assert set(hook.events) == set(DATACENTER_EVENTS)
    assert hook.secret == subscription.get_secret() and hook.active
    assert subscription.hook_uuid == str(hook.id)
    assert hook.url.endswith(f"/hooks/bitbucket-datacenter/{live_dc.workspace.slug}/")

    # The periodic check finds it; a hook deleted on Bitbucket is re-created; turning off deletes it.
    assert webhooks.check_subscription(subscription_id=subscription.pk).status == WebhookSubscription.Status.ACTIVE
    with emulator.world.lock:
        emulator.world.datacenter.webhooks.clear()
    again = webhooks.check_subscription(subscription_id=subscription.pk)
    (recreated,) = emulator.world.datacenter.webhooks.values()
    assert again.hook_uuid == str(recreated.id) != str(hook.id)
    assert again.status == WebhookSubscription.Status.ACTIVE
    webhooks.disable_live_updates(workspace=live_dc.workspace, actor=live_dc.alice)
    assert emulator.world.datacenter.webhooks == {}


def test_reviews_comments_edits_pushes_and_a_merge_reach_the_mirror(live_dc, emulator):
    world = emulator.world
    repository = Repository.objects.get(workspace=live_dc.workspace, slug="api-gateway")
    pr = PullRequest.objects.get(repository=repository, number=3)
    assert participant(pr, "alice").approved is False

    dc.set_reviewer_status(world, "PLAT", "api-gateway", 3, "alice", "APPROVED")
    dc.set_reviewer_status(world, "PLAT", "api-gateway", 3, "dave", "NEEDS_WORK")
    dc.add_comment(world, "PLAT", "api-gateway", 3, "bob", "Looks slow to me")
    dc.update_pull_request(world, "PLAT", "api-gateway", 3, "carol", title="Time out slow routes after 30 s")
    tip = dc.push(world, "PLAT", "api-gateway", "bugfix/timeout", "carol", {"src/limits.py": "LIMIT = 90\n"})
    deliveries = applied(emulator, 6)

    assert [d.event for d in deliveries] == [
        "pr:reviewer:approved",
        "pr:reviewer:needs_work",
        "pr:comment:added",
        "pr:modified",
        "repo:refs_changed",
        "pr:from_ref_updated",
    ]
    assert {d.result for d in deliveries} == {WebhookDelivery.Result.APPLIED}, [d.message for d in deliveries]
    assert deliveries[0].repository_full_name == "PLAT/api-gateway"
    pr.refresh_from_db()
    assert participant(pr, "alice").approved is True
    assert participant(pr, "dave").state == "changes_requested"
    assert Participant.objects.filter(pull_request=pr, account__account_id="bob").exists()  # the commenter
    assert pr.title == "Time out slow routes after 30 s"
    assert pr.source_commit == tip
    assert Branch.objects.live().get(repository=repository, name="bugfix/timeout").target_hash == tip
    repository.refresh_from_db()
    assert repository.branches_synced_for is None  # the next sync lists the branches and tags again

    dc.merge(world, "PLAT", "api-gateway", 3, "alice")
    deliveries = applied(emulator, 8)
    assert [d.event for d in deliveries[6:]] == ["pr:merged", "repo:refs_changed"]
    pr.refresh_from_db()
    assert pr.state == "MERGED"
    main = emulator.world.datacenter.repository("PLAT", "api-gateway").git.branches["main"]
    assert Branch.objects.live().get(repository=repository, name="main").target_hash == main


def test_a_new_branch_a_new_pull_request_a_decline_and_a_deleted_branch(live_dc, emulator):
    """Each delivery is applied from what Bitbucket shows when it is applied: a branch created and deleted before
    its push was applied never appears."""
    world = emulator.world
    repository = Repository.objects.get(workspace=live_dc.workspace, slug="deploy-tools")
    tip = dc.push(world, "PLAT", "deploy-tools", "feature/canary", "bob", {"canary.sh": "echo canary\n"})
    opened = dc.open_pull_request(
        world,
        "PLAT",
        "deploy-tools",
        source="feature/canary",
        title="Canary deploys",
        author="bob",
        reviewers=["alice"],
    )
    applied(emulator, 2)
    assert Branch.objects.live().get(repository=repository, name="feature/canary").target_hash == tip
    assert PullRequest.objects.get(repository=repository, number=opened.id).state == "OPEN"

    dc.decline(world, "PLAT", "deploy-tools", opened.id, "alice")
    dc.delete_branch(world, "PLAT", "deploy-tools", "feature/canary", "bob")
    deliveries = applied(emulator, 4)

    assert [d.event for d in deliveries] == ["repo:refs_changed", "pr:opened", "pr:declined", "repo:refs_changed"]
    assert {d.result for d in deliveries} == {WebhookDelivery.Result.APPLIED}, [d.message for d in deliveries]
    pr = PullRequest.objects.get(repository=repository, number=opened.id)
    assert (pr.title, pr.state, pr.source_commit) == ("Canary deploys", "DECLINED", tip)
    assert participant(pr, "alice").role == "REVIEWER"
    assert not Branch.objects.live().filter(repository=repository, name="feature/canary").exists()
    subscription = WebhookSubscription.objects.get(workspace=live_dc.workspace)
    assert subscription.gap_detected_at is None  # nothing was missed
    assert webhooks.live_status(workspace=live_dc.workspace).healthy


def test_a_bad_signature_is_refused_and_nothing_is_recorded(live_dc, emulator):
    subscription = WebhookSubscription.objects.get(workspace=live_dc.workspace)
    url = subscription.url
    body = b'{"eventKey": "pr:declined", "pullRequest": {"id": 2}}'
    headers = {"Content-Type": "application/json", "X-Event-Key": "pr:declined", "X-Request-Id": "r-1"}
    wrong = webhooks.sign(secret="not-the-secret", body=body)
    for signature in (wrong, None, wrong.replace("sha256=", "sha1=")):
        sent = dict(headers) if signature is None else {**headers, "X-Hub-Signature": signature}
        answer = requests.post(url, data=body, headers=sent, timeout=5)
        assert answer.status_code == 403, answer.text
    # The same delivery signed right is taken: the refusals were the signature's doing.
    good = {**headers, "X-Hub-Signature": webhooks.sign(secret=subscription.get_secret(), body=body)}
    assert requests.post(url, data=body, headers=good, timeout=5).status_code == 202
    assert list(WebhookDelivery.objects.values_list("request_uuid", flat=True)) == ["r-1"]
    # Data Center's "Test connection" is answered, not recorded.
    ping = b'{"test": true}'
    pinged = {
        "Content-Type": "application/json",
        "X-Event-Key": "diagnostics:ping",
        "X-Request-Id": "r-2",
        "X-Hub-Signature": webhooks.sign(secret=subscription.get_secret(), body=ping),
    }
    assert requests.post(url, data=ping, headers=pinged, timeout=5).status_code == 200
    assert WebhookDelivery.objects.count() == 1
    assert PullRequest.objects.get(repository__slug="api-gateway", number=2).state == "OPEN"


@pytest.mark.slow
def test_a_celery_worker_applies_an_approval_without_polling(live_dc, emulator, celery_worker_factory, settings):
    """The whole way: the site delivers to the live server, which enqueues; a real worker applies it (with the same
    Data Center sites configured), reading that one pull request and nothing else."""
    worker = celery_worker_factory(
        concurrency=1,
        BBDASH_ENCRYPTION_KEYS=settings.BBDASH_ENCRYPTION_KEYS[0],
        BBDASH_DATACENTER_URLS=emulator.datacenter_url,
    )
    pr = PullRequest.objects.get(repository__slug="api-gateway", number=3)
    emulator.controls.reset_counts()
    dc.set_reviewer_status(emulator.world, "PLAT", "api-gateway", 3, "dave", "APPROVED")
    deadline = time.monotonic() + 15
    while not participant(pr, "dave").approved:
        assert time.monotonic() < deadline, worker.log()[-3000:]
        time.sleep(0.05)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.result) == ("pr:reviewer:approved", WebhookDelivery.Result.APPLIED)
    counts = emulator.controls.counts()
    assert counts["total"] == 1, counts  # GET {PR}: the one read the delivery asked for
