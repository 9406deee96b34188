"""Syncing a Bitbucket Data Center project against the emulator's Data Center site, over HTTP, run inline.

Data Center's pull request listing cannot be filtered by update, and two of its behaviours are unconfirmed (the
reference, §11.1): whether ``order=NEWEST`` sorts by creation or by update, and whether a review moves
``updatedDate``. The emulator's switches play each reading; under all four an approval, a push and a merge reach
the mirror after an incremental sync with its open-PR reconcile, and an idle incremental stops after one page.

The demo site: project PLAT (alice project admin, bob write, carol read) with api-gateway (three pull requests, one
merged), deploy-tools (one declined) and legacy-scripts (archived, none).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.utils import timezone

from bitbucket_emulator.world import datacenter as dc_world
from bitbucket_sync.client import RateLimited
from bitbucket_sync.client.datacenter.convert import site_tag
from bitbucket_sync.models import (
    Credential,
    Participant,
    PullRequest,
    Repository,
    SyncRun,
    Workspace,
    WorkspaceMembership,
)
from bitbucket_sync.sync import access, engine
from bitbucket_sync.tasks import sync_all_workspaces

pytestmark = pytest.mark.django_db

PR_LISTING = "/pull-requests"  # the family of GET {R}/pull-requests (not /pull-requests/{id})


@pytest.fixture
def dc(emulator, settings):
    settings.BBDASH_DATACENTER_URLS = [emulator.datacenter_url]
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.BBDASH_OPEN_PR_RECONCILE_MINUTES = 60
    return emulator


def site(emu):
    return emu.world.datacenter


def connect(emu, name: str = "alice") -> Workspace:
    """A dashboard user with a Basic credential of the Data Center user `name`; PLAT discovered with it."""
    user = get_user_model().objects.create_user(f"{name}-dc")
    password = next(u["password"] for u in emu.datacenter_credentials["users"] if u["name"] == name)
    credential = Credential(
        owner=user,
        kind=Credential.Kind.BASIC,
        login=name,
        api_url=emu.datacenter_url,
        status=Credential.Status.VALID,
    )
    credential.set_secret(password)
    credential.save()
    access.discover_workspaces(credential=credential)
    return Workspace.objects.get(key="PLAT")


def new_run(workspace: Workspace, kind: str = SyncRun.Kind.INCREMENTAL) -> SyncRun:
    workspace.refresh_from_db()
    return SyncRun.objects.create(
        workspace=workspace, kind=kind, trigger=SyncRun.Trigger.COMMAND, credential=workspace.sync_credential
    )


def sync(workspace: Workspace, kind: str = SyncRun.Kind.INCREMENTAL, **kwargs) -> SyncRun:
    kwargs.setdefault("sleep", lambda seconds: None)
    run = engine.run_inline(run=new_run(workspace, kind), **kwargs)
    assert run.status == SyncRun.Status.SUCCEEDED, (run.message, run.errors)
    return run


def requests_to(emu, suffix: str, method: str = "GET") -> int:
    """Requests made to the endpoint families ending with `suffix`, any status."""
    return sum(
        v["total"]
        for family, v in emu.controls.counts()["by_endpoint"].items()
        if family.startswith(method + " ") and family.endswith(suffix)
    )


def listing_statuses(emu) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for family, v in emu.controls.counts()["by_endpoint"].items():
        if family.startswith("GET ") and family.endswith(PR_LISTING):
            for status, n in v.get("status", {}).items():
                statuses[status] = statuses.get(status, 0) + n
    return statuses


def world_pull_requests(emu) -> dict:
    """What a perfect mirror holds of each pull request: state, title, tips, draft and every review status."""
    s = site(emu)
    tag = site_tag(emu.datacenter_url)  # the client's records carry the site's tag in their ids
    with emu.world.lock:
        out = {}
        for repo in s.repositories:
            if repo.project_key != "PLAT":
                continue
            for pr in repo.pull_requests.values():
                reviews = {
                    f"{{user-{s.users[p.user_slug].id}@{tag}}}": {
                        "APPROVED": "approved",
                        "NEEDS_WORK": "changes_requested",
                    }.get(p.status, "")
                    for p in pr.reviewers + pr.participants
                }
                out[(repo.slug, pr.id)] = (pr.state, pr.title, pr.from_hash, pr.to_hash[:12], pr.draft, reviews)
        return out


def mirror_pull_requests(workspace: Workspace) -> dict:
    out = {}
    for pr in PullRequest.objects.filter(repository__workspace=workspace).select_related("repository"):
        reviews = {
            p.account.bitbucket_uuid: p.state
            for p in Participant.objects.filter(pull_request=pr).select_related("account")
        }
        out[(pr.repository.slug, pr.number)] = (
            pr.state,
            pr.title,
            pr.source_commit,
            pr.destination_commit[:12],  # a moved target branch is followed by its short hash until the PR is read
            pr.draft,
            reviews,
        )
    return out


def gateway(emu):
    return site(emu).repository("PLAT", "api-gateway")


# -- full sync -------------------------------------------------------------------------------------------------------


def test_full_sync_mirrors_the_project_archived_repository_default_branches_and_members(dc):
    workspace = connect(dc)
    dc.controls.reset_counts()

    run = sync(workspace, SyncRun.Kind.FULL)

    repositories = {r.slug: r for r in Repository.objects.live().filter(workspace=workspace)}
    assert sorted(repositories) == ["api-gateway", "deploy-tools", "legacy-scripts"]
    assert repositories["legacy-scripts"].archived and not repositories["api-gateway"].archived
    # The listing names no default branch; the branch listing's isDefault does, at no extra request.
    assert {slug: r.main_branch for slug, r in repositories.items()} == dict.fromkeys(repositories, "main")
    assert requests_to(dc, "/default-branch") == 0
    assert mirror_pull_requests(workspace) == world_pull_requests(dc)
    workspace.refresh_from_db()
    assert workspace.members_state == "read"
    members = WorkspaceMembership.objects.live().filter(workspace=workspace)
    assert sorted(members.values_list("account__display_name", flat=True)) == ["Alice Anders", "Bob Berg", "Carol Chen"]
    assert all(r.open_pull_requests_reconciled_at is not None for r in repositories.values())
    assert run.requests_made == dc.controls.counts()["total"]


def test_incremental_keeps_repository_rows_and_default_branch(dc):
    workspace = connect(dc)
    sync(workspace, SyncRun.Kind.FULL)
    before = {r.slug: (r.updated_on, r.main_branch) for r in Repository.objects.filter(workspace=workspace)}

    run = sync(workspace)

    after = {r.slug: (r.updated_on, r.main_branch) for r in Repository.objects.filter(workspace=workspace)}
    assert after == before  # the listing's "updated_on" (the moment it was read) and its missing default are ignored
    assert "repositories" not in run.stats


# -- incremental sync under every reading ----------------------------------------------------------------------------


def add_old_open_pull_request(emu) -> int:
    """An open pull request in api-gateway created before the others (so it sorts last by creation)."""
    s = site(emu)
    with emu.world.lock:
        repo = gateway(emu)
        first = repo.pull_requests[1]
        pr = dc_world.create_pull_request(
            s,
            repo,
            title="Document the gateway",
            from_branch="docs/gateway",
            from_commit=repo.git.branches["main"],
            author_slug="carol",
            reviewers=["bob"],
            when=first.created + timedelta(seconds=1),
        )
        return pr.id


@pytest.mark.parametrize("newest_by", ["updated", "created"])
@pytest.mark.parametrize("reviews_move_updated", [True, False])
def test_incremental_mirrors_an_approval_a_push_and_a_merge(dc, settings, newest_by, reviews_move_updated):
    s = site(dc)
    with dc.world.lock:
        dc_world.set_switches(
            s, newest_by=newest_by, reviews_move_updated=reviews_move_updated, pull_request_page_max=1
        )
    old = add_old_open_pull_request(dc)
    workspace = connect(dc)
    sync(workspace, SyncRun.Kind.FULL)
    assert mirror_pull_requests(workspace) == world_pull_requests(dc)

    # Idle, reconcile not due: one page of the pull request listing per repository, nothing else per repository.
    dc.controls.reset_counts()
    idle = sync(workspace)
    assert listing_statuses(dc) == {"200": 3}
    assert requests_to(dc, "/branches") == requests_to(dc, "/tags") == 0
    assert idle.requests_made == 3 + 2  # the repository and member listings

    now = dc.world.now()
    with dc.world.lock:
        repo = gateway(dc)
        dc_world.review(s, repo, 3, "alice", "APPROVED", now)  # the newest pull request, approved
        pushed = dc_world.push_to_source(dc.world, s, repo, 2, "bob", {"src/limits.py": "LIMIT = 600\n"}, now)
        dc_world.close(dc.world, s, repo, old, "alice", "MERGED", now)  # the oldest open one, merged
    settings.BBDASH_OPEN_PR_RECONCILE_MINUTES = 0

    sync(workspace)

    assert mirror_pull_requests(workspace) == world_pull_requests(dc)
    rows = {pr.number: pr for pr in PullRequest.objects.filter(repository__slug="api-gateway")}
    assert rows[2].source_commit == pushed
    assert rows[old].state == PullRequest.State.MERGED
    assert Participant.objects.get(pull_request=rows[3], account__display_name="Alice Anders").approved

    # Idle again, reconcile due on every sync: the first page and the open listing of each repository (two pages in
    # api-gateway, whose two open pull requests fill two pages of one).
    dc.controls.reset_counts()
    sync(workspace)
    assert listing_statuses(dc) == {"200": 3 + 4}


def test_polling_alone_catches_changes_that_move_the_order(dc):
    """When the newest-updated order holds and reviews move it, no reconcile is needed to see all three."""
    s = site(dc)
    with dc.world.lock:
        dc_world.set_switches(s, newest_by="updated", reviews_move_updated=True, pull_request_page_max=1)
    old = add_old_open_pull_request(dc)
    workspace = connect(dc)
    sync(workspace, SyncRun.Kind.FULL)
    now = dc.world.now()
    with dc.world.lock:
        repo = gateway(dc)
        dc_world.review(s, repo, 3, "alice", "NEEDS_WORK", now)
        dc_world.push_to_source(dc.world, s, repo, 2, "bob", {"src/limits.py": "LIMIT = 700\n"}, now)
        dc_world.close(dc.world, s, repo, old, "alice", "DECLINED", now)
    dc.controls.reset_counts()

    sync(workspace)  # reconcile not due (60 minutes)

    assert mirror_pull_requests(workspace) == world_pull_requests(dc)
    # api-gateway: three changed pages, then one unchanged page from before the mark; one page elsewhere.
    assert listing_statuses(dc) == {"200": 4 + 2}
    # No pull request read alone: not by a reconcile, nor for the pushed PR's builds (its listing gave the commit).
    assert requests_to(dc, "/pull-requests/{pullRequestId}") == 0


def test_reconcile_reads_a_vanished_open_pull_request_and_leaves_a_404_alone(dc, settings):
    old = add_old_open_pull_request(dc)
    workspace = connect(dc)
    sync(workspace, SyncRun.Kind.FULL)
    with dc.world.lock:
        dc_world.set_switches(site(dc), pull_request_page_max=1)
        repo = gateway(dc)
        # Declined without moving updatedDate: behind the first page, which polling finds unchanged.
        dc_world.close(dc.world, site(dc), repo, 2, "bob", "DECLINED", repo.pull_requests[2].updated)
        del repo.pull_requests[old]  # gone from Bitbucket (or from the credential's sight)
    settings.BBDASH_OPEN_PR_RECONCILE_MINUTES = 0
    dc.controls.reset_counts()

    run = sync(workspace)

    rows = {pr.number: pr.state for pr in PullRequest.objects.filter(repository__slug="api-gateway")}
    assert rows[2] == PullRequest.State.DECLINED  # read alone: the open listing no longer named it
    assert rows[old] == PullRequest.State.OPEN  # a 404 proves nothing: left as it was
    assert requests_to(dc, "/pull-requests/{pullRequestId}") == 2
    assert run.stats["pull_requests"]["updated"] == 1


# -- faults, pauses and a worker that died ---------------------------------------------------------------------------


def test_a_429_pauses_the_run_and_it_resumes(dc):
    with dc.world.lock:
        dc_world.set_switches(site(dc), pull_request_page_max=1)
    workspace = connect(dc)
    dc.controls.set_dc_rate_limit(6, fill_rate=0.001)
    pauses = []

    run = sync(
        workspace,
        SyncRun.Kind.FULL,
        sleep=lambda seconds: dc.controls.set_dc_rate_limit(None),
        on_pause=lambda run, paused: pauses.append(paused.reason),
    )

    assert len(pauses) == 1 and "429" in pauses[0]
    assert run.rate_limit_pauses == 1
    assert mirror_pull_requests(workspace) == world_pull_requests(dc)


def test_a_5xx_is_retried(dc):
    workspace = connect(dc)
    dc.controls.set_fault(5, "500")

    run = sync(workspace, SyncRun.Kind.FULL)

    assert run.failure_retries >= 1
    assert mirror_pull_requests(workspace) == world_pull_requests(dc)


def test_a_listing_cut_short_by_a_dead_worker_resumes_at_its_page(dc):
    with dc.world.lock:
        dc_world.set_switches(site(dc), pull_request_page_max=1)
    workspace = connect(dc)
    run = new_run(workspace)
    engine.begin_run(run=run)
    client = engine.sync_client(run)
    engine.sync_workspace_listing(run=run, client=client)
    repository = Repository.objects.get(workspace=workspace, slug="api-gateway")
    dc.controls.set_dc_rate_limit(1, fill_rate=0.001)  # page one, then a 429 on page two
    with pytest.raises(RateLimited):
        engine.sync_repository(run=run, repository=repository, client=client)
    engine.finish_run(run_id=run.pk, failure="Stopped for the test (its worker died).")
    dc.controls.set_dc_rate_limit(None)
    repository.refresh_from_db()
    assert "start=1" in repository.pull_requests_resume_url
    assert PullRequest.objects.filter(repository=repository).count() == 1
    # Only the pull request listing is counted below: no repository's open-PR reconcile is due.
    Repository.objects.filter(workspace=workspace).update(open_pull_requests_reconciled_at=timezone.now())
    dc.controls.reset_counts()

    sync(workspace)

    counts = dc.controls.counts()["by_endpoint"]
    gateway_listing = [v for family, v in counts.items() if family.endswith(PR_LISTING)]
    assert sum(v["total"] for v in gateway_listing) == 2 + 1 + 1  # api-gateway's pages two and three; one each else
    assert mirror_pull_requests(workspace) == world_pull_requests(dc)
    assert Repository.objects.get(pk=repository.pk).pull_requests_resume_url == ""


# -- members ---------------------------------------------------------------------------------------------------------


def test_members_stay_unknown_without_project_admin(dc):
    workspace = connect(dc, "alice")
    sync(workspace, SyncRun.Kind.FULL)
    assert WorkspaceMembership.objects.live().filter(workspace=workspace).count() == 3
    bob = connect(dc, "bob")  # PROJECT_WRITE: may not read the project's permissions
    bob_credential = Credential.objects.get(login="bob")
    Workspace.objects.filter(pk=bob.pk).update(sync_credential=bob_credential, sync_credential_pinned=True)

    run = sync(workspace, SyncRun.Kind.FULL)

    workspace.refresh_from_db()
    assert workspace.members_state == "forbidden"
    assert WorkspaceMembership.objects.live().filter(workspace=workspace).count() == 3  # never pruned
    assert run.errors == []
    assert mirror_pull_requests(workspace) == world_pull_requests(dc)


def test_members_unknown_from_the_first_sync_of_a_non_admin(dc):
    workspace = connect(dc, "bob")

    sync(workspace, SyncRun.Kind.FULL)

    workspace.refresh_from_db()
    assert workspace.members_state == "forbidden"
    assert not WorkspaceMembership.objects.filter(workspace=workspace).exists()
    assert Repository.objects.live().filter(workspace=workspace).count() == 3


# -- the nightly full sync -------------------------------------------------------------------------------------------


def test_the_nightly_full_sync_covers_data_center_projects(dc, settings):
    workspace = connect(dc)
    entry = settings.CELERY_BEAT_SCHEDULE["full-sync-daily"]
    assert entry["task"] == "bitbucket_sync.tasks.sync_all_workspaces" and entry["kwargs"] == {"kind": "full"}

    sync_all_workspaces(kind=SyncRun.Kind.FULL)

    assert SyncRun.objects.filter(workspace=workspace, kind=SyncRun.Kind.FULL).exists()
