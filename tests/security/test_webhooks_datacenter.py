"""Data Center deliveries stay on their site: a delivery never reaches a workspace of another site (a Cloud workspace,
or a project of another Data Center site), whichever receiver it is posted to and whatever secret signs it, and a
signed delivery naming another workspace's repository changes nothing."""

from __future__ import annotations

import json
import uuid
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bitbucket_sync import sites, webhooks
from bitbucket_sync.client.datacenter.convert import site_tag
from bitbucket_sync.models import PullRequest, WebhookDelivery, Workspace
from tests import factories as f

SECRET = "the-same-secret-everywhere"  # the worst case: every subscription signs with it
SITE_A = "https://git-a.example.test/bitbucket"
SITE_B = "https://git-b.example.test"
CLOUD = "https://api.bitbucket.org/2.0"


@pytest.fixture
def workspaces(settings, db) -> dict[str, Workspace]:
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.BITBUCKET_API_URL = CLOUD
    settings.BBDASH_DATACENTER_URLS = [SITE_A + "/rest/api/1.0", SITE_B]
    found = {
        "cloud": f.workspace("acme", bitbucket_uuid="{" + str(uuid.uuid4()) + "}", api_url=CLOUD, key="acme"),
        # A Data Center row with a uuid-shaped id, so the Cloud receiver's route could name it.
        "a": f.workspace(
            sites.workspace_handle("PLAT", SITE_A),
            bitbucket_uuid="{" + str(uuid.uuid4()) + "}",
            api_url=sites.normalise_api_url(SITE_A),
            key="PLAT",
        ),
        "b": f.workspace(
            sites.workspace_handle("PLAT", SITE_B),
            bitbucket_uuid="{project-7}",
            api_url=sites.normalise_api_url(SITE_B),
            key="PLAT",
        ),
    }
    for workspace in found.values():
        f.webhook_subscription(workspace, secret=SECRET)
    return found


def _datacenter_post(client, path: str, body: bytes, *, secret: str = SECRET):
    return client.post(
        path,
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=webhooks.sign(secret=secret, body=body),
        HTTP_X_REQUEST_ID=str(uuid.uuid4()),
        HTTP_X_EVENT_KEY="pr:declined",
    )


BODY = json.dumps({"eventKey": "pr:declined", "pullRequest": {"id": 1}}).encode()


def test_a_datacenter_delivery_never_reaches_a_cloud_workspace(client, workspaces):
    cloud = workspaces["cloud"]
    # Through the Data Center receiver, naming the Cloud workspace's handle: refused although the signature is right.
    assert _datacenter_post(client, f"/hooks/bitbucket-datacenter/{cloud.slug}/", BODY).status_code == 403
    # Through the Cloud receiver, a Data Center project (its uuid-shaped id) is not a Cloud workspace either.
    a = workspaces["a"].bitbucket_uuid.strip("{}")
    cloud_headers = {"HTTP_X_REQUEST_UUID": str(uuid.uuid4()), "HTTP_X_EVENT_KEY": "pullrequest:rejected"}
    answer = client.post(
        f"/hooks/bitbucket/{a}/",
        data=BODY,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=webhooks.sign(secret=SECRET, body=BODY),
        **cloud_headers,
    )
    assert answer.status_code == 403
    assert not WebhookDelivery.objects.exists()
    # The Data Center receiver does take its own project's delivery (the refusals above were the site rule's).
    assert _datacenter_post(client, f"/hooks/bitbucket-datacenter/{workspaces['a'].slug}/", BODY).status_code == 202
    assert list(WebhookDelivery.objects.values_list("workspace__slug", flat=True)) == [workspaces["a"].slug]


def test_a_project_of_another_site_is_refused_by_its_own_secret(client, workspaces):
    """Each site's PLAT has its own handle; B's secret does not open A's receiver."""
    a, b = workspaces["a"], workspaces["b"]
    b_only = webhooks.sign(secret="b-only-secret", body=BODY)
    b.webhook_subscription.set_secret("b-only-secret")
    b.webhook_subscription.save()
    answer = client.post(
        f"/hooks/bitbucket-datacenter/{a.slug}/",
        data=BODY,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=b_only,
        HTTP_X_REQUEST_ID="r-1",
        HTTP_X_EVENT_KEY="pr:declined",
    )
    assert answer.status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_datacenter_refusals_answer_the_same_and_do_the_same_work(client, workspaces):
    """Unknown handle, a Cloud workspace's handle, a bad signature: one answer, one query, one comparison."""

    def post(handle: str, secret: str = SECRET):
        compare = mock.patch.object(
            webhooks.receiving.hmac, "compare_digest", wraps=webhooks.receiving.hmac.compare_digest
        )
        with CaptureQueriesContext(connection) as queries, compare as checked:
            response = _datacenter_post(client, f"/hooks/bitbucket-datacenter/{handle}/", BODY, secret=secret)
        return response.status_code, response.content, len(queries), checked.call_count

    answers = {
        "unknown": post("NOPE@git-a.example.test~bitbucket"),
        "cloud workspace": post(workspaces["cloud"].slug),
        "bad signature": post(workspaces["a"].slug, secret="wrong"),
    }
    assert set(answers.values()) == {(403, answers["unknown"][1], 1, 1)}, answers
    assert not WebhookDelivery.objects.exists()


def test_a_signed_delivery_naming_another_workspaces_repository_changes_nothing(workspaces):
    a, b = workspaces["a"], workspaces["b"]
    # Site B's repository 12, with B's tag in its id as the client gives it.
    theirs = f.repository(b, "api", bitbucket_uuid=f"{{repository-12@{site_tag(SITE_B)}}}", full_name="PLAT/api")
    pr = f.pull_request(theirs, number=1, state="OPEN")
    payload = {
        "eventKey": "pr:declined",
        "pullRequest": {
            "id": 1,
            "toRef": {"repository": {"id": 12, "slug": "api", "project": {"key": "PLAT", "id": 7}}},
        },
    }
    delivery, created = webhooks.record_delivery(
        subscription=a.webhook_subscription, request_uuid="r-1", event="pr:declined", payload=payload
    )
    assert created
    with mock.patch("bitbucket_sync.credentials.clients.client_for") as client_for:
        applied = webhooks.apply_delivery(delivery_id=delivery.pk)
    client_for.assert_not_called()  # nothing was even asked of Bitbucket
    assert applied is not None and applied.result == WebhookDelivery.Result.IGNORED
    # Record ids carry their site's tag: a delivery to site A naming repository 12 cannot even name site B's.
    assert applied.message == "the mirror does not have this repository yet; a sync will bring it"
    assert PullRequest.objects.get(pk=pr.pk).state == "OPEN"


def test_the_datacenter_receiver_wants_datacenter_headers(client, workspaces):
    """Signed right but with Cloud's request id header: 400, nothing recorded (a delivery without its id could not
    be told from a redelivery)."""
    answer = client.post(
        f"/hooks/bitbucket-datacenter/{workspaces['a'].slug}/",
        data=BODY,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=webhooks.sign(secret=SECRET, body=BODY),
        HTTP_X_REQUEST_UUID=str(uuid.uuid4()),
        HTTP_X_EVENT_KEY="pr:declined",
    )
    assert answer.status_code == 400 and b"X-Request-Id" in answer.content
    assert not WebhookDelivery.objects.exists()
