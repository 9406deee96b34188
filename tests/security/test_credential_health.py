"""The refused-credential banner and columns: a person sees their own credential's refusal on every page, nobody else
does (not a colleague, not staff on their own pages, not an anonymous visitor); the staff list shows every user's,
with since when and why; the banner costs one query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bitbucket_sync import tasks
from bitbucket_sync.models import Credential
from tests import factories as f

pytestmark = pytest.mark.django_db

BANNER = 'class="banner error credential-refused"'
REASON = "Bitbucket refused it (401) on 2026-12-01 09:15 UTC while syncing: Token is invalid or expired"


@pytest.fixture
def bob_refused(personas):
    credential = personas.credentials["bob"]
    credential.status = Credential.Status.INVALID
    credential.last_error = REASON
    credential.last_checked_at = timezone.now() - timedelta(hours=3)
    credential.save()
    return credential


def page(client, user, url: str = "/") -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_owner_sees_the_banner_on_every_page(client, bob, bob_refused):
    for url in ("/", reverse("sync_list"), reverse("me_detail"), "/acme/"):
        html = page(client, bob, url)
        assert BANNER in html, url
        assert "Your Bitbucket credential for <strong>Bitbucket Cloud</strong> was refused" in html
        assert "Token is invalid or expired" in html
        assert 'datetime="' in html  # since when, as a time the viewer's zone shows
        assert f'href="{reverse("me_detail")}"' in html


def test_the_banner_says_who_replaces_it(client, bob, bob_refused, settings):
    settings.BBDASH_CREDENTIAL_SELF_SERVICE = False
    assert "Ask an admin to replace it" in page(client, bob)
    settings.BBDASH_CREDENTIAL_SELF_SERVICE = True
    assert "Replace it on your credential page" in page(client, bob)


def test_nobody_else_sees_it(client, alice, carol, dave, bob_refused):
    for user in (alice, carol, dave):  # staff, a colleague of the same workspace, an outsider
        html = page(client, user)
        assert BANNER not in html, user
        assert "Token is invalid or expired" not in html, user
    client.logout()
    login = client.get(reverse("login")).content.decode()
    assert BANNER not in login


def test_a_valid_or_revoked_credential_shows_no_banner(client, bob, personas):
    assert BANNER not in page(client, bob)
    Credential.objects.filter(pk=personas.credentials["bob"].pk).update(
        status=Credential.Status.REVOKED, is_active=False, last_error=REASON
    )
    assert BANNER not in page(client, bob)


def test_a_refused_credential_of_another_site_shows_too(client, dave, settings):
    dc = "https://git.example.com/rest/api/1.0"
    settings.BBDASH_DATACENTER_URLS = [dc]
    f.credential(
        dave,
        api_url=dc,
        kind=Credential.Kind.BASIC,
        status=Credential.Status.INVALID,
        last_error="Authentication failed",
        last_checked_at=timezone.now(),
    )
    html = page(client, dave)
    assert BANNER in html and "<strong>git.example.com</strong>" in html


def test_the_banner_is_one_query(client, bob, bob_refused):
    client.force_login(bob)
    client.get("/")  # warm the session and caches
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    credential_queries = [q for q in queries.captured_queries if 'FROM "bitbucket_sync_credential"' in q["sql"]]
    banner_queries = [q for q in credential_queries if '"status" IN' in q["sql"]]
    assert len(banner_queries) == 1


def test_the_staff_list_shows_since_and_why(client, alice, bob_refused):
    html = page(client, alice, reverse("credential_list"))
    assert '<span class="badge invalid">Invalid</span>' in html
    assert "refused <time" in html and "Token is invalid or expired" in html
    # Alice's own pages carry no banner about Bob's credential.
    assert BANNER not in html


def test_the_owner_credential_page_says_refused(client, bob, bob_refused):
    html = page(client, bob, reverse("me_detail"))
    assert "refused by Bitbucket" in html and "nothing is synced or read with it until it is replaced" in html
    assert REASON in html


def test_a_colleague_sync_page_shows_no_owner(client, carol, bob_refused, personas):
    """The skipped run's reason is read by every member of the workspace: it names no one's credential."""
    personas.workspace.sync_credential = bob_refused
    personas.workspace.save(update_fields=["sync_credential"])
    tasks.sync_all_workspaces()
    html = page(client, carol, reverse("sync_list"))
    assert "refused the credential this workspace is synced with" in html
    assert "Token is invalid or expired" in html
    assert str(bob_refused) not in html and "of bob" not in html
