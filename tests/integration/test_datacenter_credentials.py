"""Data Center credentials against the emulator's Data Center site: `bitbucket_credential set|show|list|check`, the
check (who, which projects, token reach, login and kind mismatches), discovery and the sync command per site."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from bitbucket_sync import sites
from bitbucket_sync.credentials.checks import check_credential
from bitbucket_sync.models import AuditEvent, Credential, RepositoryAccess, SyncRun, Workspace, WorkspaceAccess
from bitbucket_sync.sync import engine

pytestmark = pytest.mark.django_db


@pytest.fixture
def dc(emulator, settings):
    settings.BBDASH_DATACENTER_URLS = [emulator.datacenter_url]
    return emulator


def dc_site(emu) -> str:
    return sites.normalise_api_url(emu.datacenter_url)


def dc_token(emu, name: str) -> str:
    return next(t["token"] for t in emu.datacenter_credentials["tokens"] if t["name"] == name)


def dc_password(emu, user: str) -> str:
    return next(u["password"] for u in emu.datacenter_credentials["users"] if u["name"] == user)


def set_credential(monkeypatch, username: str, secret: str, *args: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    out = io.StringIO()
    call_command("bitbucket_credential", "set", username, "--secret-stdin", *args, stdout=out)
    return out.getvalue()


def dc_personal(emu, monkeypatch, username: str = "alice", token: str = "alice-admin") -> Credential:
    set_credential(
        monkeypatch,
        username,
        dc_token(emu, token),
        "--kind",
        "http_access_token",
        "--login",
        username,
        "--api-url",
        emu.datacenter_url,
        "--create-user",
    )
    return Credential.objects.get(owner__username=username, api_url=dc_site(emu), is_active=True)


def dc_basic(emu, monkeypatch, username: str) -> Credential:
    set_credential(
        monkeypatch,
        username,
        dc_password(emu, username),
        "--kind",
        "basic",
        "--login",
        username,
        "--api-url",
        dc_site(emu) + "/rest/api/latest",
        "--create-user",
    )
    return Credential.objects.get(owner__username=username, api_url=dc_site(emu), is_active=True)


def cloud_credential(emu, monkeypatch, username: str) -> Credential:
    account = emu.account(username)
    set_credential(
        monkeypatch,
        username,
        account["api_token"],
        "--kind",
        "api_token",
        "--login",
        account["email"],
        "--api-url",
        emu.api_url,
        "--create-user",
    )
    return Credential.objects.get(owner__username=username, api_url=sites.normalise_api_url(emu.api_url))


# -- the command -------------------------------------------------------------------------------------------------


def test_set_datacenter_personal_token_is_checked_encrypted_and_audited(dc, monkeypatch):
    secret = dc_token(dc, "alice-admin")
    credential = dc_personal(dc, monkeypatch)

    assert credential.kind == Credential.Kind.HTTP_ACCESS_TOKEN
    assert credential.status == Credential.Status.VALID
    assert credential.login == "alice"
    assert credential.account is not None and credential.account.display_name == "Alice Anders"
    assert secret not in credential.secret_encrypted and credential.get_secret() == secret
    assert credential.can_write  # alice administers PLAT (and her personal project)
    event = AuditEvent.objects.get(action="credential.add", result=AuditEvent.Result.SUCCESS)
    assert event.details["workspaces"] == ["PLAT", "~alice"]
    assert secret not in str(event.details) + event.message

    shown = io.StringIO()
    call_command("bitbucket_credential", "show", "alice", stdout=shown)
    assert dc_site(dc) in shown.getvalue() and "(datacenter)" in shown.getvalue()
    assert "http_access_token as alice" in shown.getvalue() and secret not in shown.getvalue()
    listed = io.StringIO()
    call_command("bitbucket_credential", "list", stdout=listed)
    assert f"alice\t{dc_site(dc)}\thttp_access_token" in listed.getvalue()


def test_set_datacenter_basic_then_check_keeps_cloud_credential_beside_it(dc, monkeypatch):
    cloud = cloud_credential(dc, monkeypatch, "bob")
    basic = dc_basic(dc, monkeypatch, "bob")

    assert basic.kind == Credential.Kind.BASIC and basic.status == Credential.Status.VALID
    cloud.refresh_from_db()
    assert cloud.is_active  # one per site: the Data Center one did not replace the Cloud one
    out = io.StringIO()
    call_command("bitbucket_credential", "check", "bob", "--api-url", dc.datacenter_url, stdout=out)
    assert "workspace: PLAT" in out.getvalue() and dc_site(dc) in out.getvalue()
    assert AuditEvent.objects.filter(action="credential.check").count() == 1


def test_datacenter_login_mismatch_is_refused_and_nothing_saved(dc, monkeypatch):
    with pytest.raises(CommandError, match="acts as 'alice' on Bitbucket, not as 'bob'"):
        set_credential(
            monkeypatch,
            "bob",
            dc_token(dc, "alice-admin"),
            "--kind",
            "http_access_token",
            "--login",
            "bob",
            "--api-url",
            dc.datacenter_url,
            "--create-user",
        )
    assert not Credential.objects.exists()
    assert AuditEvent.objects.get(result=AuditEvent.Result.FAILURE).action == "credential.add"


@pytest.mark.parametrize(
    ("kind", "site", "message"),
    [
        ("api_token", "datacenter", "is a Bitbucket Data Center site: use an HTTP access token"),
        ("access_token", "datacenter", "is a Bitbucket Data Center site"),
        ("http_access_token", "cloud", "is Bitbucket Cloud: a Data Center HTTP access token"),
        ("basic", "cloud", "is Bitbucket Cloud: a Data Center Username and password"),
    ],
)
def test_kind_of_another_site_is_refused_before_any_request(dc, monkeypatch, kind, site, message):
    url = dc.datacenter_url if site == "datacenter" else dc.api_url
    dc.controls.reset_counts()
    with pytest.raises(CommandError, match=message):
        set_credential(
            monkeypatch,
            "ada",
            "some-secret-1234",
            "--kind",
            kind,
            "--login",
            "ada@example.com",
            "--api-url",
            url,
            "--create-user",
        )
    assert dc.controls.counts()["total"] == 0
    assert not Credential.objects.exists()


# -- the check ---------------------------------------------------------------------------------------------------


def test_check_of_a_project_token_sees_its_project(dc):
    result = check_credential(kind="http_access_token", secret=dc_token(dc, "plat-ci"), api_url=dc.datacenter_url)
    assert result.valid, result.message
    assert [ws.slug for ws in result.workspaces] == ["PLAT"]
    assert (result.scope_kind, result.scope_name) == ("project", "PLAT")
    assert result.account is None or result.account.type == "app_user"  # a service user, not a person


def test_check_of_a_repository_token_sees_one_repository(dc):
    result = check_credential(kind="http_access_token", secret=dc_token(dc, "gateway-ci"), api_url=dc.datacenter_url)
    assert result.valid, result.message
    assert (result.scope_kind, result.scope_name) == ("repository", "PLAT/api-gateway")


def test_check_of_a_read_token_finds_no_personal_project_and_no_write(dc):
    result = check_credential(
        kind="http_access_token", secret=dc_token(dc, "bob-read"), login="bob", api_url=dc.datacenter_url
    )
    assert result.valid, result.message
    assert [(ws.slug, ws.administrator) for ws in result.workspaces] == [("PLAT", False)]
    assert result.can_write is not True


def test_check_of_a_project_token_with_a_username_is_refused(dc):
    result = check_credential(
        kind="http_access_token", secret=dc_token(dc, "plat-ci"), login="alice", api_url=dc.datacenter_url
    )
    assert not result.accepted and "leave the username empty" in result.message


def test_check_of_a_wrong_password_is_refused(dc):
    result = check_credential(kind="basic", secret="not-the-password", login="alice", api_url=dc.datacenter_url)
    assert not result.accepted and result.status == Credential.Status.INVALID


# -- discovery, access and the sync command ----------------------------------------------------------------------


def _sync(*args: str, check: bool = True) -> str:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("bitbucket_sync", *args, stdout=out, stderr=err)
    except CommandError as error:
        if check:
            raise CommandError(f"{error}\n{out.getvalue()}\n{err.getvalue()}") from None
    return out.getvalue() + err.getvalue()


def test_sync_as_user_discovers_and_syncs_every_site(dc, monkeypatch):
    cloud = cloud_credential(dc, monkeypatch, "alice")
    datacenter = dc_personal(dc, monkeypatch)

    output = _sync("--as", "alice")

    assert f"alice on {datacenter.api_url} belongs to: PLAT@" in output
    dc_workspaces = Workspace.objects.filter(api_url=dc_site(dc))
    assert sorted(dc_workspaces.values_list("key", flat=True)) == ["PLAT", "~alice"]
    assert Workspace.objects.filter(api_url=sites.normalise_api_url(dc.api_url)).exists()
    runs = SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED)
    # Each workspace synced with the credential of its own site.
    for run in runs.select_related("workspace"):
        assert run.workspace is not None
        expected = datacenter if sites.same_site(run.workspace.api_url, dc_site(dc)) else cloud
        assert run.credential_id == expected.pk
    assert runs.filter(workspace__key="PLAT").exists() and runs.filter(workspace__api_url=cloud.api_url).exists()
    user = get_user_model().objects.get(username="alice")
    seen = set(WorkspaceAccess.objects.filter(user=user).values_list("workspace__key", flat=True))
    assert {"PLAT", "~alice"} <= seen and len(seen) > 2  # the Cloud workspaces too
    # alice administers PLAT: a personal token of a project admin ranks like an owner.
    plat = Workspace.objects.get(key="PLAT", api_url=dc_site(dc))
    assert engine.sync_rank(datacenter, plat) == engine.OWNER
    assert plat.sync_credential_id == datacenter.pk


def test_sync_one_datacenter_project_by_key_and_site(dc, monkeypatch):
    dc_personal(dc, monkeypatch)
    _sync("--as", "alice")
    before = SyncRun.objects.count()

    output = _sync("--workspace", "PLAT", "--site", dc.datacenter_url, "--full")

    runs = SyncRun.objects.order_by("pk")[before:]
    assert [(r.workspace.key, r.kind, r.status) for r in runs if r.workspace] == [("PLAT", "full", "succeeded")]
    assert "PLAT@" in output
    with pytest.raises(CommandError, match="No workspace 'NOPE'"):
        _sync("--workspace", "NOPE", "--site", dc.datacenter_url)
    with pytest.raises(CommandError, match="is Bitbucket Cloud"):
        _sync("--workspace", "PLAT", "--site", dc.api_url)
    with pytest.raises(CommandError, match="No workspace 'PLAT' in the mirror"):
        _sync("--workspace", "PLAT")  # without --site, a Cloud workspace slug


def test_project_token_ranks_like_a_workspace_token_and_sees_its_project(dc, monkeypatch):
    set_credential(
        monkeypatch,
        "ci",
        dc_token(dc, "plat-ci"),
        "--kind",
        "http_access_token",
        "--api-url",
        dc.datacenter_url,
        "--create-user",
    )
    token = Credential.objects.get(owner__username="ci")
    assert (token.scope_kind, token.scope_name, token.login) == ("project", "PLAT", "")
    # The run itself stops at the project's members (Data Center lists them to project admins only, and plat-ci
    # reads); discovery and the access rows do not depend on it.
    _sync("--as", "ci", check=False)
    plat = Workspace.objects.get(key="PLAT", api_url=dc_site(dc))
    assert engine.sync_rank(token, plat) == engine.WORKSPACE_TOKEN
    assert plat.sync_credential_id == token.pk
    access = RepositoryAccess.objects.filter(user=token.owner)
    assert {"api-gateway", "deploy-tools"} <= set(access.values_list("repository__slug", flat=True))
    assert set(access.values_list("permission", flat=True)) == {"read"}
    assert list(WorkspaceAccess.objects.filter(user=token.owner).values_list("workspace__key", flat=True)) == ["PLAT"]


# -- the web form ------------------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("admin", is_staff=True))
    return client


def test_form_offers_datacenter_kinds_and_sites_only_when_configured(emulator, settings, staff_client):
    ada = get_user_model().objects.create_user("ada")
    url = reverse("credential_user", args=[ada.pk])
    settings.BBDASH_DATACENTER_URLS = []
    page = staff_client.get(url).content.decode()
    assert 'value="http_access_token"' not in page and 'value="basic"' not in page
    settings.BBDASH_DATACENTER_URLS = [emulator.datacenter_url]
    page = staff_client.get(url).content.decode()
    assert 'value="http_access_token"' in page and 'value="basic"' in page
    cloud = sites.normalise_api_url(emulator.api_url)
    assert f'<option value="{cloud}" selected>' in page  # Cloud stays the default site ...
    assert f'<option value="{dc_site(emulator)}">' in page
    assert '<option value="api_token" selected>' in page  # ... and the API token the default kind


def test_form_saves_a_datacenter_token_and_refuses_a_mismatch_keeping_the_input(dc, staff_client):
    ada = get_user_model().objects.create_user("ada")
    url = reverse("credential_user", args=[ada.pk])
    dc.controls.reset_counts()
    refused = staff_client.post(
        url, {"kind": "api_token", "login": "ada@example.com", "secret": "abcd-1234-secret", "api_url": dc_site(dc)}
    )
    assert refused.status_code == 200 and dc.controls.counts()["total"] == 0
    page = refused.content.decode()
    assert "is a Bitbucket Data Center site" in page
    assert 'value="ada@example.com"' in page and "abcd-1234-secret" not in page
    assert not Credential.objects.exists()

    wrong = staff_client.post(
        url, {"kind": "basic", "login": "alice", "secret": "not-the-password", "api_url": dc_site(dc)}
    )
    assert wrong.status_code == 200 and "Bitbucket refused the credential" in wrong.content.decode()
    assert 'value="alice"' in wrong.content.decode() and not Credential.objects.exists()

    saved = staff_client.post(
        url,
        {"kind": "http_access_token", "login": "alice", "secret": dc_token(dc, "alice-admin"), "api_url": dc_site(dc)},
    )
    assert saved.status_code == 302
    credential = Credential.objects.get(owner=ada)
    assert (credential.kind, credential.api_url, credential.status) == ("http_access_token", dc_site(dc), "valid")
    page = staff_client.get(url).content.decode()
    assert dc_site(dc) in page and dc_token(dc, "alice-admin") not in page
