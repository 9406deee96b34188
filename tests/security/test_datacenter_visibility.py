"""Who sees what of a Data Center site: exactly what each user's own credential for that site may read, and every
read or write about a workspace goes out with the credential of the workspace's site, never another site's."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from bitbucket_sync import ledger, sites
from bitbucket_sync.actions._core import client_for_reading
from bitbucket_sync.credentials import lifecycle
from bitbucket_sync.models import Credential, Repository, RepositoryAccess, Workspace, WorkspaceAccess
from bitbucket_sync.sync import access
from dashboard import selectors
from dashboard.selectors.attention import tab_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def dc(emulator, settings):
    settings.BBDASH_DATACENTER_URLS = [emulator.datacenter_url]
    return emulator


def _secret(emu, *, token: str = "", user: str = "") -> str:
    creds = emu.datacenter_credentials
    if token:
        return next(t["token"] for t in creds["tokens"] if t["name"] == token)
    return next(u["password"] for u in creds["users"] if u["name"] == user)


def _set(monkeypatch, username: str, secret: str, *args: str) -> Credential:
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    call_command(
        "bitbucket_credential", "set", username, "--secret-stdin", "--create-user", *args, stdout=io.StringIO()
    )
    return Credential.objects.get(owner__username=username, is_active=True, api_url=args[args.index("--api-url") + 1])


def _dc(emu, monkeypatch, username: str, *, token: str = "", login: str = "") -> Credential:
    kind = "http_access_token" if token else "basic"
    secret = _secret(emu, token=token, user=login or username)
    site = sites.normalise_api_url(emu.datacenter_url)
    login_args = ("--login", login) if login else ()
    return _set(monkeypatch, username, secret, "--kind", kind, *login_args, "--api-url", site)


def _cloud(emu, monkeypatch, username: str) -> Credential:
    account = emu.account(username)
    site = sites.normalise_api_url(emu.api_url)
    return _set(monkeypatch, username, account["api_token"], "--kind", "api_token", "--login", account["email"],
                "--api-url", site)  # fmt: skip


def _sync_as(username: str) -> None:
    """Discover, sync and refresh the user's access. A run with a credential that does not administer a project
    stops at its members (Data Center lists them to project admins only); the access rows are refreshed anyway."""
    try:
        call_command("bitbucket_sync", "--as", username, stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError as error:
        assert "Some syncs did not succeed" in str(error)


def _page(client, user, url: str) -> int:
    client.force_login(user)
    return client.get(url).status_code


def test_personal_token_sees_own_projects_never_another_users_personal_project(dc, monkeypatch, client):
    _dc(dc, monkeypatch, "alice", token="alice-admin", login="alice")
    _dc(dc, monkeypatch, "carol", login="carol")
    _sync_as("alice")
    _sync_as("carol")
    users = get_user_model().objects
    alice, carol = users.get(username="alice"), users.get(username="carol")

    def keys(user):
        return set(WorkspaceAccess.objects.filter(user=user).values_list("workspace__key", flat=True))

    assert keys(alice) == {"PLAT", "~alice"}
    assert keys(carol) == {"PLAT"}
    assert not RepositoryAccess.objects.filter(user=carol, repository__workspace__key="~alice").exists()
    assert set(RepositoryAccess.objects.filter(user=carol).values_list("permission", flat=True)) == {"read"}
    assert RepositoryAccess.objects.get(user=alice, repository__slug="api-gateway").permission == "admin"

    personal = Workspace.objects.get(key="~alice")
    dotfiles = Repository.objects.get(workspace=personal, slug="dotfiles")
    for url in (
        reverse("workspace_detail", args=[personal.slug]),
        reverse("repository_detail", args=[personal.slug, dotfiles.slug]),
        reverse("repository_pull_request_list", args=[personal.slug, dotfiles.slug]),
        reverse("pull_request_list", args=[personal.slug]),
    ):
        assert _page(client, carol, url) == 404, url
        assert _page(client, alice, url) == 200, url


def test_repository_token_sees_one_repository_and_other_pages_are_404(dc, monkeypatch, client):
    token = _dc(dc, monkeypatch, "gate", token="gateway-ci")
    assert (token.scope_kind, token.scope_name) == ("repository", "PLAT/api-gateway")
    _dc(dc, monkeypatch, "alice", token="alice-admin", login="alice")
    _sync_as("alice")  # the whole project in the mirror
    _sync_as("gate")
    gate = token.owner

    assert list(RepositoryAccess.objects.filter(user=gate).values_list("repository__slug", flat=True)) == [
        "api-gateway"
    ]
    plat = Workspace.objects.get(key="PLAT")
    assert _page(client, gate, reverse("repository_detail", args=[plat.slug, "api-gateway"])) == 200
    assert _page(client, gate, reverse("repository_detail", args=[plat.slug, "deploy-tools"])) == 404
    assert _page(client, gate, reverse("workspace_detail", args=[Workspace.objects.get(key="~alice").slug])) == 404


def test_cloud_and_datacenter_credentials_each_serve_their_own_site(dc, monkeypatch, client):
    cloud = _cloud(dc, monkeypatch, "alice")
    datacenter = _dc(dc, monkeypatch, "alice", token="alice-admin", login="alice")
    _sync_as("alice")
    alice = cloud.owner
    cloud_site = sites.normalise_api_url(dc.api_url)
    cloud_repo = Repository.objects.filter(workspace__api_url=cloud_site, user_access__user=alice).first()
    dc_repo = Repository.objects.get(workspace__key="PLAT", slug="api-gateway")
    assert cloud_repo is not None

    # Both sites' workspaces are hers, on one page.
    client.force_login(alice)
    home = client.get(reverse("home")).content.decode()
    assert dc_repo.workspace.slug in home and cloud_repo.workspace.slug in home

    # Acting on a Cloud repository uses the Cloud credential; on a Data Center one, the Data Center credential.
    _, used = client_for_reading(user=alice, repository=cloud_repo)
    assert used.pk == cloud.pk
    _, used = client_for_reading(user=alice, repository=dc_repo)
    assert used.pk == datacenter.pk

    # A browse read of a Data Center repository goes out with the Data Center credential only.
    assert selectors.active_credential(alice, workspace=dc_repo.workspace) == datacenter
    before = (ledger.requests_in_window(cloud), ledger.requests_in_window(datacenter))
    response = client.get(reverse("source_root", args=[dc_repo.workspace.slug, dc_repo.slug]), follow=True)
    assert response.status_code == 200
    after = (ledger.requests_in_window(cloud), ledger.requests_in_window(datacenter))
    assert after[0] == before[0] and after[1] > before[1]

    # "Me" spans both sites' accounts.
    assert {a.pk for a in selectors.accounts_for_user(alice)} == {cloud.account_id, datacenter.account_id}


def test_datacenter_workspace_never_takes_a_cloud_credential(dc, monkeypatch):
    cloud = _cloud(dc, monkeypatch, "carol")
    datacenter = _dc(dc, monkeypatch, "alice", token="alice-admin", login="alice")
    _sync_as("alice")
    plat = Workspace.objects.get(key="PLAT")
    assert Credential.objects.for_site(cloud.owner, plat.api_url) is None
    assert Credential.objects.for_site(datacenter.owner, plat.api_url) == datacenter
    assert Credential.objects.for_site(datacenter.owner, sites.normalise_api_url(dc.api_url)) is None


def test_inbox_counts_me_on_every_site_and_only_what_the_viewer_sees(dc, monkeypatch, client):
    cloud = _cloud(dc, monkeypatch, "alice")
    datacenter = _dc(dc, monkeypatch, "alice", token="alice-admin", login="alice")
    _sync_as("alice")
    alice = cloud.owner
    mine = selectors.accounts_for_user(alice)
    assert {a.pk for a in mine} == {cloud.account_id, datacenter.account_id}
    scope = selectors.attention_scope(alice)
    authored = set()
    for tab in ("returned", "ready", "waiting"):  # "waiting" also lists others' PRs that wait on her as a reviewer
        authored |= {(pr.workspace.api_url, pr.author_id) for pr in tab_rows(tab, me=mine, scope=scope)}
    # Her own open pull requests of both sites are in her inbox, each under the account of its own site.
    assert (datacenter.api_url, datacenter.account_id) in authored
    assert (cloud.api_url, cloud.account_id) in authored
    client.force_login(alice)
    assert client.get(reverse("attention_inbox") + "?tab=waiting").status_code == 200


def test_revoking_one_sites_credential_hides_that_site_only(dc, monkeypatch):
    cloud = _cloud(dc, monkeypatch, "alice")
    datacenter = _dc(dc, monkeypatch, "alice", token="alice-admin", login="alice")
    _sync_as("alice")
    alice = cloud.owner
    dc_site = datacenter.api_url

    lifecycle.revoke_credential(actor=None, credential=datacenter)

    rows = WorkspaceAccess.objects.filter(user=alice)
    assert not rows.filter(workspace__api_url=dc_site).exists()
    assert not RepositoryAccess.objects.filter(user=alice, repository__workspace__api_url=dc_site).exists()
    assert rows.filter(workspace__api_url=cloud.api_url).exists()
    assert RepositoryAccess.objects.filter(user=alice, repository__workspace__api_url=cloud.api_url).exists()
    # And a refresh keeps it so: the Cloud credential decides nothing about the Data Center site's rows.
    access.sync_user_access(user=alice)
    assert not WorkspaceAccess.objects.filter(user=alice, workspace__api_url=dc_site).exists()
    assert WorkspaceAccess.objects.filter(user=alice, workspace__api_url=cloud.api_url).exists()
