"""The Data Center site's build statuses (the build-status plugin API) and a commit's pull requests: behaviour over
HTTP, and every answer checked against the Data Center OpenAPI description."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bitbucket_emulator import Emulator
from bitbucket_emulator.world.datacenter import DcError

from .dc_helpers import dc_session
from .openapi_dc import schema_for, spec_path, validate

R = "/projects/PLAT/repos/api-gateway"
SPEC = pytest.mark.skipif(not spec_path().exists(), reason=f"Data Center OpenAPI spec not found at {spec_path()}")


@pytest.fixture(scope="module")
def emu():
    emulator = Emulator.start(seed="demo")
    yield emulator
    emulator.stop()


def root(emu: Emulator) -> str:
    return emu.datacenter_url.removesuffix("/rest/api/1.0")


def source(emu: Emulator, pr_id: int) -> str:
    with emu.world.lock:
        return emu.world.datacenter.repository("PLAT", "api-gateway").pull_requests[pr_id].from_hash


def builds(emu: Emulator, commit: str, who: str | None = "alice", version: str = "1.0", **params):
    return dc_session(emu, who).get(f"{root(emu)}/rest/build-status/{version}/commits/{commit}", params=params)


def checked(resp, status: int = 200):
    assert resp.status_code == status, resp.text[:300]
    if spec_path().exists():
        assert schema_for("GET", resp.url, status)[1] is not None
        assert validate("GET", resp.url, status, resp.json()) == []
    return resp.json()


# ---- build statuses ------------------------------------------------------------------------------------------------
def test_the_demo_pull_requests_source_commits_have_builds(emu):
    page = checked(builds(emu, source(emu, 2)))
    assert [(b["key"], b["state"]) for b in page["values"]] == [("GW-LINT", "INPROGRESS"), ("GW-UNIT", "SUCCESSFUL")]
    assert page["isLastPage"] is True and "nextPageStart" not in page
    first = page["values"][1]
    assert first["url"] == "https://ci.example.test/api-gateway/GW-UNIT" and isinstance(first["dateAdded"], int)
    (failed,) = checked(builds(emu, source(emu, 3)))["values"]
    assert (failed["key"], failed["state"], failed["description"]) == ("GW-UNIT", "FAILED", "2 tests failed")


def test_both_versions_answer_and_a_commit_without_builds_has_an_empty_page(emu):
    assert checked(builds(emu, source(emu, 2), version="latest")) == checked(builds(emu, source(emu, 2)))
    assert checked(builds(emu, "0" * 40))["values"] == []


def test_builds_need_an_authenticated_caller_but_no_repository_permission(emu):
    body = checked(builds(emu, source(emu, 2), who=None), 401)
    assert body["errors"][0]["exceptionName"].endswith("AuthenticationRequiredException")
    # The build-status API is instance-wide: dave (no grant on PLAT) reads a commit's statuses by its hash.
    assert len(checked(builds(emu, source(emu, 2), who="dave"))["values"]) == 2


def test_builds_page_with_start_and_limit_and_order(emu):
    commit = source(emu, 2)
    first = checked(builds(emu, commit, limit=1))
    assert (first["size"], first["isLastPage"], first["nextPageStart"]) == (1, False, 1)
    second = checked(builds(emu, commit, limit=1, start=first["nextPageStart"]))
    assert second["isLastPage"] is True and second["values"][0]["key"] == "GW-UNIT"
    assert [b["key"] for b in checked(builds(emu, commit, orderBy="OLDEST"))["values"]] == ["GW-UNIT", "GW-LINT"]
    assert [b["state"] for b in checked(builds(emu, commit, orderBy="STATUS"))["values"]] == [
        "INPROGRESS",
        "SUCCESSFUL",
    ]
    assert builds(emu, commit, orderBy="SIDEWAYS").status_code == 400


def test_only_the_build_status_plugin_and_its_versions_are_routed(emu):
    commit = source(emu, 2)
    assert "errors" not in builds(emu, commit, version="2.0").json()
    assert builds(emu, commit, version="2.0").status_code == 404
    unrouted = dc_session(emu, "alice").get(f"{emu.datacenter_url}/build-status/1.0/commits/{commit}")
    assert unrouted.status_code == 404 and "errors" not in unrouted.json()


def test_posting_a_build_with_the_same_key_replaces_it(emu):
    commit = source(emu, 1)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    with emu.world.lock:
        site = emu.world.datacenter
        site.post_build(commit, key="K", state="INPROGRESS", url="https://ci.example.test/1", when=when)
        site.post_build(commit.upper(), key="K", state="CANCELLED", url="https://ci.example.test/2", when=when)
    (only,) = checked(builds(emu, commit))["values"]
    assert (only["state"], only["url"]) == ("CANCELLED", "https://ci.example.test/2")


@pytest.mark.parametrize(
    ("commit", "fields", "context"),
    [
        ("abc123", {}, "commitId"),
        ("a" * 40, {"state": "PASSED"}, "state"),
        ("a" * 40, {"key": ""}, "key"),
        ("a" * 40, {"url": ""}, "url"),
        ("a" * 40, {"name": "n" * 256}, "name"),
        ("a" * 40, {"url": "https://x/" + "u" * 450}, "url"),
        ("a" * 40, {"description": "d" * 256}, "description"),
    ],
)
def test_a_build_the_server_would_refuse_is_a_400(emu, commit, fields, context):
    args = {"key": "K", "state": "SUCCESSFUL", "url": "https://ci.example.test/", **fields}
    with emu.world.lock, pytest.raises(DcError) as refused:
        emu.world.datacenter.post_build(commit, when=datetime(2026, 1, 1, tzinfo=UTC), **args)
    assert (refused.value.status, refused.value.context) == (400, context)


# ---- a commit's pull requests --------------------------------------------------------------------------------------
def commit_prs(emu: Emulator, commit: str, who: str | None = "alice", **params):
    return dc_session(emu, who).get(f"{emu.datacenter_url}{R}/commits/{commit}/pull-requests", params=params)


def test_a_commits_pull_requests_are_those_that_merge_it(emu):
    page = checked(commit_prs(emu, source(emu, 2)))
    assert [pr["id"] for pr in page["values"]] == [2]
    with emu.world.lock:
        git = emu.world.datacenter.repository("PLAT", "api-gateway").git
        first_of_two = git.commits[source(emu, 2)].parents[0]
        merged = emu.world.datacenter.repository("PLAT", "api-gateway").pull_requests[1].merge_commit
    assert [pr["id"] for pr in checked(commit_prs(emu, first_of_two))["values"]] == [2]
    assert merged and [pr["id"] for pr in checked(commit_prs(emu, merged))["values"]] == [1]


def test_a_commit_in_no_pull_request_and_the_errors(emu):
    with emu.world.lock:
        git = emu.world.datacenter.repository("PLAT", "api-gateway").git
        root_commit = next(c.hash for c in git.commits.values() if not c.parents)
    assert checked(commit_prs(emu, root_commit))["values"] == []
    missing = checked(commit_prs(emu, "deadbeef"), 404)
    assert missing["errors"][0]["exceptionName"].endswith("NoSuchCommitException")
    # dave reads api-gateway only: deploy-tools' commits are not his to ask about.
    with emu.world.lock:
        tools = emu.world.datacenter.repository("PLAT", "deploy-tools").git
        tip = tools.branches[tools.mainbranch]
    url = f"{emu.datacenter_url}/projects/PLAT/repos/deploy-tools/commits/{tip}/pull-requests"
    denied = checked(dc_session(emu, "dave").get(url), 401)
    assert denied["errors"][0]["exceptionName"] == "com.atlassian.bitbucket.AuthorisationException"
    assert commit_prs(emu, "main").status_code == 404  # a ref name is not a commit id here
