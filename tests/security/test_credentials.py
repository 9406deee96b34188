"""Credentials, sites and secrets: where a credential may be sent, what revoking it does, which credential syncs a
workspace, and where its secret may never show up."""

from __future__ import annotations

import importlib
import io
import os
import pathlib
import secrets

import pytest
import requests
import responses
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.views.debug import ExceptionReporter

from bitbucket_sync import sites
from bitbucket_sync.client import AccessToken, ApiToken, BitbucketClient, BitbucketError, records
from bitbucket_sync.credentials import clients
from bitbucket_sync.credentials.checks import check_credential
from bitbucket_sync.credentials.lifecycle import (
    recheck_credential,
    revoke_credential,
    save_credential,
    set_sync_credential,
)
from bitbucket_sync.models import (
    Account,
    AuditEvent,
    Credential,
    Project,
    Repository,
    RepositoryAccess,
    SyncRun,
    Workspace,
    WorkspaceAccess,
)
from bitbucket_sync.sync import access, engine, upserts
from bitbucket_sync.sync.export import export_workspace
from dashboard.env import ImproperlyConfiguredEnv, env_url_list
from dashboard.forms.credentials import SyncCredentialForm
from tests import factories

CLOUD = "https://api.bitbucket.org/2.0"


@pytest.fixture
def elsewhere(emulator_factory):
    """A second Bitbucket answering to the same demo accounts: a host the site is not configured for."""
    other = emulator_factory(seed="demo", controls=True)
    other.controls.reset_counts()
    return other


def _form(emulator, username: str, api_url: str) -> dict:
    account = emulator.account(username)
    return {"kind": "api_token", "login": account["email"], "secret": account["api_token"], "api_url": api_url}


# -- a credential's API URL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.bitbucket.org/2.0",
        "https://api.bitbucket.org/2.0/",
        "HTTPS://API.Bitbucket.ORG/2.0",
        "https://api.bitbucket.org:443/2.0",
        "",
    ],
)
def test_checked_api_url_accepts_the_configured_endpoint_in_any_spelling(settings, url):
    settings.BITBUCKET_API_URL = CLOUD
    settings.BBDASH_DATACENTER_URLS = []
    assert sites.checked_api_url(url) == CLOUD


@pytest.mark.parametrize(
    "url",
    [
        "https://api.bitbucket.org.attacker.test/2.0",
        "https://attacker.test/2.0",
        "http://api.bitbucket.org/2.0",
        "https://api.bitbucket.org:8443/2.0",
        "https://api.bitbucket.org/2.0/.",
        "https://api.bitbucket.org/2.0/../2.0",
        "https://api.bitbucket.org/",
        "https://ada@api.bitbucket.org/2.0",
        "https://api.bitbucket.org/2.0?next=https://attacker.test",
        "https://api.bitbucket.org/2.0#x",
        "ftp://api.bitbucket.org/2.0",
        "api.bitbucket.org/2.0",
    ],
)
def test_checked_api_url_refuses_anything_else(settings, url):
    settings.BITBUCKET_API_URL = CLOUD
    settings.BBDASH_DATACENTER_URLS = []
    with pytest.raises(sites.ApiUrlNotAllowed, match="not a Bitbucket endpoint this site is configured for"):
        sites.checked_api_url(url)


def test_checked_api_url_accepts_a_configured_datacenter_url(settings):
    settings.BITBUCKET_API_URL = CLOUD
    settings.BBDASH_DATACENTER_URLS = ["https://bitbucket.example.test/"]
    assert sites.allowed_api_urls() == (CLOUD, "https://bitbucket.example.test")
    assert sites.checked_api_url("https://BITBUCKET.example.test") == "https://bitbucket.example.test"


def test_env_url_list_datacenter_urls_must_be_http_base_urls():
    variable = "BBDASH_DATACENTER_URLS"
    assert env_url_list(variable, environ={}) == []
    assert env_url_list(variable, environ={variable: "https://a.test/, http://b.test:7990"}) == [
        "https://a.test",
        "http://b.test:7990",
    ]
    for bad in ("ftp://a.test", "a.test", "https://u:p@a.test", "https://a.test/?q=1", "https://a.test:x"):
        with pytest.raises(ImproperlyConfiguredEnv, match=variable):
            env_url_list(variable, environ={variable: bad})


@pytest.mark.django_db
def test_credential_user_form_other_api_url_refused_before_any_request(emulator, elsewhere, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("alice", is_staff=True))
    bob = django_user_model.objects.create_user("bob")
    response = client.post(reverse("credential_user", args=[bob.pk]), _form(emulator, "bob", elsewhere.api_url))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "not a Bitbucket endpoint this site is configured for" in " ".join(errors["api_url"])
    page = response.content.decode()
    assert "not a Bitbucket endpoint this site is configured for" in page  # on the page, by the field
    assert f'value="{elsewhere.api_url}"' in page  # the input comes back as typed
    assert elsewhere.controls.counts()["total"] == 0
    assert not Credential.objects.exists()


@pytest.mark.django_db
def test_credential_admin_other_api_url_refused_before_any_request(emulator, elsewhere, client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", email="root@example.test"))
    bob = django_user_model.objects.create_user("bob")
    form = {**_form(emulator, "bob", elsewhere.api_url), "owner": bob.pk, "scope_name": ""}
    response = client.post(reverse("admin:bitbucket_sync_credential_add"), form)
    assert response.status_code == 200
    assert "not a Bitbucket endpoint this site is configured for" in response.content.decode()
    assert elsewhere.controls.counts()["total"] == 0
    assert not Credential.objects.exists()


@pytest.mark.django_db
def test_bitbucket_credential_set_other_api_url_refused_before_any_request(emulator, elsewhere, monkeypatch):
    account = emulator.account("bob")
    monkeypatch.setattr("sys.stdin", io.StringIO(account["api_token"] + "\n"))
    with pytest.raises(CommandError, match="not a Bitbucket endpoint this site is configured for"):
        call_command(
            "bitbucket_credential", "set", "bob", "--create-user", "--kind", "api_token",
            "--login", account["email"], "--secret-stdin", "--api-url", elsewhere.api_url,
            stdout=io.StringIO(),
        )  # fmt: skip
    assert elsewhere.controls.counts()["total"] == 0
    assert not Credential.objects.exists()


@pytest.mark.django_db
def test_save_credential_other_api_url_refused_and_configured_one_stored_normalised(
    emulator, elsewhere, django_user_model
):
    bob = django_user_model.objects.create_user("bob")
    account = emulator.account("bob")
    values = {
        "actor": None,
        "owner": bob,
        "kind": "api_token",
        "login": account["email"],
        "secret": account["api_token"],
    }
    with pytest.raises(sites.ApiUrlNotAllowed):
        save_credential(**values, api_url=elsewhere.api_url)
    with pytest.raises(sites.ApiUrlNotAllowed):
        check_credential(
            kind="api_token", login=account["email"], secret=account["api_token"], api_url=elsewhere.api_url
        )
    assert elsewhere.controls.counts()["total"] == 0
    credential, _ = save_credential(**values, api_url=emulator.api_url.upper().replace("/2.0", "/2.0/"))
    assert credential.api_url == emulator.api_url


@pytest.mark.django_db
def test_recheck_credential_stored_with_other_api_url_is_invalid_without_a_request(
    emulator, elsewhere, django_user_model
):
    bob = django_user_model.objects.create_user("bob")
    account = emulator.account("bob")
    stored = factories.credential(bob, api_url=elsewhere.api_url, login=account["email"], secret=account["api_token"])
    result = recheck_credential(actor=None, credential=stored)
    assert not result.accepted and "not a Bitbucket endpoint" in result.message
    assert elsewhere.controls.counts()["total"] == 0
    stored.refresh_from_db()
    assert stored.status == Credential.Status.INVALID
    assert AuditEvent.objects.filter(action="credential.check", result=AuditEvent.Result.FAILURE).exists()


# -- key files ------------------------------------------------------------------------------------------------------


def test_secret_key_file_is_private_from_its_creation(tmp_path, monkeypatch):
    """A process stopped between writing the key and a later chmod must not leave a readable key: the file is made
    with mode 0600, so the chmod that never comes changes nothing."""
    site_settings = importlib.import_module("dashboard.settings")
    monkeypatch.setattr(site_settings, "VAR_DIR", tmp_path)
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    monkeypatch.setattr(pathlib.Path, "chmod", lambda self, mode, **kwargs: None)
    previous = os.umask(0o022)
    try:
        key = site_settings._secret_key()
    finally:
        os.umask(previous)
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(key) >= 50 and key_file.read_text() == key
    assert site_settings._secret_key() == key  # read back, never replaced


# -- secrets in errors ----------------------------------------------------------------------------------------------

BASE = "https://api.example.test/2.0"


class _BrokenSession(requests.Session):
    """A session whose adapter fails with something that is not a requests error (a bug, a broken proxy plug-in)."""

    def request(self, method, url, *args, **kwargs):
        kwargs.clear()  # the failure below must be reported from the transport's frame, not from this one
        raise RuntimeError("adapter failed")


@pytest.mark.parametrize("kind", ["api_token", "access_token"])
def test_transport_request_error_report_hides_the_authorization_header(kind):
    # Made at run time: the report quotes this file's source lines, which must not hold the secret.
    secret = secrets.token_urlsafe(24)
    auth = ApiToken("ada@example.test", secret) if kind == "api_token" else AccessToken(secret)
    del secret
    client = BitbucketClient(auth, base_url=BASE, session=_BrokenSession())
    with pytest.raises(RuntimeError) as info:
        client.get_current_user()
    reporter = ExceptionReporter(None, info.type, info.value, info.tb)
    frames = [f for f in reporter.get_traceback_frames() if f["filename"].endswith("client/http.py")]
    transport = dict(next(f for f in frames if f["function"] == "request")["vars"])
    # The report Django mails to ADMINS and shows on the debug page lists every frame's local variables (this
    # test's own frame too, so it is made before the test holds the header in a variable).
    report = reporter.get_traceback_html()
    assert "headers" in transport and "Authorization" not in transport["headers"]
    header = auth.authorization_header()
    for leaked in (header, header.split(" ", 1)[1], auth.secret):
        assert leaked not in report


@responses.activate
def test_transport_error_scrubs_the_basic_encoded_secret():
    auth = ApiToken("ada@example.test", "ATATT3-api-token-SECRET-1234")
    encoded = auth.authorization_header().split(" ", 1)[1]
    # A proxy in front of Bitbucket that echoes the request's headers in its error envelope.
    responses.get(
        f"{BASE}/user",
        status=400,
        json={
            "type": "error",
            "error": {
                "message": f"bad header Authorization: Basic {encoded}",
                "detail": {"headers": {"Authorization": f"Basic {encoded}"}, "seen": [encoded]},
                "fields": {"authorization": [f"Basic {encoded}"]},
                "id": encoded,
            },
        },
    )
    client = BitbucketClient(auth, base_url=BASE)
    with pytest.raises(BitbucketError) as info:
        client.get_current_user()
    error = info.value
    for text in (str(error), repr(error), error.message, str(error.detail), str(error.fields), str(error.request_id)):
        assert encoded not in text and auth.secret not in text
    assert "Basic ****" in error.message


# -- revoking ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_credential_revoke_hides_everything_from_its_owner_at_once(client, django_user_model):
    staff = django_user_model.objects.create_user("alice", is_staff=True)
    bob = django_user_model.objects.create_user("bob")
    credential = factories.credential(bob)
    ws = factories.workspace("acme")
    repo = factories.repository(ws, "web")
    factories.grant(bob, repo)
    client.force_login(bob)
    pages = [reverse("workspace_detail", args=["acme"]), reverse("repository_detail", args=["acme", "web"])]
    assert [client.get(page).status_code for page in pages] == [200, 200]

    client.force_login(staff)
    assert client.post(reverse("credential_revoke", args=[credential.pk])).status_code == 302

    client.force_login(bob)  # no worker ran: the refresh happened with the revocation itself
    assert [client.get(page).status_code for page in pages] == [404, 404]
    assert [client.get(page, headers={"HX-Request": "true"}).status_code for page in pages] == [404, 404]


@pytest.mark.django_db
def test_sync_user_access_revoked_while_reading_leaves_nothing(emulator, django_user_model):
    bob = django_user_model.objects.create_user("bob")
    account = emulator.account("bob")
    credential = factories.credential(
        bob, api_url=emulator.api_url, login=account["email"], secret=account["api_token"]
    )
    client = clients.client_for(credential, purpose="sync")
    listing = client.iter_user_workspaces

    def revoked_meanwhile():
        yield from listing()
        revoke_credential(actor=None, credential=credential)

    client.iter_user_workspaces = revoked_meanwhile  # type: ignore[method-assign]
    assert access.sync_user_access(user=bob, client=client) == {"workspaces": 0, "repositories": 0}
    assert not WorkspaceAccess.objects.filter(user=bob).exists()
    assert not RepositoryAccess.objects.filter(user=bob).exists()
    assert not Workspace.objects.filter(sync_credential=credential).exists()


# -- sites: data read through one endpoint never touches another's rows ------------------------------------------


def _sync(workspace: Workspace, credential: Credential) -> SyncRun:
    run = SyncRun.objects.create(
        workspace=workspace, kind=SyncRun.Kind.FULL, trigger=SyncRun.Trigger.COMMAND, credential=credential
    )
    return engine.run_inline(run=run, sleep=lambda seconds: None)


@pytest.fixture
def two_sites(emulator, elsewhere, settings, django_user_model, monkeypatch):
    """`acme` mirrored from the site's Bitbucket with alice's credential; bob holds a credential for a second
    configured site whose world has the same identities (same seed) and changes of its own."""
    settings.BBDASH_DATACENTER_URLS = [elsewhere.api_url]
    # The second site is another Cloud emulator: the sites rule is backend-agnostic, so it is spoken to as Cloud.
    monkeypatch.setitem(clients.PROVIDERS, "datacenter", clients.CLOUD)
    alice, bob = (django_user_model.objects.create_user(name) for name in ("alice", "bob"))
    home_account, foreign_account = emulator.account("alice"), elsewhere.account("alice")
    home = factories.credential(
        alice, api_url=emulator.api_url, login=home_account["email"], secret=home_account["api_token"]
    )
    foreign = factories.credential(
        bob, api_url=elsewhere.api_url, login=foreign_account["email"], secret=foreign_account["api_token"]
    )
    access.discover_workspaces(credential=home)
    workspace = Workspace.objects.get(slug="acme")
    assert _sync(workspace, home).status == SyncRun.Status.SUCCEEDED
    elsewhere.world.rename_repository("acme", "web-frontend", "Hijacked")
    elsewhere.world.delete_repository("acme", "mobile-app")
    elsewhere.controls.reset_counts()
    workspace.refresh_from_db()
    return workspace, home, foreign, bob


@pytest.mark.django_db
def test_sync_through_another_site_fails_in_the_run_and_changes_nothing(two_sites, elsewhere):
    workspace, _, foreign, _ = two_sites
    assert workspace.api_url and not sites.same_site(workspace.api_url, elsewhere.api_url)
    before = export_workspace(workspace=workspace)

    run = _sync(workspace, foreign)

    assert run.status == SyncRun.Status.FAILED
    assert "Workspace acme was synced through" in run.message and elsewhere.api_url in run.message
    assert export_workspace(workspace=workspace) == before
    assert not Repository.objects.filter(workspace=workspace, removed_at__isnull=False).exists()
    assert elsewhere.controls.counts()["total"] == 0  # stopped before asking the other site anything


@pytest.mark.django_db
def test_discover_workspaces_through_another_site_takes_over_no_workspace(two_sites):
    workspace, home, foreign, bob = two_sites
    with pytest.raises(sites.SiteMismatch):
        access.discover_workspaces(credential=foreign)
    with pytest.raises(sites.SiteMismatch):
        access.sync_user_access(user=bob)
    workspace.refresh_from_db()
    assert workspace.sync_credential == home and workspace.slug == "acme" and workspace.removed_at is None
    assert not WorkspaceAccess.objects.filter(user=bob).exists()


@pytest.mark.django_db
def test_set_sync_credential_of_another_site_refused(two_sites):
    workspace, home, foreign, _ = two_sites
    with pytest.raises(ValueError, match="pick a credential of that site"):
        set_sync_credential(actor=None, workspace=workspace, credential=foreign)
    form = SyncCredentialForm({"credential": foreign.pk}, workspace=workspace)
    assert not form.is_valid() and "pick a credential of that site" in str(form.errors)
    workspace.refresh_from_db()
    assert workspace.sync_credential == home


@pytest.mark.django_db
def test_upsert_workspace_from_another_site_neither_updates_nor_frees_its_slug():
    cloud = Workspace.objects.create(bitbucket_uuid="{w1}", slug="acme", name="Acme", api_url=CLOUD)
    other_site = "https://bitbucket.example.test"
    same_uuid = records.Workspace.from_json({"uuid": "{w1}", "slug": "taken", "name": "Taken"}, endpoint="test")
    same_slug = records.Workspace.from_json({"uuid": "{w2}", "slug": "acme", "name": "Other"}, endpoint="test")
    for record in (same_uuid, same_slug):
        with pytest.raises(sites.SiteMismatch):
            upserts.upsert_workspace(record, api_url=other_site)
    cloud.refresh_from_db()
    assert (cloud.slug, cloud.name, cloud.removed_at) == ("acme", "Acme", None)
    assert Workspace.objects.count() == 1


@pytest.mark.django_db
def test_upsert_repository_from_another_site_is_not_moved_or_renamed():
    cloud = Workspace.objects.create(bitbucket_uuid="{w1}", slug="acme", api_url=CLOUD)
    other = Workspace.objects.create(bitbucket_uuid="{w2}", slug="labs", api_url="https://bitbucket.example.test")
    project = Project.objects.create(workspace=cloud, bitbucket_uuid="{p1}", key="WEB", name="Web")
    repo = factories.repository(cloud, "web", bitbucket_uuid="{r1}", project=project)
    record = records.Repository.from_json(
        {
            "uuid": "{r1}",
            "full_name": "labs/moved",
            "slug": "moved",
            "name": "Moved",
            "is_private": True,
            "updated_on": "2026-01-02T00:00:00+00:00",
            "project": {"uuid": "{p1}", "key": "HIJ"},
        },
        endpoint="test",
    )
    with pytest.raises(sites.SiteMismatch):
        upserts.upsert_repository(workspace=other, record=record)
    with pytest.raises(sites.SiteMismatch):
        upserts.upsert_projects(
            workspace=other,
            project_records=[records.Project.from_json({"uuid": "{p1}", "key": "HIJ", "name": "H"}, endpoint="test")],
        )
    repo.refresh_from_db()
    project.refresh_from_db()
    assert (repo.workspace_id, repo.slug, repo.full_name) == (cloud.pk, "web", "acme/web")
    assert (project.workspace_id, project.key) == (cloud.pk, "WEB")


# -- which credential syncs a workspace, and what its listing may prune ------------------------------------------


def _person_credential(emulator, user, username: str) -> Credential:
    person = emulator.account(username)
    # Saving checks a credential, which finds the Bitbucket account it acts as (a sync may have mirrored it already).
    acct = Account.objects.filter(bitbucket_uuid=person["uuid"]).first() or factories.account(
        person["display_name"], bitbucket_uuid=person["uuid"], account_id=person["account_id"]
    )
    return factories.credential(
        user, acct=acct, api_url=emulator.api_url, login=person["email"], secret=person["api_token"]
    )


@pytest.mark.django_db
def test_discover_workspaces_picks_a_workspace_token_then_an_owner_never_over_an_admin(emulator, django_user_model):
    bob, alice, robot = (django_user_model.objects.create_user(name) for name in ("bob", "alice", "robot"))
    member = _person_credential(emulator, bob, "bob")
    owner = _person_credential(emulator, alice, "alice")
    token = factories.credential(
        robot,
        kind=Credential.Kind.ACCESS_TOKEN,
        login="",
        api_url=emulator.api_url,
        secret=emulator.access_token("acme-sync")["token"],
        scope_kind=Credential.ScopeKind.WORKSPACE,
        scope_name="acme",
    )

    def picked() -> Credential | None:
        return Workspace.objects.get(slug="acme").sync_credential

    access.discover_workspaces(credential=member)
    assert picked() == member  # the only one yet
    access.discover_workspaces(credential=owner)
    assert picked() == owner  # an owner sees every repository; a member only what they were granted
    access.sync_user_access(user=robot)
    assert picked() == token  # a workspace access token: every repository, and its own rate limit
    access.discover_workspaces(credential=owner)
    assert picked() == token

    set_sync_credential(actor=None, workspace=Workspace.objects.get(slug="acme"), credential=member)
    access.discover_workspaces(credential=owner)
    assert picked() == member  # an admin's pick stands


@pytest.mark.django_db
def test_sync_with_a_members_credential_adds_and_updates_but_never_prunes(emulator, django_user_model):
    alice, bob = (django_user_model.objects.create_user(name) for name in ("alice", "bob"))
    owner = _person_credential(emulator, alice, "alice")
    access.discover_workspaces(credential=owner)
    workspace = Workspace.objects.get(slug="acme")
    assert _sync(workspace, owner).status == SyncRun.Status.SUCCEEDED
    hidden = Repository.objects.get(workspace=workspace, slug="infra")  # private: bob was never granted it

    member = _person_credential(emulator, bob, "bob")
    emulator.world.rename_repository("acme", "docs", "Handbook")
    run = _sync(workspace, member)

    assert run.status == SyncRun.Status.SUCCEEDED, (run.message, run.errors)
    hidden.refresh_from_db()
    assert hidden.removed_at is None
    assert not Repository.objects.filter(workspace=workspace, removed_at__isnull=False).exists()
    assert Repository.objects.get(workspace=workspace, slug="handbook").name == "Handbook"  # updates still land
    assert run.stats["repositories"] == {"created": 0, "updated": 1, "removed": 0}

    emulator.world.delete_repository("acme", "mobile-app")
    assert _sync(workspace, owner).stats["repositories"]["removed"] == 1  # the owner's complete listing prunes
