"""A mirror of the emulator's Data Center project PLAT, built through the product: a dashboard user alice (staff)
with a `basic` credential for the site (PLAT's PROJECT_ADMIN on Data Center), the projects her credential finds, and
a full sync of PLAT inline."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from bitbucket_emulator import Emulator
from bitbucket_sync.models import Credential, SyncRun, Workspace, WorkspaceAccess
from bitbucket_sync.sync import access, engine


@dataclass
class DcMirror:
    emulator: Emulator
    workspace: Workspace
    alice: object
    credential: Credential

    def sync(self) -> SyncRun:
        run = SyncRun.objects.create(
            workspace=self.workspace,
            kind=SyncRun.Kind.FULL,
            trigger=SyncRun.Trigger.COMMAND,
            credential=self.credential,
        )
        return engine.run_inline(run=run, sleep=lambda seconds: None)


def build_dc_mirror(emulator: Emulator, settings, *, username: str = "alice") -> DcMirror:
    """Needs BBDASH_ENCRYPTION_KEYS and the database; points BBDASH_DATACENTER_URLS at the emulator's site."""
    settings.BBDASH_DATACENTER_URLS = [emulator.datacenter_url]
    site = emulator.world.datacenter
    assert site is not None
    person = site.users[username]
    user = get_user_model().objects.create_user(username, password="x-not-used-1", is_staff=True)
    credential = Credential(
        owner=user,
        kind=Credential.Kind.BASIC,
        login=person.name,
        api_url=emulator.datacenter_url,
        status=Credential.Status.VALID,
    )
    credential.set_secret(person.password)
    credential.save()
    access.discover_workspaces(credential=credential)
    workspace = Workspace.objects.get(key="PLAT")
    mirror = DcMirror(emulator, workspace, user, credential)
    run = mirror.sync()
    assert run.status == SyncRun.Status.SUCCEEDED, (run.message, run.errors)
    mirror.workspace.refresh_from_db()
    # Her access to the project as the access sync writes it (that sync does not speak to Data Center yet): the
    # pages are scoped by these rows.
    WorkspaceAccess.objects.get_or_create(user=user, workspace=mirror.workspace, defaults={"administrator": True})
    return mirror
