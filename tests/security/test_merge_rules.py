"""Merge rules and conflicts are read with the sync credential (an admin's) or the viewer's own, and written to the
mirror: a user who may not see a repository learns nothing of them, and asks Bitbucket nothing about it."""

from __future__ import annotations

from django.test import Client

from bitbucket_sync import turns
from bitbucket_sync.models import BranchRestriction, PullRequest, Repository
from dashboard import selectors

HX = {"HTTP_HX_REQUEST": "true"}


def _requests(emu, username: str) -> int:
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


def test_pull_request_page_of_a_hidden_repository_reads_no_merge_preview(demo_world):
    emu = demo_world.emulator
    infra = Repository.objects.get(slug="infra")  # private to the owners and dave
    pr = PullRequest.objects.filter(repository=infra, state="OPEN").first()
    PullRequest.objects.filter(pk=pr.pk).update(conflict_state="", conflicts_checked_for="")
    bob = Client()
    bob.force_login(demo_world.users["bob"])
    emu.controls.reset_counts()

    assert bob.get(f"/acme/infra/pull-requests/{pr.number}").status_code == 404
    assert bob.get(f"/acme/infra/pull-requests/{pr.number}/diff", **HX).status_code == 404

    assert _requests(emu, "bob") == 0 and emu.controls.counts()["total"] == 0
    pr.refresh_from_db()
    assert pr.conflicts_checked_for == ""


def test_rules_read_by_the_sync_credential_do_not_reach_who_cannot_see_the_repository(demo_world):
    infra = Repository.objects.get(slug="infra")
    BranchRestriction.objects.create(
        repository=infra, bitbucket_id=1, kind="require_approvals_to_merge", pattern="*", value=7
    )
    Repository.objects.filter(pk=infra.pk).update(restrictions_state="read")
    turns.refresh_turns(PullRequest.objects.filter(repository=infra).values_list("pk", flat=True))
    reasons = PullRequest.objects.filter(repository=infra, state="OPEN").values_list("turn_reasons", flat=True)
    assert any("of 7" in reason for r in reasons for reason in r)  # the rule reached the mirror's turns
    assert not selectors.visible_pull_requests(demo_world.users["bob"]).filter(repository=infra).exists()
    bob = Client()
    bob.force_login(demo_world.users["bob"])

    for url in ("/acme/pull-requests/", "/acme/infra/", "/acme/infra/pull-requests/"):
        response = bob.get(url)
        assert response.status_code in (200, 404)
        assert "of 7" not in response.content.decode()
