"""Every Data Center answer the emulator gives fits Atlassian's Data Center OpenAPI description (10.0), success and
error, with the spec's known wire mistakes bridged in openapi_dc.py (each cited there)."""

from __future__ import annotations

import pytest

from bitbucket_emulator import Emulator

from .dc_helpers import dc_session
from .openapi_dc import schema_for, spec_path, spec_template, validate

if not spec_path().exists():
    pytest.skip(
        f"DATA CENTER OPENAPI SPEC NOT FOUND at {spec_path()}: set BBDASH_DC_OPENAPI_SPEC to "
        "bitbucket-datacenter-openapi.json to validate the emulator against it",
        allow_module_level=True,
    )

R = "/projects/PLAT/repos/api-gateway"

CASES: list[tuple[str, str | None, int]] = [
    ("/application-properties", None, 200),
    ("/users", "alice", 200),
    ("/users/bob", "alice", 200),
    ("/users/nobody", "alice", 404),
    ("/projects", "alice", 200),
    ("/projects/PLAT", "alice", 200),
    ("/projects/~alice", "alice", 200),
    ("/projects/NOPE", "alice", 404),
    ("/projects/PLAT/permissions/users", "alice", 200),
    ("/projects/PLAT/permissions/users", "carol", 401),
    ("/projects/PLAT/repos", "alice", 200),
    ("/projects/~alice/repos", "alice", 200),
    ("/repos", "alice", 200),
    ("/repos?archived=ALL&limit=2", "alice", 200),
    (R, "alice", 200),
    (R, None, 401),
    ("/projects/PLAT/repos/nope", "alice", 404),
    (R + "/branches", "alice", 200),
    (R + "/branches?details=true", "alice", 200),
    (R + "/branches?details=true&base=refs/heads/feature/health", "alice", 200),
    (R + "/branches/default", "alice", 200),
    (R + "/default-branch", "alice", 200),
    (R + "/tags", "alice", 200),
    (R + "/tags/v1.0.0", "alice", 200),
    (R + "/commits?limit=2", "alice", 200),
    (R + "/commits?until=feature/rate-limits&since=main", "alice", 200),
    (R + "/commits/{tip}", "alice", 200),
    (R + "/commits/deadbeef", "alice", 404),
    (R + "/commits/{tip}/changes", "alice", 200),
    (R + "/commits/{tip}/diff", "alice", 200),
    (R + "/commits/{tip}/diff/src/limits.py", "alice", 200),
    (R + "/browse", "alice", 200),
    (R + "/browse/src/limits.py", "alice", 200),
    (R + "/pull-requests?state=ALL", "alice", 200),
    (R + "/pull-requests/2", "alice", 200),
    (R + "/pull-requests/99", "alice", 404),
    (R + "/pull-requests/2/participants", "alice", 200),
    (R + "/pull-requests/2/activities", "alice", 200),
    (R + "/pull-requests/1/activities", "alice", 200),
    (R + "/pull-requests/2/changes", "alice", 200),
    (R + "/pull-requests/2/diff", "alice", 200),
    (R + "/pull-requests/2/diff/src/limits.py", "alice", 200),
    (R + "/permissions/users", "alice", 200),
    (R + "/pull-requests/2/commits", "alice", 200),
    (R + "/pull-requests/2/merge", "alice", 200),
    (R + "/pull-requests/1/merge", "alice", 409),
    (R + "/pull-requests/2/blocker-comments", "alice", 200),
    ("/dashboard/pull-requests?role=REVIEWER", "alice", 200),
    ("/inbox/pull-requests", "alice", 200),
    (R + "/pull-requests/2/comments?path=src/limits.py", "alice", 200),
    (R + "/compare/commits?from=feature/rate-limits&to=main", "alice", 200),
    (R + "/compare/changes?from=feature/rate-limits&to=main", "alice", 200),
    (R + "/compare/diff/src/limits.py?from=feature/rate-limits&to=main", "alice", 200),
    (R + "/files", "alice", 200),
    (R + "/participants", "alice", 200),
]


@pytest.fixture(scope="module")
def emu():
    emulator = Emulator.start(seed="demo")
    yield emulator
    emulator.stop()


@pytest.mark.parametrize(("path", "who", "status"), CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_answer_fits_the_spec(emu, path, who, status):
    with emu.world.lock:
        git = emu.world.datacenter.repository("PLAT", "api-gateway").git
        tip = git.branches["feature/rate-limits"]
    url = emu.datacenter_url + path.replace("{tip}", tip)
    resp = dc_session(emu, who).get(url)
    assert resp.status_code == status, resp.text[:300]
    assert schema_for("GET", url, status)[1] is not None, "the spec (or a bridge) must say what this answer is"
    assert validate("GET", url, status, resp.json()) == []


def test_the_validator_catches_a_wrong_shape():
    url = "/bitbucket/rest/api/1.0" + R + "/branches"
    page = {"size": 1, "limit": 25, "isLastPage": True, "start": 0}
    assert validate("GET", url, 200, {**page, "values": [{"id": "refs/heads/main", "isDefault": "yes"}]})
    assert validate("GET", url, 200, {**page, "values": [{"id": "refs/heads/main", "isDefault": True}]}) == []
    pr = "/bitbucket/rest/api/1.0" + R + "/pull-requests/2"
    assert validate("GET", pr, 200, {"state": "SUPERSEDED"})
    assert validate("GET", pr, 404, {"errors": [{"message": 404}]})
    browse = "/bitbucket/rest/api/1.0" + R + "/browse/a.txt"
    assert validate(
        "GET", browse, 200, {"lines": [{"text": 1}], "size": 1, "limit": 500, "isLastPage": True, "start": 0}
    )


def test_paths_map_onto_spec_templates():
    assert spec_template("/bitbucket/rest/api/1.0/projects/~alice/repos") == "/api/latest/projects/{projectKey}/repos"
    assert spec_template("/x/rest/api/latest" + R + "/pull-requests/2/diff").endswith("/diff/{path}")
