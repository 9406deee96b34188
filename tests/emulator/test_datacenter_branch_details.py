"""The Data Center site's branch `metadata` (`details=true`) and its user-centric repository tree
(`/users/{userSlug}/repos/...`), both as third-party clients ask for them (reference §2.3, §7.4)."""

from __future__ import annotations

from bitbucket_emulator import Emulator

from .dc_helpers import dc_session

AHEAD_BEHIND = "com.atlassian.bitbucket.server.bitbucket-branch:ahead-behind-metadata-provider"
LATEST_COMMIT = "com.atlassian.bitbucket.server.bitbucket-branch:latest-commit-metadata"
R = "/projects/PLAT/repos/api-gateway"


def _get(emulator: Emulator, path: str, **params) -> dict:
    assert emulator.datacenter_url is not None
    response = dc_session(emulator, "alice").get(emulator.datacenter_url + path, params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _counts(world, git, branch: str, base: str) -> dict:
    mine, theirs = world.ancestors(git, git.branches[branch]), world.ancestors(git, git.branches[base])
    return {"ahead": len(mine - theirs), "behind": len(theirs - mine)}


def test_branch_details_count_ahead_and_behind_the_default_branch(session_emulator):
    git = session_emulator.world.datacenter.repository("PLAT", "api-gateway").git
    plain = _get(session_emulator, R + "/branches")["values"]
    assert all("metadata" not in b for b in plain)
    detailed = {
        b["displayId"]: b["metadata"] for b in _get(session_emulator, R + "/branches", details="True")["values"]
    }
    assert set(detailed) == set(git.branches)
    assert AHEAD_BEHIND not in detailed[git.mainbranch]  # the default branch itself has no entry
    for name, metadata in detailed.items():
        assert metadata[LATEST_COMMIT]["id"] == git.branches[name]
        if name != git.mainbranch:
            assert metadata[AHEAD_BEHIND] == _counts(session_emulator.world, git, name, git.mainbranch)
    assert any(m[AHEAD_BEHIND]["ahead"] and m[AHEAD_BEHIND]["behind"] for m in detailed.values() if AHEAD_BEHIND in m)


def test_branch_details_relative_to_a_base(session_emulator):
    git = session_emulator.world.datacenter.repository("PLAT", "api-gateway").git
    base = "feature/health"
    page = _get(session_emulator, R + "/branches", details="true", base=f"refs/heads/{base}")["values"]
    for branch in page:
        expected = _counts(session_emulator.world, git, branch["displayId"], base)
        assert branch["metadata"][AHEAD_BEHIND] == expected


def test_personal_repositories_under_the_user_centric_tree(session_emulator):
    by_project = _get(session_emulator, "/projects/~alice/repos")["values"]
    assert by_project
    for slug in ("~alice", "alice"):  # the spec's narrative writes both
        assert _get(session_emulator, f"/users/{slug}/repos")["values"] == by_project
    repo = by_project[0]["slug"]
    assert _get(session_emulator, f"/users/~alice/repos/{repo}") == _get(
        session_emulator, f"/projects/~alice/repos/{repo}"
    )
    assert _get(session_emulator, f"/users/alice/repos/{repo}/branches") == _get(
        session_emulator, f"/projects/~alice/repos/{repo}/branches"
    )
    assert (
        dc_session(session_emulator, "alice")
        .get(f"{session_emulator.datacenter_url}/users/nobody/repos", timeout=10)
        .status_code
        == 404
    )
