"""The delivery log, the live-updates region and switch, the "changed since" endpoint, and the health rules."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from bitbucket_sync import webhooks
from bitbucket_sync.models import PullRequest, SyncRun, WebhookDelivery, WebhookSubscription
from tests import factories as f

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(db, settings):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users; not under test
    ws = f.workspace("acme")
    repo = f.repository(ws, "api")
    hidden = f.repository(ws, "infra")
    staff = f.user("alice", is_staff=True)
    member = f.user("bob")
    f.grant(staff, repo, hidden)
    f.grant(member, repo)
    pr = f.pull_request(repo, number=1, synced_at=timezone.now() - timedelta(minutes=5))
    secret_pr = f.pull_request(hidden, number=7, synced_at=timezone.now() - timedelta(minutes=5))
    return {"ws": ws, "repo": repo, "hidden": hidden, "staff": staff, "member": member, "pr": pr, "secret": secret_pr}


def _subscription(ws, **fields) -> WebhookSubscription:
    defaults = {
        "enabled": True,
        "status": WebhookSubscription.Status.ACTIVE,
        "hook_uuid": "{hook}",
        "url": "https://dash.example.com/hooks/bitbucket/x/",
        "enabled_at": timezone.now() - timedelta(hours=2),
    }
    sub = WebhookSubscription(workspace=ws, **(defaults | fields))
    sub.set_secret("secret")
    sub.save()
    return sub


def test_delivery_list_shows_deliveries_to_staff(client, world):
    _subscription(world["ws"], last_delivery_at=timezone.now())
    WebhookDelivery.objects.create(
        workspace=world["ws"],
        request_uuid="r1",
        event="pullrequest:fulfilled",
        received_at=timezone.now(),
        applied_at=timezone.now() + timedelta(milliseconds=120),
        result=WebhookDelivery.Result.APPLIED,
        repository_full_name="acme/api",
        target="#1",
        message="Pull request acme/api#1 updated (merged)",
    )
    client.force_login(world["staff"])
    response = client.get("/-/sync/webhooks/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "pullrequest:fulfilled" in html and "120 ms" in html and "applied" in html
    assert "Turn off live updates" in html


def test_delivery_list_refused_to_members(client, world):
    client.force_login(world["member"])
    assert client.get("/-/sync/webhooks/").status_code == 404


def test_subscription_detail_fragment_shows_state(client, world):
    client.force_login(world["member"])
    response = client.get("/-/sync/webhooks/acme/", **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="live-updates-{world["ws"].pk}"' in html and "Live updates are off" in html
    assert "Turn on" not in html  # members see the state, not the switch
    assert client.get("/-/sync/webhooks/nope/", **HX).status_code == 404


def test_toggle_without_public_url_says_why(client, world, settings):
    settings.BBDASH_PUBLIC_URL = ""
    client.force_login(world["staff"])
    response = client.post("/-/sync/webhooks/acme/toggle", {"enabled": "1"}, **HX)
    assert response.status_code == 200
    assert "BBDASH_PUBLIC_URL is not set" in response.content.decode()
    assert not WebhookSubscription.objects.filter(enabled=True).exists()


def test_toggle_refused_to_members(client, world):
    client.force_login(world["member"])
    assert client.post("/-/sync/webhooks/acme/toggle", {"enabled": "1"}).status_code == 404


def test_change_poll_first_poll_sees_changes_after_render(client, world):
    client.force_login(world["member"])
    rendered = int((timezone.now() - timedelta(minutes=1)).timestamp())
    response = client.get("/-/changes/", {"workspace": "acme", "target": "pr-table", "since": f"t{rendered}"})
    assert response.status_code == 200
    assert "HX-Trigger" not in response  # nothing was written after the page was rendered
    token = response.content.decode().split("since=")[1].split('"')[0]
    assert client.get("/-/changes/", {"workspace": "acme", "since": token}).status_code == 204

    PullRequest.objects.filter(pk=world["pr"].pk).update(state="MERGED", synced_at=timezone.now())
    changed = client.get("/-/changes/", {"workspace": "acme", "target": "pr-table", "since": token})
    assert changed.status_code == 200
    assert changed["HX-Trigger"] == "mirror-changed"
    assert 'id="live-poller"' in changed.content.decode()


def test_change_poll_ignores_what_the_user_cannot_see(client, world):
    client.force_login(world["member"])
    first = client.get("/-/changes/", {"workspace": "acme", "since": "t0"})
    token = first.content.decode().split("since=")[1].split('"')[0]
    PullRequest.objects.filter(pk=world["secret"].pk).update(title="Rotate keys", synced_at=timezone.now())
    assert client.get("/-/changes/", {"workspace": "acme", "since": token}).status_code == 204
    assert client.get("/-/changes/", {"workspace": "acme", "repository": "infra", "since": token}).status_code == 404
    assert client.get("/-/changes/", {"workspace": "other", "since": token}).status_code == 404


def test_inbox_page_carries_the_poller(client, world):
    client.force_login(world["member"])
    html = client.get("/acme/pull-requests/").content.decode()
    assert 'id="live-poller"' in html and 'hx-target="#pr-table"' in html
    # Timed by static/js/poll.js (only while the tab is visible, slower while nothing changes), not by htmx's `every`.
    assert 'hx-trigger="poll" data-poll="2" data-poll-backoff' in html and "every 2s" not in html


def test_live_status_healthy_while_deliveries_arrive(world):
    sub = _subscription(world["ws"], last_delivery_at=timezone.now() - timedelta(minutes=1))
    status = webhooks.live_status(workspace=world["ws"])
    assert status.state == "healthy"
    f.sync_run(world["ws"], created_at=timezone.now())
    assert not webhooks.poll_due(workspace=world["ws"])
    SyncRun.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert webhooks.poll_due(workspace=world["ws"])
    sub.enabled = False
    sub.save()
    assert webhooks.live_status(workspace=world["ws"]).state == "off"


def test_live_status_silent_when_bitbucket_moved_without_deliveries(world, settings):
    settings.BBDASH_WEBHOOK_SILENCE_MINUTES = 30
    _subscription(world["ws"], last_delivery_at=timezone.now() - timedelta(minutes=45))
    assert webhooks.live_status(workspace=world["ws"]).state == "healthy"  # quiet, not silent: nothing happened
    PullRequest.objects.filter(pk=world["pr"].pk).update(updated_on=timezone.now() - timedelta(minutes=10))
    status = webhooks.live_status(workspace=world["ws"])
    assert status.state == "silent"
    assert webhooks.poll_due(workspace=world["ws"])


def test_live_status_gap_until_a_later_sync_succeeded(world):
    sub = _subscription(world["ws"], last_delivery_at=timezone.now())
    webhooks.note_gap(sub, "a push from a tip the mirror lacks")
    assert webhooks.live_status(workspace=world["ws"]).state == "gap"
    f.sync_run(world["ws"], started_at=timezone.now(), status=SyncRun.Status.SUCCEEDED)
    assert webhooks.live_status(workspace=world["ws"]).state == "healthy"


def test_sync_page_loads_the_live_updates_region(client, world):
    client.force_login(world["member"])
    html = client.get("/-/sync/").content.decode()
    assert 'hx-get="/-/sync/webhooks/acme/"' in html


def test_branches_page_follows_pushes(client, world):
    client.force_login(world["member"])
    html = client.get("/acme/api/branches/").content.decode()
    assert 'hx-target="#branch-table"' in html and "repository=api" in html
    first = client.get("/-/changes/", {"workspace": "acme", "repository": "api", "since": "t0"})
    token = first.content.decode().split("since=")[1].split('"')[0]
    assert client.get("/-/changes/", {"workspace": "acme", "repository": "api", "since": token}).status_code == 204
    f.branch(world["repo"], "feature/pushed", synced_at=timezone.now())
    changed = client.get("/-/changes/", {"workspace": "acme", "repository": "api", "since": token})
    assert changed.status_code == 200 and changed["HX-Trigger"] == "mirror-changed"
