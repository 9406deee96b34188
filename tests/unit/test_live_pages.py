"""Every page follows the mirror: the home counts, a workspace's repositories, a repository's overview, the members
and a person's page each carry the live poller scoped to what they show, answer its refresh with their region alone,
and the "changed since" poll counts a change of what each of them shows (and nothing the user cannot see)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from bitbucket_sync.models import Account, PullRequest, Repository, RepositoryWatcher, SyncRun, WorkspaceMembership
from tests import factories as f

HX = {"HX-Request": "true"}
EARLIER = timezone.now() - timedelta(minutes=5)


@pytest.fixture
def world(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users; not under test
    ws = f.workspace("acme", synced_at=EARLIER)
    repo = f.repository(ws, "api", synced_at=EARLIER)
    hidden = f.repository(ws, "infra", synced_at=EARLIER)
    carol = f.account("Carol Reader", synced_at=EARLIER)
    f.member(ws, carol)
    WorkspaceMembership.objects.update(synced_at=EARLIER)
    f.watcher(hidden, carol)
    RepositoryWatcher.objects.update(synced_at=EARLIER)
    member = f.user("bob")
    f.grant(member, repo)
    f.credential(member, acct=f.account("Bob Writer"))
    pr = f.pull_request(repo, number=1, author=carol, synced_at=EARLIER)
    return {"ws": ws, "repo": repo, "hidden": hidden, "carol": carol, "member": member, "pr": pr}


@pytest.fixture
def bob(client, world):
    client.force_login(world["member"])
    return client


def _poller(html: str) -> str:
    match = re.search(r'<div id="live-poller" hidden\s+hx-get="([^"]+)"', html)
    assert match, "no live poller on the page"
    return match.group(1).replace("&amp;", "&")


def _token(response) -> str:
    match = re.search(r"since=(v[0-9a-f]+)", response.content.decode())
    assert match, "no token in the poll's answer"
    return match.group(1)


def _poll(client, url: str, since: str):
    """The page's own poll URL with another `since`."""
    return client.get(re.sub(r"since=[^&]*", f"since={since}", url))


def _follows(client, url: str, change) -> None:
    """The poll answers 204 until `change()` writes what the page shows, then the trigger."""
    token = _token(_poll(client, url, "t0"))
    assert _poll(client, url, token).status_code == 204
    change()
    changed = _poll(client, url, token)
    assert changed.status_code == 200 and changed["HX-Trigger"] == "mirror-changed"


def _region_alone(client, path: str, region: str) -> str:
    html = client.get(path, headers=HX).content.decode()
    assert html.lstrip().startswith(f'<div id="{region}"') or html.lstrip().startswith(f'<section id="{region}"')
    assert "<html" not in html and 'id="live-poller"' not in html
    return html


def test_home_counts_live_everywhere(bob, world):
    html = bob.get("/").content.decode()
    poll = _poller(html)
    assert "everywhere=1" in poll and "shows=workspaces" in poll and "target=home-counts" in poll
    assert 'hx-target="#home-counts"' in html
    assert "need my review" in _region_alone(bob, "/", "home-counts")
    # A sync ending (the workspace's freshness) and a sync starting (its badge) both show.
    _follows(bob, poll, lambda: type(world["ws"]).objects.update(synced_at=timezone.now()))
    _follows(bob, poll, lambda: f.sync_run(world["ws"], status=SyncRun.Status.RUNNING))


def test_workspace_repository_list_live(bob, world):
    html = bob.get("/acme/?q=ap").content.decode()
    poll = _poller(html)
    assert "workspace=acme" in poll and "shows=repositories" in poll and "repository=" not in poll
    region = _region_alone(bob, "/acme/?q=ap", "repo-table")
    assert ">api<" in region
    _follows(
        bob,
        poll,
        lambda: Repository.objects.filter(pk=world["repo"].pk).update(
            description="Now described", synced_at=timezone.now()
        ),
    )
    _follows(bob, poll, lambda: Repository.objects.filter(pk=world["repo"].pk).update(removed_at=timezone.now()))


def test_workspace_repository_list_ignores_hidden_repositories(bob, world):
    poll = _poller(bob.get("/acme/").content.decode())
    token = _token(_poll(bob, poll, "t0"))
    Repository.objects.filter(pk=world["hidden"].pk).update(description="Secret plans", synced_at=timezone.now())
    assert _poll(bob, poll, token).status_code == 204


def test_repository_overview_live(bob, world):
    html = bob.get("/acme/api/").content.decode()
    poll = _poller(html)
    assert "repository=api" in poll and "shows=repository" in poll
    assert "open pull requests" in _region_alone(bob, "/acme/api/", "repo-overview")
    _follows(bob, poll, lambda: f.watcher(world["repo"], world["carol"]))
    _follows(
        bob,
        poll,
        lambda: Repository.objects.filter(pk=world["repo"].pk).update(language="rust", synced_at=timezone.now()),
    )
    _follows(bob, poll, lambda: f.branch(world["repo"], "feature/x", synced_at=timezone.now()))


def test_members_live(bob, world):
    html = bob.get("/acme/members/").content.decode()
    poll = _poller(html)
    assert "workspace=acme" in poll and "shows=members" in poll
    assert "Carol Reader" in _region_alone(bob, "/acme/members/", "member-table")
    dave = f.account("Dave Newcomer", synced_at=EARLIER)
    _follows(bob, poll, lambda: f.member(world["ws"], dave))
    _follows(bob, poll, lambda: WorkspaceMembership.objects.filter(account=dave).update(removed_at=timezone.now()))
    _follows(
        bob,
        poll,
        lambda: Account.objects.filter(pk=world["carol"].pk).update(
            display_name="Carol Renamed", synced_at=timezone.now()
        ),
    )
    # Open pull requests are counted per member: a pull request changing shows too.
    _follows(
        bob,
        poll,
        lambda: PullRequest.objects.filter(pk=world["pr"].pk).update(state="MERGED", synced_at=timezone.now()),
    )


def test_person_page_live(bob, world):
    carol = world["carol"]
    path = f"/-/people/{carol.account_id}/"
    html = bob.get(path).content.decode()
    poll = _poller(html)
    assert "everywhere=1" in poll and f"person={carol.account_id}".replace(":", "%3A") in poll
    assert "Open pull requests" in _region_alone(bob, path, "person-detail")
    _follows(bob, poll, lambda: f.watcher(world["repo"], carol))
    _follows(
        bob,
        poll,
        lambda: PullRequest.objects.filter(pk=world["pr"].pk).update(title="Renamed", synced_at=timezone.now()),
    )


def test_person_poll_ignores_what_the_user_cannot_see(bob, world):
    carol = world["carol"]
    poll = _poller(bob.get(f"/-/people/{carol.account_id}/").content.decode())
    token = _token(_poll(bob, poll, "t0"))
    # Carol stops watching a repository bob cannot see: nothing on his copy of her page moves.
    RepositoryWatcher.objects.filter(repository=world["hidden"]).update(removed_at=timezone.now())
    assert _poll(bob, poll, token).status_code == 204


def test_change_poll_refuses_unknown_or_misplaced_shows(bob, world):
    assert bob.get("/-/changes/", {"workspace": "acme", "shows": "everything", "since": "t0"}).status_code == 400
    assert bob.get("/-/changes/", {"workspace": "acme", "shows": "repository", "since": "t0"}).status_code == 400
    assert bob.get("/-/changes/", {"everywhere": "1", "shows": "members", "since": "t0"}).status_code == 400
    params = {"workspace": "acme", "repository": "api", "pull_request": "1", "shows": "repository", "since": "t0"}
    assert bob.get("/-/changes/", params).status_code == 400
