"""The client's branch restrictions and conflict reads against the emulator over HTTP."""

from __future__ import annotations

import pytest
import requests

from bitbucket_sync.client import ApiToken, AuthError, BitbucketClient, NotRepositoryAdmin


def _client(emulator, username: str) -> BitbucketClient:
    account = emulator.account(username)
    return BitbucketClient(ApiToken(account["email"], account["api_token"]), base_url=emulator.api_url)


def test_iter_branch_restrictions_reads_the_rules_as_an_admin(emulator):
    rules = list(_client(emulator, "alice").iter_branch_restrictions("acme", "mobile-app"))

    by_kind = {r.kind: r for r in rules}
    assert by_kind["require_approvals_to_merge"].value == 2
    assert by_kind["require_passing_builds_to_merge"].value == 1
    assert {"require_tasks_to_be_completed", "enforce_merge_checks", "delete"} <= set(by_kind)
    assert all(r.pattern == "main" and r.branch_match_kind == "glob" for r in rules)
    assert by_kind["delete"].value is None


def test_iter_branch_restrictions_says_not_admin_for_a_writer(emulator):
    with pytest.raises(NotRepositoryAdmin) as caught:
        list(_client(emulator, "bob").iter_branch_restrictions("acme", "mobile-app"))
    assert caught.value.status == 403
    assert isinstance(caught.value, AuthError)  # a caller that handles only AuthError still stops here


def test_iter_branch_restrictions_reads_users_and_branch_types(emulator):
    alice = _client(emulator, "alice")
    carol = emulator.account("carol")["uuid"]
    account = emulator.account("alice")
    session = requests.Session()
    session.auth = (account["email"], account["api_token"])
    session.trust_env = False
    url = f"{emulator.api_url}/repositories/acme/api-server/branch-restrictions"
    session.post(
        url, json={"kind": "restrict_merges", "pattern": "main", "users": [{"uuid": carol}]}
    ).raise_for_status()
    model = {"kind": "force", "branch_match_kind": "branching_model", "branch_type": "release"}
    session.post(url, json=model).raise_for_status()

    rules = {r.kind: r for r in alice.iter_branch_restrictions("acme", "api-server")}

    assert rules["restrict_merges"].users == (carol,)
    assert (rules["force"].branch_match_kind, rules["force"].branch_type, rules["force"].pattern) == (
        "branching_model",
        "release",
        "",
    )


def test_pull_request_conflicts_follows_the_redirect(emulator):
    client = _client(emulator, "bob")
    assert client.pull_request_conflicts("acme", "api-server", 3) == ("src/api_server/settings.py",)
    assert client.pull_request_conflicts("acme", "api-server", 4) == ()
    emulator.world.make_conflict("acme", "api-server", 4)
    assert client.pull_request_conflicts("acme", "api-server", 4) != ()
