"""Live-updates health for a Data Center project: a repository's `updated_on` there is when a sync read it (Data
Center gives repositories no dates), so it is no sign of activity the webhook missed; its pull requests' dates are."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from bitbucket_sync import sites, webhooks
from bitbucket_sync.webhooks import LiveState
from tests import factories as f

SITE = "https://git.example.test/bitbucket"


@pytest.fixture
def quiet_project(settings, db):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.BBDASH_DATACENTER_URLS = [SITE]
    now = timezone.now()
    workspace = f.workspace(
        sites.workspace_handle("PLAT", SITE), bitbucket_uuid="{project-6}", api_url=SITE, key="PLAT"
    )
    f.webhook_subscription(workspace, secret="s", last_delivery_at=now - timedelta(hours=2))
    # As a Data Center sync leaves it: read a moment ago.
    repository = f.repository(workspace, "api", updated_on=now)
    return workspace, repository


def test_a_repository_read_by_a_sync_is_not_activity_on_datacenter(quiet_project):
    workspace, _ = quiet_project
    assert webhooks.live_status(workspace=workspace).state == LiveState.HEALTHY


def test_a_pull_request_updated_after_the_last_delivery_is(quiet_project):
    workspace, repository = quiet_project
    f.pull_request(repository, updated_on=timezone.now())
    assert webhooks.live_status(workspace=workspace).state == LiveState.SILENT
