"""A user with a credential on Bitbucket Cloud and one on a Data Center site sees both sites' workspaces and
repositories: their access rows are the union of what each credential sees, and a credential revoked takes away
its site's rows only."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model

from bitbucket_sync import sites
from bitbucket_sync.models import Credential, PullRequest, Repository, SyncRun, Workspace, WorkspaceAccess
from bitbucket_sync.sync import access, engine

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def encryption_key(settings):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]


def _credential(owner, **fields) -> Credential:
    secret = fields.pop("secret")
    credential = Credential(owner=owner, status=Credential.Status.VALID, **fields)
    credential.set_secret(secret)
    credential.save()
    return credential


@pytest.fixture
def alice(emulator, settings, encryption_key):
    """Dashboard user alice with her emulator Cloud API token and her Data Center password, each site synced."""
    settings.BBDASH_DATACENTER_URLS = [emulator.datacenter_url]
    user = get_user_model().objects.create_user("alice", password="demo")
    cloud = emulator.account("alice")
    _credential(user, kind=Credential.Kind.API_TOKEN, login=cloud["email"], api_url=emulator.api_url,
                secret=cloud["api_token"])  # fmt: skip
    (dc,) = [u for u in emulator.datacenter_credentials["users"] if u["name"] == "alice"]
    _credential(user, kind=Credential.Kind.BASIC, login="alice", secret=dc["password"],
                api_url=sites.normalise_api_url(emulator.datacenter_url))  # fmt: skip
    for credential in Credential.objects.active_for(user):
        for workspace, _ in access.discover_workspaces(credential=credential):
            run = SyncRun.objects.create(
                workspace=workspace, kind=SyncRun.Kind.FULL, trigger=SyncRun.Trigger.COMMAND, credential=credential
            )
            assert engine.run_inline(run=run, sleep=lambda s: None).status == SyncRun.Status.SUCCEEDED
    return user


def test_a_user_sees_both_sites_through_a_credential_each(alice, emulator):
    counts = access.sync_user_access(user=alice)
    label = sites.site_label(emulator.datacenter_url)
    workspaces = set(Workspace.objects.visible_to(alice).values_list("slug", flat=True))
    # Cloud workspaces, the Data Center project, and her personal project the project listing leaves out.
    assert workspaces == {"acme", "alice-labs", f"PLAT@{label}", f"~alice@{label}"}
    assert counts["workspaces"] == 4
    visible = Repository.objects.visible_to(alice)
    assert visible.filter(workspace__slug="acme").exists()
    assert set(visible.filter(workspace__key__in=["PLAT", "~alice"]).values_list("full_name", flat=True)) >= {
        "PLAT/api-gateway",
        "PLAT/deploy-tools",
        "~alice/dotfiles",
    }
    pull_requests = PullRequest.objects.visible_to(alice)
    assert pull_requests.filter(workspace__slug="acme").exists()
    assert pull_requests.filter(workspace__slug=f"PLAT@{label}").exists()


def test_revoking_one_sites_credential_leaves_the_other_sites_access(alice, emulator):
    access.sync_user_access(user=alice)
    Credential.objects.filter(owner=alice, kind=Credential.Kind.BASIC).update(is_active=False)
    access.sync_user_access(user=alice)
    assert set(WorkspaceAccess.objects.filter(user=alice).values_list("workspace__slug", flat=True)) == {
        "acme",
        "alice-labs",
    }
    assert not Repository.objects.visible_to(alice).filter(workspace__key="PLAT").exists()
    assert Repository.objects.visible_to(alice).filter(workspace__slug="acme").exists()
