"""`bitbucket_export` of a Data Center project synced from the emulator's Data Center site: the documented shape, with
Bitbucket Data Center's own identifiers (ids as strings, people by user slug), compared with the emulator's world."""

from __future__ import annotations

import io
import json
from datetime import UTC

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from bitbucket_emulator.world.datacenter import DcComment, DcProject, DcPullRequest
from bitbucket_sync import sites
from bitbucket_sync.client.datacenter.convert import native_id as datacenter_native_id
from bitbucket_sync.models import Credential, SyncRun, Workspace
from bitbucket_sync.sync import access, engine
from bitbucket_sync.sync.export import export_workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def encryption_key(settings):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]


@pytest.fixture
def dc_site(emulator, settings) -> str:
    settings.BBDASH_DATACENTER_URLS = [emulator.datacenter_url]
    return sites.normalise_api_url(emulator.datacenter_url)


def dc_credential(emulator, site: str, name: str = "alice") -> Credential:
    (user,) = [u for u in emulator.datacenter_credentials["users"] if u["name"] == name]
    owner = get_user_model().objects.create_user(f"dash-{name}", password="demo")
    credential = Credential(
        owner=owner, kind=Credential.Kind.BASIC, login=name, api_url=site, status=Credential.Status.VALID
    )
    credential.set_secret(user["password"])
    credential.save()
    return credential


def sync_project(credential: Credential, key: str) -> Workspace:
    """Discover the credential's projects, then a full sync of `key` with it (its sync credential)."""
    found = {ws.key: ws for ws, _ in access.discover_workspaces(credential=credential)}
    workspace = found[key]
    run = SyncRun.objects.create(
        workspace=workspace, kind=SyncRun.Kind.FULL, trigger=SyncRun.Trigger.COMMAND, credential=credential
    )
    run = engine.run_inline(run=run, sleep=lambda s: None)
    assert run.status == SyncRun.Status.SUCCEEDED, (run.message, run.errors)
    workspace.refresh_from_db()
    return workspace


def _comments(comments: list[DcComment]) -> list[DcComment]:
    return [c for root in comments for c in [root, *_comments(root.replies)]]


# Build states as the client names them (Data Center's CANCELLED is Cloud's STOPPED; UNKNOWN is left out).
_BUILD_STATES = {"SUCCESSFUL": "SUCCESSFUL", "FAILED": "FAILED", "INPROGRESS": "INPROGRESS", "CANCELLED": "STOPPED"}


def _statuses(site, pr: DcPullRequest) -> list[dict]:
    """An open pull request's builds: the site's build statuses of its source commit, by key."""
    if pr.state != "OPEN":
        return []
    builds = site.builds.get(pr.from_hash.lower(), [])
    return sorted(
        ({"key": b.key, "state": _BUILD_STATES[b.state]} for b in builds if b.state in _BUILD_STATES),
        key=lambda status: status["key"],
    )


def _pull_request(site, pr: DcPullRequest) -> dict:
    people = pr.reviewers + pr.participants
    return {
        "id": pr.id,
        "title": pr.title,
        "state": pr.state,
        "draft": pr.draft,
        "author_uuid": pr.author.user_slug,
        "source_branch": pr.from_branch,
        "destination_branch": pr.to_branch,
        "reviewers": sorted(p.user_slug for p in pr.reviewers),
        "approved_by": sorted(p.user_slug for p in people if p.status == "APPROVED"),
        "updated_on": pr.updated.astimezone(UTC).replace(microsecond=0).isoformat(),
        "task_count": sum(1 for c in _comments(pr.comments) if c.severity == "BLOCKER" and c.state == "OPEN"),
        "statuses": _statuses(site, pr),
    }


def emulator_export(emulator, key: str) -> dict:
    """The emulator's Data Center project in the export's shape: what a perfect mirror of it would hold."""
    site = emulator.world.datacenter
    project: DcProject = site.projects[key]
    users = {u.slug: u for u in site.users.values()}
    repositories = sorted((r for r in site.repositories if r.project_key == key), key=lambda r: r.slug)
    return {
        "workspace": {"uuid": str(project.id), "slug": project.key, "name": project.name},
        "members": sorted(
            (
                {"uuid": slug, "account_id": users[slug].name, "display_name": users[slug].display_name}
                for slug in project.permissions
            ),
            key=lambda m: m["uuid"],
        ),
        "repositories": [
            {
                "uuid": str(r.id),
                "slug": r.slug,
                "name": r.name,
                "is_private": not r.public,
                "main_branch": r.git.mainbranch,
                "project_key": key,
                "branches": [{"name": name, "target_hash": r.git.branches[name]} for name in sorted(r.git.branches)],
                "watchers": [],
                "pull_requests": [_pull_request(site, r.pull_requests[n]) for n in sorted(r.pull_requests)],
            }
            for r in repositories
        ],
    }


def test_export_of_a_datacenter_project_names_things_by_data_center_ids(emulator, dc_site, encryption_key):
    workspace = sync_project(dc_credential(emulator, dc_site), "PLAT")
    exported = export_workspace(workspace=workspace)
    assert exported == emulator_export(emulator, "PLAT")
    # What the comparison holds, spelled out: a pull request with reviewers and an approval, people by slug.
    (gateway,) = [r for r in exported["repositories"] if r["slug"] == "api-gateway"]
    assert gateway["main_branch"] == "main"
    assert any(pr["reviewers"] and pr["approved_by"] for pr in gateway["pull_requests"])
    assert {m["uuid"] for m in exported["members"]} == {"alice", "bob", "carol"}


def test_bitbucket_export_command_takes_a_project_key_and_its_site(emulator, dc_site, encryption_key):
    sync_project(dc_credential(emulator, dc_site), "PLAT")
    out = io.StringIO()
    # Any of the site's API roots names the same site.
    call_command("bitbucket_export", "--workspace", "PLAT", "--site", emulator.datacenter_url, stdout=out)
    assert json.loads(out.getvalue()) == emulator_export(emulator, "PLAT")
    # Without --site the key means a Cloud workspace: the project is not one.
    with pytest.raises(CommandError, match="No workspace 'PLAT'"):
        call_command("bitbucket_export", "--workspace", "PLAT", stdout=io.StringIO())
    # Nor is the project's dashboard handle.
    with pytest.raises(CommandError, match="No workspace"):
        call_command("bitbucket_export", "--workspace", f"PLAT@{sites.site_label(dc_site)}", stdout=io.StringIO())


def test_export_of_a_personal_project(emulator, dc_site, encryption_key):
    workspace = sync_project(dc_credential(emulator, dc_site), "~alice")
    assert export_workspace(workspace=workspace) == emulator_export(emulator, "~alice")


def test_bitbucket_export_refuses_a_site_that_is_not_configured(emulator, dc_site, encryption_key):
    with pytest.raises(CommandError, match="not a Bitbucket Data Center site"):
        call_command(
            "bitbucket_export", "--workspace", "PLAT", "--site", "https://git.example.com", stdout=io.StringIO()
        )
    with pytest.raises(CommandError, match="not a Bitbucket Data Center site"):
        call_command("bitbucket_export", "--workspace", "acme", "--site", emulator.api_url, stdout=io.StringIO())


@pytest.mark.parametrize(
    ("uuid", "native"),
    [("{repository-12}", "12"), ("{repository-12@1a2b3c4d}", "12"), ("{user-1}", "1")],
)
def test_datacenter_native_id_takes_either_form(uuid, native):
    assert datacenter_native_id(uuid) == native


@pytest.mark.parametrize(
    "uuid", ["{9d3f1c2e-0000-4000-8000-000000000001}", "repository-12", "{repository-}", "{repository-12@}", ""]
)
def test_datacenter_native_id_refuses_anything_else(uuid):
    with pytest.raises(ValueError):
        datacenter_native_id(uuid)
