"""The "changed since" poll of the pages made live (home, repository list, overview, members, a person's page) is
scoped to the viewer's credential: a workspace, repository or person they cannot see is 404, and a change to what
only others see never triggers their refresh (it would tell them something moved there)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from bitbucket_sync.models import Repository, RepositoryWatcher, SyncRun, WorkspaceMembership
from tests import factories as f

LATER = timezone.now() + timedelta(hours=1)


@pytest.fixture
def two_users(db, settings):
    """`alice` sees acme's `api`; `bob` sees acme's `private` and the whole workspace `bobs`, where `eve` is a member
    alice cannot see."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alice, bob = f.user("alice"), f.user("bob")
    acme, bobs = f.workspace("acme"), f.workspace("bobs")
    api, private, theirs = f.repository(acme, "api"), f.repository(acme, "private"), f.repository(bobs, "theirs")
    eve, carol = f.account("Eve Elsewhere"), f.account("Carol Common")
    f.member(bobs, eve)
    f.member(acme, carol)
    f.member(bobs, carol)
    f.watcher(private, carol)
    f.grant(alice, api)
    f.grant(bob, private, theirs)
    return {"alice": alice, "acme": acme, "bobs": bobs, "private": private, "eve": eve, "carol": carol}


def _token(response) -> str:
    match = re.search(r"since=(v[0-9a-f]+)", response.content.decode())
    assert match, response.content
    return match.group(1)


def test_poll_of_a_hidden_scope_is_404(client, two_users):
    client.force_login(two_users["alice"])
    assert client.get("/-/changes/", {"workspace": "bobs", "shows": "members", "since": "t0"}).status_code == 404
    assert client.get("/-/changes/", {"workspace": "bobs", "shows": "repositories", "since": "t0"}).status_code == 404
    hidden_repo = {"workspace": "acme", "repository": "private", "shows": "repository", "since": "t0"}
    assert client.get("/-/changes/", hidden_repo).status_code == 404
    eve = {"everywhere": "1", "person": two_users["eve"].account_id, "since": "t0"}
    assert client.get("/-/changes/", eve).status_code == 404


def test_poll_ignores_changes_only_others_see(client, two_users):
    client.force_login(two_users["alice"])
    carol = two_users["carol"]
    polls = [
        {"everywhere": "1", "shows": "workspaces"},
        {"workspace": "acme", "shows": "repositories"},
        {"everywhere": "1", "person": carol.account_id},
    ]
    tokens = [_token(client.get("/-/changes/", {**p, "since": "t0"})) for p in polls]
    # In workspace bobs and in acme's private repository, which alice cannot see: a sync, a new repository, a
    # renamed one, carol's membership there and the repository she watches there.
    bobs = two_users["bobs"]
    type(bobs).objects.filter(pk=bobs.pk).update(synced_at=LATER)
    f.sync_run(bobs, status=SyncRun.Status.RUNNING)
    f.repository(bobs, "fresh")
    Repository.objects.filter(pk=two_users["private"].pk).update(description="Secret", synced_at=LATER)
    WorkspaceMembership.objects.filter(workspace=bobs, account=carol).update(removed_at=LATER)
    RepositoryWatcher.objects.filter(account=carol).update(removed_at=LATER)
    for poll, token in zip(polls, tokens, strict=True):
        assert client.get("/-/changes/", {**poll, "since": token}).status_code == 204, poll
