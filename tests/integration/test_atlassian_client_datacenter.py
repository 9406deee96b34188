"""A real third-party Bitbucket Data Center client, atlassian-python-api's `Bitbucket` in Server mode, against the
emulator's Data Center site: what it lists (projects, repositories, branches with their metadata, tags, pull
requests and their participants) is what the emulator's world holds. No database: only the emulator and the client."""

from __future__ import annotations

import pytest
from atlassian import Bitbucket

from bitbucket_emulator.server import Emulator

AHEAD_BEHIND = "com.atlassian.bitbucket.server.bitbucket-branch:ahead-behind-metadata-provider"
LATEST_COMMIT = "com.atlassian.bitbucket.server.bitbucket-branch:latest-commit-metadata"


def _server_root(emulator: Emulator) -> str:
    """The site's server root with its context path (``http://host:port/bitbucket``): where the client adds
    ``/rest/api/1.0``."""
    assert emulator.datacenter_url is not None
    return emulator.datacenter_url.removesuffix("/rest/api/1.0")


def _client(emulator: Emulator, name: str) -> Bitbucket:
    (user,) = [u for u in emulator.datacenter_credentials["users"] if u["name"] == name]
    return Bitbucket(url=_server_root(emulator), username=name, password=user["password"], cloud=False)


@pytest.fixture
def site(emulator: Emulator):
    """The demo seed's Data Center site, as the seed made it (the `emulator` fixture resets the world)."""
    assert emulator.world.datacenter is not None
    return emulator.world.datacenter


def test_projects_and_repositories(emulator, site):
    bitbucket = _client(emulator, "alice")
    projects = list(bitbucket.project_list())
    assert [p["key"] for p in projects] == ["PLAT"]
    assert projects[0]["name"] == site.projects["PLAT"].name
    repositories = list(bitbucket.repo_list("PLAT"))
    expected = sorted(r.slug for r in site.repositories if r.project_key == "PLAT")
    assert sorted(r["slug"] for r in repositories) == expected
    by_slug = {r["slug"]: r for r in repositories}
    assert by_slug["legacy-scripts"]["archived"] is True
    assert bitbucket.get_repo("PLAT", "api-gateway")["id"] == site.repository("PLAT", "api-gateway").id
    # Her personal project, by its key.
    assert [r["slug"] for r in bitbucket.repo_list("~alice")] == [
        r.slug for r in site.repositories if r.project_key == "~alice"
    ]


def test_branches_with_details_default_branch_and_tags(emulator, site):
    bitbucket = _client(emulator, "alice")
    git = site.repository("PLAT", "api-gateway").git
    # The client asks for details=True (plugin metadata) and orderBy=MODIFICATION by default.
    branches = list(bitbucket.get_branches("PLAT", "api-gateway"))
    assert {b["displayId"]: b["latestCommit"] for b in branches} == git.branches
    assert [b["displayId"] for b in branches if b["isDefault"]] == [git.mainbranch]
    for branch in branches:
        assert branch["metadata"][LATEST_COMMIT]["id"] == branch["latestCommit"]
        # Ahead/behind the default branch, which itself has no entry.
        assert (AHEAD_BEHIND in branch["metadata"]) is (branch["displayId"] != git.mainbranch)
    behind = {b["displayId"]: b["metadata"][AHEAD_BEHIND] for b in branches if AHEAD_BEHIND in b["metadata"]}
    assert all(counts["ahead"] >= 0 and counts["behind"] >= 0 for counts in behind.values())
    assert any(counts["ahead"] > 0 for counts in behind.values())
    plain = list(bitbucket.get_branches("PLAT", "api-gateway", details=False, filter="feature"))
    assert sorted(b["displayId"] for b in plain) == sorted(n for n in git.branches if "feature" in n)
    assert all("metadata" not in b for b in plain)
    assert bitbucket.get_default_branch("PLAT", "api-gateway")["displayId"] == git.mainbranch
    assert {t["displayId"]: t["latestCommit"] for t in bitbucket.get_tags("PLAT", "api-gateway")} == git.tags


def test_pull_requests_and_participants(emulator, site):
    bitbucket = _client(emulator, "bob")
    repo = site.repository("PLAT", "api-gateway")
    every = list(bitbucket.get_pull_requests("PLAT", "api-gateway", state="ALL", order="oldest"))
    assert [pr["id"] for pr in every] == sorted(repo.pull_requests)
    open_ones = list(bitbucket.get_pull_requests("PLAT", "api-gateway"))  # state OPEN, newest first
    assert [pr["id"] for pr in open_ones] == sorted(
        (n for n, pr in repo.pull_requests.items() if pr.state == "OPEN"), reverse=True
    )
    for listed in every:
        seeded = repo.pull_requests[listed["id"]]
        assert (listed["title"], listed["state"], listed["draft"]) == (seeded.title, seeded.state, seeded.draft)
        assert listed["fromRef"]["displayId"] == seeded.from_branch
        assert listed["toRef"]["displayId"] == seeded.to_branch
        assert listed["author"]["user"]["slug"] == seeded.author.user_slug
        assert sorted(r["user"]["slug"] for r in listed["reviewers"]) == sorted(r.user_slug for r in seeded.reviewers)
    reviewed = next(pr for pr in repo.pull_requests.values() if pr.reviewers)
    one = bitbucket.get_pull_request("PLAT", "api-gateway", reviewed.id)
    assert one["title"] == reviewed.title
    people = list(bitbucket.get_pull_requests_participants("PLAT", "api-gateway", reviewed.id))
    assert {(p["user"]["slug"], p["status"]) for p in people} == {
        (p.user_slug, p.status) for p in [reviewed.author, *reviewed.reviewers, *reviewed.participants]
    }


def test_a_wrong_password_is_refused(emulator):
    bitbucket = Bitbucket(url=_server_root(emulator), username="alice", password="wrong", cloud=False)
    with pytest.raises(Exception) as refused:
        list(bitbucket.project_list())
    assert "401" in str(refused.value) or "Authentication" in str(refused.value)
