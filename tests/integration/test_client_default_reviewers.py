"""iter_default_reviewers against the emulator over HTTP: the demo seed's effective default reviewers."""

import pytest

from bitbucket_sync.client import AccessToken, ApiToken, BitbucketClient, NotFound


def _client(emulator, username: str) -> BitbucketClient:
    account = emulator.account(username)
    return BitbucketClient(ApiToken(account["email"], account["api_token"]), base_url=emulator.api_url)


def test_iter_default_reviewers_includes_the_projects(emulator):
    by_uuid = {a["uuid"]: a["username"] for a in emulator.accounts}

    reviewers = list(_client(emulator, "bob").iter_default_reviewers("acme", "api-server"))

    assert [(by_uuid[r.user.uuid], r.reviewer_type) for r in reviewers] == [
        ("erin", "project"),
        ("alice", "repository"),
        ("carol", "repository"),
    ]
    assert all(r.user.display_name and r.user.account_id for r in reviewers)


def test_iter_default_reviewers_reads_a_long_list_in_one_request(emulator):
    with emulator.world.lock:
        emulator.world.repository("acme", "mobile-app").default_reviewers.extend(
            a["uuid"] for a in emulator.accounts if a["username"] != "bob"
        )
    emulator.controls.reset_counts()

    reviewers = list(_client(emulator, "bob").iter_default_reviewers("acme", "mobile-app"))

    assert len(reviewers) == len(emulator.accounts) - 1
    family = "GET /2.0/repositories/{workspace}/{repo_slug}/effective-default-reviewers"
    assert emulator.controls.counts()["by_endpoint"][family]["total"] == 1  # pagelen=100: one page


def test_iter_default_reviewers_with_an_access_token(emulator):
    token = emulator.access_token("docs-readonly")["token"]
    client = BitbucketClient(AccessToken(token), base_url=emulator.api_url)
    assert [r.reviewer_type for r in client.iter_default_reviewers("acme", "docs")] == ["project"]


def test_iter_default_reviewers_of_a_hidden_repository_is_not_found(emulator):
    with pytest.raises(NotFound):
        list(_client(emulator, "bob").iter_default_reviewers("acme", "infra"))
