"""Merge rules and conflicts in the mirror, against the emulator over HTTP: branch restrictions read with the sync
credential (an admin reads them, anyone else leaves them unknown), and the merge previews read after a sync for the
open pull requests whose tips moved, within the budget reserve."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from bitbucket_sync import conflicts, tasks, turns
from bitbucket_sync.credentials import clients
from bitbucket_sync.models import BranchRestriction, PullRequest, Repository, SyncRun
from bitbucket_sync.sync import merge_preview

from .test_sync_engine import encryption_key, setup_workspace, sync_inline  # noqa: F401  (fixture)

RULES = "GET /2.0/repositories/{workspace}/{repo_slug}/branch-restrictions"
DIFFSTAT = "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/diffstat"


def _count(emu, family: str) -> int:
    return emu.controls.counts()["by_endpoint"].get(family, {}).get("total", 0)


def _admin_session(emu) -> requests.Session:
    account = emu.account("alice")
    session = requests.Session()
    session.auth = (account["email"], account["api_token"])
    session.trust_env = False
    return session


def _preview_pass(workspace) -> merge_preview.Outcome:
    credential = workspace.sync_credential
    with clients.client_for(credential, purpose="sync") as client:
        return merge_preview.check_moved_pull_requests(workspace=workspace, client=client, credential=credential)


def test_an_admin_sync_credential_reads_the_rules(demo_world):
    workspace = demo_world.workspace  # alice, a workspace owner, syncs it
    run = SyncRun.objects.get(workspace=workspace, kind=SyncRun.Kind.FULL)

    mobile = Repository.objects.get(workspace=workspace, slug="mobile-app")
    assert mobile.restrictions_state == "read" and mobile.restrictions_synced_at is not None
    rules = {r.kind: r for r in BranchRestriction.objects.filter(repository=mobile)}
    assert rules["require_approvals_to_merge"].value == 2 and rules["require_approvals_to_merge"].pattern == "main"
    assert run.stats["branch_restrictions"]["created"] == 5
    # A repository without rules is known to have none: not the same as unknown.
    api = Repository.objects.get(workspace=workspace, slug="api-server")
    assert api.restrictions_state == "read" and not BranchRestriction.objects.filter(repository=api).exists()

    pr = PullRequest.objects.get(repository=mobile, number=2)
    facts = turns.facts_for([pr])[pr.pk]
    assert facts.rules is not None and facts.rules.enforced and facts.rules.required_approvals == 2
    assert pr.turn == turns.REVIEWERS  # one approval of the two its rules ask for


@pytest.mark.django_db
def test_a_member_sync_credential_leaves_the_rules_unknown(emulator, encryption_key):  # noqa: F811
    workspace = setup_workspace(emulator, "bob")  # bob writes to mobile-app; only admins may read its rules
    run = sync_inline(workspace, kind=SyncRun.Kind.FULL)
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors  # a 403 here is an answer, not a failure

    mobile = Repository.objects.get(workspace=workspace, slug="mobile-app")
    assert mobile.restrictions_state == "forbidden"
    assert not BranchRestriction.objects.exists()
    pr = PullRequest.objects.get(repository=mobile, number=2)
    assert turns.facts_for([pr])[pr.pk].rules is None  # never guessed


def test_rules_are_read_again_only_when_due(demo_world, settings):
    settings.BBDASH_RESTRICTIONS_HOURS = 6
    emulator, workspace = demo_world.emulator, demo_world.workspace
    mobile = Repository.objects.get(workspace=workspace, slug="mobile-app")
    rule = BranchRestriction.objects.get(repository=mobile, kind="delete")
    _admin_session(emulator).delete(
        f"{emulator.api_url}/repositories/acme/mobile-app/branch-restrictions/{rule.bitbucket_id}"
    ).raise_for_status()

    emulator.controls.reset_counts()
    demo_world.sync()
    assert _count(emulator, RULES) == 0  # read at the last full sync: not due
    assert BranchRestriction.objects.filter(pk=rule.pk).exists()

    Repository.objects.filter(pk=mobile.pk).update(restrictions_synced_at=timezone.now() - timedelta(hours=7))
    run = demo_world.sync()
    assert _count(emulator, RULES) == 1  # only the repository whose rules aged
    assert not BranchRestriction.objects.filter(pk=rule.pk).exists()  # gone after the complete listing
    assert run.stats["branch_restrictions"]["removed"] == 1


def test_a_failed_rules_listing_keeps_the_rules(demo_world):
    emulator = demo_world.emulator
    before = set(BranchRestriction.objects.values_list("bitbucket_id", flat=True))
    emulator.controls.set_fault(1, "500", path="/2.0/repositories/acme/mobile-app/branch-restrictions")
    run = demo_world.sync(SyncRun.Kind.FULL)
    emulator.controls.set_fault(None)
    assert run.status == SyncRun.Status.FAILED
    assert set(BranchRestriction.objects.values_list("bitbucket_id", flat=True)) == before
    assert Repository.objects.get(slug="mobile-app").restrictions_state == "read"


def _forget_previews() -> None:
    PullRequest.objects.update(conflict_state="", conflict_paths=[], conflicts_checked_for="")


def test_merge_previews_after_a_sync_then_nothing_when_nothing_moved(demo_world):
    emulator, workspace = demo_world.emulator, demo_world.workspace
    _forget_previews()
    open_prs = PullRequest.objects.filter(workspace=workspace, state="OPEN").count()

    first = _preview_pass(workspace)
    assert first.checked == open_prs and first.conflicted == 1 and first.deferred == 0
    conflicted = PullRequest.objects.get(repository__slug="api-server", number=3)
    assert conflicted.conflict_state == "conflicted"
    assert conflicted.conflict_paths == ["src/api_server/settings.py"]
    assert conflicted.conflicts_checked_for == conflicts.pair_of(
        conflicted.source_commit, conflicted.destination_commit
    )
    assert conflicted.turn == turns.AUTHOR and "merge conflict" in conflicted.turn_reasons
    assert PullRequest.objects.get(repository__slug="api-server", number=4).conflict_state == "clean"

    emulator.controls.reset_counts()
    demo_world.sync()
    assert _preview_pass(workspace).checked == 0
    assert emulator.controls.counts()["total"] == len(Repository.objects.live()) + 2  # the sync's own requests


def test_a_moved_destination_makes_conflicts_unknown_then_read_again(demo_world):
    emulator, workspace = demo_world.emulator, demo_world.workspace  # its merge previews were read after its sync
    emulator.world.make_conflict("acme", "api-server", 4)

    demo_world.sync()
    pr = PullRequest.objects.get(repository__slug="api-server", number=4)
    assert pr.conflict_state == "" and pr.conflict_paths == []  # unknown, never "no conflicts"
    untouched = PullRequest.objects.get(repository__slug="docs", number=2)
    assert untouched.conflict_state == "clean"

    emulator.controls.reset_counts()
    outcome = _preview_pass(workspace)
    into_main = PullRequest.objects.filter(repository__slug="api-server", state="OPEN", destination_branch="main")
    assert outcome.checked == into_main.count()  # only the pull requests whose destination moved
    assert _count(emulator, DIFFSTAT) == outcome.checked
    assert PullRequest.objects.get(pk=pr.pk).conflict_state == "conflicted"


def test_a_moved_source_makes_conflicts_unknown(demo_world):
    emulator = demo_world.emulator
    pr = PullRequest.objects.get(repository__slug="api-server", number=4)
    emulator.world.commit_files("acme", "api-server", pr.source_branch, "bob", {"more.txt": "more\n"})

    assert pr.conflict_state == "clean"
    demo_world.sync()
    pr.refresh_from_db()
    assert pr.conflict_state == "" and pr.conflicts_checked_for != conflicts.pair_of(
        pr.source_commit, pr.destination_commit
    )


def test_merge_previews_wait_when_the_budget_reaches_the_reserve(demo_world, settings):
    emulator, workspace = demo_world.emulator, demo_world.workspace
    _forget_previews()
    settings.BBDASH_BUDGET_RESERVE_PERCENT = 100  # nothing left for periodic work
    emulator.controls.reset_counts()

    outcome = _preview_pass(workspace)

    assert outcome.checked == 0 and outcome.deferred == PullRequest.objects.filter(state="OPEN").count()
    assert emulator.controls.counts()["total"] == 0
    assert not PullRequest.objects.exclude(conflict_state="").exists()


def test_merge_previews_stop_at_the_reserve_part_way(demo_world, monkeypatch):
    workspace = demo_world.workspace
    _forget_previews()
    calls = iter([None, None, 60.0])
    monkeypatch.setattr(merge_preview.engine, "budget_wait", lambda credential: next(calls))

    outcome = _preview_pass(workspace)

    assert outcome.checked == 2
    assert outcome.deferred == PullRequest.objects.filter(state="OPEN").count() - 2


def test_a_finished_run_queues_the_merge_previews(demo_world, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.check_conflicts_task, "delay", lambda workspace_id: queued.append(workspace_id))
    monkeypatch.setattr(tasks.sync_user_access_task, "delay", lambda user_id: None)
    run = SyncRun.objects.create(
        workspace=demo_world.workspace, status=SyncRun.Status.RUNNING, credential=demo_world.credential
    )

    tasks._finish(run.pk)

    assert queued == [demo_world.workspace.pk]


def test_the_merge_preview_task_reads_with_the_sync_credential(demo_world):
    _forget_previews()
    demo_world.emulator.controls.reset_counts()

    outcome = tasks.check_conflicts_task(demo_world.workspace.pk)

    assert outcome["checked"] == PullRequest.objects.filter(state="OPEN").count() and outcome["conflicted"] == 1
    by_credential = demo_world.emulator.controls.counts()["by_credential"]
    assert set(by_credential) == {"api_token:alice"}  # the workspace's sync credential
    assert tasks.check_conflicts_task(demo_world.workspace.pk)["checked"] == 0
