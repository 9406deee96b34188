"""Branch restrictions over real HTTP (admin only, CRUD, matching, uniqueness), the merge refusals they cause, and
conflicts in a pull request's merge preview (diffstat) and file-conflicts list."""

from __future__ import annotations

import json

import pytest

from bitbucket_emulator import Emulator
from bitbucket_emulator.world import persistence, restrictions, statuses

from .helpers import open_pr, session

R = "/repositories/acme/api-server"
MOBILE = "/repositories/acme/mobile-app"


def _rule(emu: Emulator, body: dict, repo: str = R, who: str = "alice") -> dict:
    response = session(emu, who).post(f"{emu.api_url}{repo}/branch-restrictions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_restrictions_need_repository_admin(emulator: Emulator):
    url = f"{emulator.api_url}{R}/branch-restrictions"
    for who in ("bob", "grace"):  # write, read
        response = session(emulator, who).get(url)
        assert response.status_code == 403
        assert response.json()["type"] == "error" and response.json()["error"]["message"]
        assert session(emulator, who).post(url, json={"kind": "force", "pattern": "main"}).status_code == 403
    assert (
        session(emulator, "dave").get(f"{emulator.api_url}/repositories/acme/infra/branch-restrictions").status_code
        == 403
    )
    # Someone who cannot see the repository at all is told it does not exist.
    assert (
        session(emulator, "carol").get(f"{emulator.api_url}/repositories/acme/infra/branch-restrictions").status_code
        == 404
    )
    assert session(emulator, "alice").get(url).status_code == 200


def test_restrictions_need_the_admin_scope(emulator: Emulator):
    emulator.world.user("alice").api_token_scopes = ["read:repository:bitbucket", "write:repository:bitbucket"]
    response = session(emulator, "alice").get(f"{emulator.api_url}{R}/branch-restrictions")
    assert response.status_code == 403
    assert response.json()["error"]["detail"]["required"] == ["admin:repository:bitbucket"]


def test_restriction_crud_with_partial_update(emulator: Emulator):
    s = session(emulator, "alice")
    created = _rule(emulator, {"kind": "require_approvals_to_merge", "pattern": "release/*", "value": 2})
    assert created["type"] == "branchrestriction" and created["branch_match_kind"] == "glob"
    url = created["links"]["self"]["href"]
    assert s.get(url).json() == created
    updated = s.put(url, json={"value": 3}).json()
    assert (updated["value"], updated["pattern"], updated["kind"]) == (3, "release/*", "require_approvals_to_merge")
    assert s.put(url, json={"value": "many"}).status_code == 400
    assert s.get(url).json()["value"] == 3  # a refused update changes nothing
    assert s.delete(url).status_code == 204
    assert s.get(url).status_code == 404


def test_restriction_list_filters_and_pages(emulator: Emulator):
    for pattern in ("main", "release/*", "hotfix/*"):
        _rule(emulator, {"kind": "force", "pattern": pattern})
    _rule(emulator, {"kind": "delete", "pattern": "main"})
    s = session(emulator, "alice")
    base = f"{emulator.api_url}{R}/branch-restrictions"
    assert [r["pattern"] for r in s.get(base, params={"kind": "force"}).json()["values"]] == [
        "main",
        "release/*",
        "hotfix/*",
    ]
    assert [r["kind"] for r in s.get(base, params={"pattern": "main"}).json()["values"]] == ["force", "delete"]
    first = s.get(base, params={"pagelen": 2}).json()
    assert first["size"] == 4 and len(first["values"]) == 2
    second = s.get(first["next"]).json()
    assert len(second["values"]) == 2 and "next" not in second


def test_restriction_validation_and_uniqueness(emulator: Emulator):
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/branch-restrictions"
    assert s.post(url, json={"kind": "no_such_kind", "pattern": "main"}).status_code == 400
    assert s.post(url, json={"kind": "force", "pattern": "main", "value": 2}).status_code == 400
    assert s.post(url, json={"kind": "require_approvals_to_merge", "pattern": "main"}).status_code == 400
    assert s.post(url, json={"kind": "force", "branch_match_kind": "branching_model"}).status_code == 400
    _rule(emulator, {"kind": "force", "pattern": "main"})
    assert s.post(url, json={"kind": "force", "pattern": "main"}).status_code == 400
    _rule(emulator, {"kind": "force", "pattern": "ma*"})  # overlapping matchers are allowed
    model = {"kind": "force", "branch_match_kind": "branching_model", "branch_type": "feature"}
    made = _rule(emulator, model)
    assert made["pattern"] == "" and made["branch_type"] == "feature"
    assert s.post(url, json=model).status_code == 400


def test_eighteen_kinds():
    assert len(restrictions.KINDS) == len(set(restrictions.KINDS)) == 18


@pytest.mark.parametrize(
    ("pattern", "branch", "matches"),
    [
        ("*", "anything/at-all", True),
        ("foo*", "foo", True),
        ("foo*", "foobar", True),
        ("foo*", "barfoo", False),
        ("release/*", "release/1.4", True),
        ("main", "main", True),
        ("main", "main2", False),
        ("*/hot*fix", "team/hot-fix", True),
        ("a.b", "axb", False),  # everything but * is literal
    ],
)
def test_glob_matching(pattern: str, branch: str, matches: bool):
    assert restrictions.glob_matches(pattern, branch) is matches


def test_branching_model_matching(emulator: Emulator):
    repo = emulator.world.repository("acme", "api-server")
    rule = restrictions.BranchRestriction(1, "force", "branching_model", "", "feature")
    assert restrictions.applies(rule, repo, "feature/x") and not restrictions.applies(rule, repo, "main")
    development = restrictions.BranchRestriction(2, "force", "branching_model", "", "development")
    assert restrictions.applies(development, repo, "main")


def test_seeded_restrictions_refuse_a_merge_failing_enforced_checks(emulator: Emulator):
    # mobile-app's main: 2 approvals, enforced. PR #2 has one approval.
    s = session(emulator, "alice")
    response = s.post(f"{emulator.api_url}{MOBILE}/pullrequests/2/merge", json={})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == restrictions.MERGE_CHECKS_REFUSAL
    assert emulator.world.repository("acme", "mobile-app").pullrequests[2].state == "OPEN"
    with emulator.world.lock:
        repo = emulator.world.repository("acme", "mobile-app")
        emulator.world.set_review(repo, repo.pullrequests[2], emulator.account("carol")["uuid"], "approved")
        emulator.world.set_review(repo, repo.pullrequests[2], emulator.account("dave")["uuid"], "approved")
    still = s.post(f"{emulator.api_url}{MOBILE}/pullrequests/2/merge", json={})
    assert still.status_code == 400  # and one passing build
    statuses.set_status(emulator.world, "acme", "mobile-app", "ci", "INPROGRESS", pr_id=2)
    assert s.post(f"{emulator.api_url}{MOBILE}/pullrequests/2/merge", json={}).status_code == 400  # not yet passed
    statuses.set_status(emulator.world, "acme", "mobile-app", "ci", "SUCCESSFUL", pr_id=2)
    response = s.post(f"{emulator.api_url}{MOBILE}/pullrequests/2/merge", json={})
    assert response.status_code == 200, response.text


def test_failing_checks_only_warn_without_enforcement(emulator: Emulator):
    _rule(emulator, {"kind": "require_approvals_to_merge", "pattern": "main", "value": 5})
    pr = open_pr(emulator, "api-server", "feature/warned")
    response = session(emulator, "alice").post(f"{emulator.api_url}{R}/pullrequests/{pr}/merge", json={})
    assert response.status_code == 200, response.text


def test_changes_requested_refuses_an_enforced_merge(emulator: Emulator):
    _rule(emulator, {"kind": "require_no_changes_requested", "pattern": "*"})
    _rule(emulator, {"kind": "enforce_merge_checks", "pattern": "*"})
    pr = open_pr(emulator, "api-server", "feature/changes")
    with emulator.world.lock:
        repo = emulator.world.repository("acme", "api-server")
        emulator.world.set_review(repo, repo.pullrequests[pr], emulator.account("carol")["uuid"], "changes_requested")
    response = session(emulator, "alice").post(f"{emulator.api_url}{R}/pullrequests/{pr}/merge", json={})
    assert response.status_code == 400


def test_open_tasks_refuse_an_enforced_merge_until_resolved(emulator: Emulator):
    _rule(emulator, {"kind": "require_tasks_to_be_completed", "pattern": "*"})
    _rule(emulator, {"kind": "enforce_merge_checks", "pattern": "*"})
    pr = open_pr(emulator, "api-server", "feature/tasks")
    alice = session(emulator, "alice")
    task = alice.post(f"{emulator.api_url}{R}/pullrequests/{pr}/tasks", json={"content": {"raw": "Fix"}}).json()
    refused = alice.post(f"{emulator.api_url}{R}/pullrequests/{pr}/merge", json={})
    assert refused.status_code == 400, refused.text
    alice.put(f"{emulator.api_url}{R}/pullrequests/{pr}/tasks/{task['id']}", json={"state": "RESOLVED"})
    merged = alice.post(f"{emulator.api_url}{R}/pullrequests/{pr}/merge", json={})
    assert merged.status_code == 200, merged.text


def test_restrict_merges_refuses_users_not_listed(emulator: Emulator):
    _rule(
        emulator, {"kind": "restrict_merges", "pattern": "main", "users": [{"uuid": emulator.account("carol")["uuid"]}]}
    )
    first = open_pr(emulator, "api-server", "feature/restricted")
    refused = session(emulator, "bob").post(f"{emulator.api_url}{R}/pullrequests/{first}/merge", json={})
    assert refused.status_code == 403 and refused.json()["error"]["message"]
    merged = session(emulator, "carol").post(f"{emulator.api_url}{R}/pullrequests/{first}/merge", json={})
    assert merged.status_code == 200, merged.text


def test_diffstat_marks_conflicts_after_a_conflicting_change(emulator: Emulator):
    s = session(emulator, "alice")
    pr = open_pr(emulator, "api-server", "feature/clash", files={"README.md": "# The source's readme\n"})
    diffstat = s.get(f"{emulator.api_url}{R}/pullrequests/{pr}/diffstat")
    assert {e["status"] for e in diffstat.json()["values"]} == {"modified"}
    r = s.post(
        f"{emulator.base_url}/_emulator/world/make-conflict",
        json={"workspace": "acme", "repo_slug": "api-server", "pr_id": pr},
    )
    assert r.status_code == 200, r.text
    redirect = s.get(f"{emulator.api_url}{R}/pullrequests/{pr}/diffstat", allow_redirects=False)
    assert redirect.status_code == 302 and "topic=true" in redirect.headers["Location"]
    entries = s.get(redirect.headers["Location"]).json()["values"]
    assert [(e["status"], e["new"]["path"]) for e in entries] == [("merge conflict", "README.md")]
    conflicts = s.get(f"{emulator.api_url}{R}/pullrequests/{pr}/conflicts").json()["values"]
    assert conflicts == [
        {
            "type": "file_conflict",
            "path": "README.md",
            "scenario": "content",
            "message": "File modified in both source and destination",
        }
    ]
    merge = s.post(f"{emulator.api_url}{R}/pullrequests/{pr}/merge", json={})
    assert merge.status_code == 400 and merge.json()["error"]["message"] == "Conflicts during merge."


def test_diffstat_says_local_deleted_when_the_destination_deleted_the_file(emulator: Emulator):
    s = session(emulator, "alice")
    pr = open_pr(emulator, "api-server", "feature/keep", files={"README.md": "# Kept and changed\n"})
    emulator.world.commit_files("acme", "api-server", "main", "alice", {"README.md": None})
    entries = s.get(f"{emulator.api_url}{R}/pullrequests/{pr}/diffstat").json()["values"]
    assert [(e["status"], e["old"], e["new"]["path"]) for e in entries] == [("local deleted", None, "README.md")]


def test_restrictions_survive_the_state_file(emulator: Emulator):
    _rule(
        emulator, {"kind": "restrict_merges", "pattern": "main", "users": [{"uuid": emulator.account("carol")["uuid"]}]}
    )
    again = persistence.from_dict(json.loads(json.dumps(persistence.to_dict(emulator.world))))
    before = emulator.world.repository("acme", "api-server").restrictions
    assert again.repository("acme", "api-server").restrictions == before
    assert (
        again.repository("acme", "mobile-app").restrictions
        == emulator.world.repository("acme", "mobile-app").restrictions
    )


def test_delete_restriction_protects_matching_branches(emulator: Emulator):
    _rule(emulator, {"kind": "delete", "pattern": "release/*"})
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/refs/branches"
    assert s.post(url, json={"name": "release/9", "target": {"hash": "main"}}).status_code == 201
    assert s.post(url, json={"name": "scratch", "target": {"hash": "main"}}).status_code == 201
    assert s.delete(f"{url}/release/9").status_code == 403
    assert s.delete(f"{url}/scratch").status_code == 204
