"""Every endpoint the product uses answers with JSON that fits the official OpenAPI description (success and error).

One parametrised walk: each case makes one real HTTP request to a shared `demo` emulator and validates the answer
against the schema the spec documents for that operation and status (see openapi.py for the three bridged gaps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bitbucket_emulator import Emulator

from .helpers import open_pr, session
from .openapi import operation_for, spec_path, validate

if not spec_path().exists():
    pytest.skip(
        f"OPENAPI SPEC NOT FOUND at {spec_path()}: set BBDASH_OPENAPI_SPEC to bitbucket-cloud-openapi.json "
        "to validate the emulator against Bitbucket's official description",
        allow_module_level=True,
    )

R = "/repositories/acme/api-server"


@dataclass
class Case:
    id: str
    method: str
    path: str
    status: int
    who: str | None = "alice"
    json: Any = None
    data: Any = None
    files: Any = None
    headers: dict = field(default_factory=dict)
    prepare: Callable[[Emulator], dict] | None = None
    content_type: str = "application/json"
    component: str | None = None  # for answers the spec documents in prose only (format=meta)


def _pr(branch: str, author: str = "bob") -> Callable[[Emulator], dict]:
    def prepare(emu: Emulator) -> dict:
        return {"pr": open_pr(emu, "api-server", branch, author=author)}

    return prepare


def _tip(emu: Emulator) -> dict:
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        return {"tip": repo.branches["main"], "old": repo.commits[repo.branches["main"]].parents[0]}


def _hook(emu: Emulator) -> dict:
    s = session(emu, "alice")
    body = {"url": "http://127.0.0.1:9/hook", "events": ["repo:push"], "description": "walk"}
    return {"uid": s.post(emu.api_url + "/workspaces/acme/hooks", json=body).json()["uuid"]}


def _repo_hook(emu: Emulator) -> dict:
    s = session(emu, "alice")
    body = {"url": "http://127.0.0.1:9/hook", "events": ["repo:push"]}
    return {"uid": s.post(f"{emu.api_url}{R}/hooks", json=body).json()["uuid"]}


def _tag(emu: Emulator) -> dict:
    """A fresh tag to delete (the seeded one stays for the cases that read it, whatever order they run in)."""
    name = f"walk-del-{len(emu.world.repository('acme', 'api-server').tags)}"
    session(emu, "alice").post(f"{emu.api_url}{R}/refs/tags", json={"name": name, "target": {"hash": "main"}})
    return {"tag": name}


def _users(emu: Emulator) -> dict:
    return {"alice": emu.account("alice")["uuid"], "bob": emu.account("bob")["uuid"]}


def _comment(emu: Emulator) -> dict:
    pr = open_pr(emu, "api-server", "walk/comment")
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        c = emu.world.add_comment(repo, repo.pullrequests[pr], emu.account("alice")["uuid"], "A comment")
    return {"pr": pr, "cid": c.id}


def _inline_reply(emu: Emulator) -> dict:
    """An inline comment by alice (a range on the new side) and bob's reply to it."""
    pr = open_pr(emu, "api-server", "walk/inline", files={"src/walk.py": "a\nb\nc\n"})
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        inline = {"path": "src/walk.py", "from": None, "to": 3, "start_from": None, "start_to": 2}
        c = emu.world.add_comment(repo, repo.pullrequests[pr], emu.account("alice")["uuid"], "Inline", inline=inline)
        r = emu.world.add_comment(repo, repo.pullrequests[pr], emu.account("bob")["uuid"], "Reply", parent_id=c.id)
    return {"pr": pr, "cid": c.id, "rid": r.id}


def _resolved(emu: Emulator) -> dict:
    values = _comment(emu)
    session(emu, "alice").post(f"{emu.api_url}{R}/pullrequests/{values['pr']}/comments/{values['cid']}/resolve")
    return values


def _approved(emu: Emulator) -> dict:
    pr = open_pr(emu, "api-server", "walk/unapprove")
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        emu.world.set_review(repo, repo.pullrequests[pr], emu.account("alice")["uuid"], "approved")
    return {"pr": pr}


def _changes(emu: Emulator) -> dict:
    pr = open_pr(emu, "api-server", "walk/unrequest")
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        emu.world.set_review(repo, repo.pullrequests[pr], emu.account("alice")["uuid"], "changes_requested")
    return {"pr": pr}


def _grace_without_pullrequest_scope(emu: Emulator) -> dict:
    with emu.world.lock:
        emu.world.user("grace").api_token_scopes = ["read:repository:bitbucket"]
    return {}


def _rate_limited(emu: Emulator) -> dict:
    emu.controls.set_rate_limit(0, window=60)
    return {}


def _faulty(emu: Emulator) -> dict:
    emu.controls.set_fault(1, "555")
    return {}


def _app_passwords_off(emu: Emulator) -> dict:
    emu.world.app_passwords_enabled = False
    return {}


def _async_merge(emu: Emulator) -> dict:
    pr = open_pr(emu, "api-server", "walk/async")
    s = session(emu, "alice")
    location = s.post(f"{emu.api_url}{R}/pullrequests/{pr}/merge?async=true", json={}).headers["Location"]
    return {"pr": pr, "task": location.rsplit("/", 1)[1]}


def _restriction(emu: Emulator) -> dict:
    # One rule per kind and pattern: each case makes its own.
    pattern = f"walk/{len(emu.world.repository('acme', 'api-server').restrictions)}/*"
    body = {"kind": "require_approvals_to_merge", "pattern": pattern, "value": 1}
    return {"rid": session(emu, "alice").post(f"{emu.api_url}{R}/branch-restrictions", json=body).json()["id"]}


def _conflicting(emu: Emulator) -> dict:
    pr = open_pr(emu, "api-server", "walk/conflict", files={"README.md": "# Walk\n"})
    with emu.world.lock:
        emu.world.make_conflict("acme", "api-server", pr)
        repo = emu.world.repository("acme", "api-server")
        p = repo.pullrequests[pr]
        return {"pr": pr, "spec": f"{p.source_hash[:12]}..{p.dest_hash[:12]}"}


_STATUS_FAILED = {"key": "walk-ci", "state": "FAILED", "name": "Build #2", "url": "https://ci.example/2"}


def _status(emu: Emulator) -> dict:
    """A PR with a build status on its source tip; `tip` is that commit's full hash."""
    pr = open_pr(emu, "api-server", "walk/status")
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        tip = repo.pullrequests[pr].source_hash
    body = {"key": "walk-ci", "state": "INPROGRESS", "name": "Build #1", "url": "https://ci.example/1"}
    session(emu, "alice").post(f"{emu.api_url}{R}/commit/{tip}/statuses/build", json=body)
    return {"pr": pr, "tip": tip}


def _task(emu: Emulator) -> dict:
    pr = open_pr(emu, "api-server", "walk/task")
    s = session(emu, "alice")
    created = s.post(f"{emu.api_url}{R}/pullrequests/{pr}/tasks", json={"content": {"raw": "Walk"}}).json()
    return {"pr": pr, "task": created["id"]}


def _report(emu: Emulator) -> dict:
    tip = _tip(emu)["tip"]
    s = session(emu, "alice")
    body = {"title": "Walk", "report_type": "TEST", "result": "PENDING"}
    s.put(f"{emu.api_url}{R}/commit/{tip}/reports/walk-report", json=body)
    annotation = {"external_id": "walk-1", "annotation_type": "BUG", "summary": "Walk", "path": "README.md"}
    s.post(f"{emu.api_url}{R}/commit/{tip}/reports/walk-report/annotations", json=[annotation])
    return {"tip": tip}


REPORT = R + "/commit/{tip}/reports"
REPORT_BODY = {
    "title": "Coverage",
    "details": "Walk",
    "report_type": "COVERAGE",
    "result": "PASSED",
    "link": "https://ci.example.test/1",
    "data": [
        {"title": "Lines", "type": "PERCENTAGE", "value": 91.5},
        {"title": "Took", "type": "DURATION", "value": 1200},
        {"title": "At", "type": "DATE", "value": 1788255000000},
        {"title": "Open", "type": "LINK", "value": {"text": "ci", "href": "https://ci.example.test/1"}},
        {"title": "Flaky", "value": False},
    ],
}
ANNOTATION = {"annotation_type": "VULNERABILITY", "summary": "Walk", "severity": "HIGH", "path": "a.py", "line": 3}

CASES = [
    # the caller and workspaces
    Case("user", "GET", "/user", 200),
    Case("user-emails", "GET", "/user/emails", 200),
    Case("user-workspaces", "GET", "/user/workspaces", 200),
    Case("user-workspace-permission", "GET", "/user/workspaces/acme/permission", 200),
    Case("user-repo-permissions", "GET", "/user/workspaces/acme/permissions/repositories", 200),
    Case("user-repo-permissions-403", "GET", "/user/workspaces/alice-labs/permissions/repositories", 403, who="bob"),
    Case("users-by-uuid", "GET", "/users/{alice}", 200, prepare=_users),
    Case("workspace", "GET", "/workspaces/acme", 200),
    Case("workspace-404-for-outsider", "GET", "/workspaces/alice-labs", 404, who="bob"),
    Case("members", "GET", "/workspaces/acme/members", 200),
    Case("member", "GET", "/workspaces/acme/members/{bob}", 200, prepare=_users),
    Case("permissions", "GET", "/workspaces/acme/permissions", 200),
    Case("projects", "GET", "/workspaces/acme/projects", 200),
    Case("project", "GET", "/workspaces/acme/projects/CORE", 200),
    Case("ws-hooks", "GET", "/workspaces/acme/hooks", 200),
    Case(
        "ws-hook-create",
        "POST",
        "/workspaces/acme/hooks",
        201,
        json={"url": "http://127.0.0.1:9/h", "events": ["repo:push"], "secret": "s3cret", "description": "d"},
    ),
    Case("ws-hook-create-400", "POST", "/workspaces/acme/hooks", 400, json={"url": "nope", "events": []}),
    Case(
        "ws-hook-create-403",
        "POST",
        "/workspaces/acme/hooks",
        403,
        who="bob",
        json={"url": "http://127.0.0.1:9/h", "events": ["repo:push"]},
    ),
    Case("ws-hook", "GET", "/workspaces/acme/hooks/{uid}", 200, prepare=_hook),
    Case("ws-hook-update", "PUT", "/workspaces/acme/hooks/{uid}", 200, json={"active": False}, prepare=_hook),
    Case("ws-hook-delete", "DELETE", "/workspaces/acme/hooks/{uid}", 204, prepare=_hook),
    Case("gone-workspaces", "GET", "/workspaces", 410),
    Case("gone-repositories", "GET", "/repositories", 410),
    Case("gone-user-permissions", "GET", "/user/permissions/repositories", 410),
    Case("gone-user-permissions-ws", "GET", "/user/permissions/workspaces", 410),
    # repositories
    Case("repositories", "GET", "/repositories/acme?pagelen=100&sort=-updated_on", 200),
    Case("repositories-q", "GET", '/repositories/acme?q=name ~ "api"', 200),
    Case("repositories-bad-q", "GET", '/repositories/acme?q=colour = "red"', 400),
    Case("repositories-bad-pagelen", "GET", "/repositories/acme?pagelen=101", 400),
    Case("repository", "GET", R, 200),
    Case("repository-hidden-404", "GET", "/repositories/acme/infra", 404, who="bob"),
    Case("repository-anonymous-401", "GET", R, 401, who=None),
    Case("repository-bad-credentials-401", "GET", R, 401, who="bad"),
    Case("repository-app-passwords-off-401", "GET", R, 401, who="app:bob", prepare=_app_passwords_off),
    Case("watchers", "GET", R + "/watchers", 200),
    Case("default-reviewers", "GET", R + "/default-reviewers", 200),
    Case("effective-default-reviewers", "GET", R + "/effective-default-reviewers", 200),
    Case("effective-default-reviewers-page", "GET", R + "/effective-default-reviewers?pagelen=1&page=2", 200),
    Case("effective-default-reviewers-none", "GET", "/repositories/acme/mobile-app/effective-default-reviewers", 200),
    Case(
        "effective-default-reviewers-hidden-404",
        "GET",
        "/repositories/acme/infra/effective-default-reviewers",
        404,
        who="bob",
    ),
    Case(
        "effective-default-reviewers-403-scope",
        "GET",
        R + "/effective-default-reviewers",
        403,
        who="grace",
        prepare=_grace_without_pullrequest_scope,
    ),
    Case("repo-hooks", "GET", R + "/hooks", 200),
    Case(
        "repo-hook-create",
        "POST",
        R + "/hooks",
        201,
        json={"url": "http://127.0.0.1:9/r", "events": ["pullrequest:created"]},
    ),
    Case("repo-hook", "GET", R + "/hooks/{uid}", 200, prepare=_repo_hook),
    Case("repo-hook-update", "PUT", R + "/hooks/{uid}", 200, json={"events": ["repo:push"]}, prepare=_repo_hook),
    Case("repo-hook-delete", "DELETE", R + "/hooks/{uid}", 204, prepare=_repo_hook),
    Case("repo-hook-404", "GET", R + "/hooks/%7B00000000-0000-4000-8000-000000000000%7D", 404),
    # refs
    Case("branches", "GET", R + "/refs/branches?pagelen=100", 200),
    Case("branches-q", "GET", R + '/refs/branches?q=name ~ "feature/"&sort=-name', 200),
    Case("branch", "GET", R + "/refs/branches/main", 200),
    Case("branch-slash", "GET", R + "/refs/branches/release/1.4", 200),
    Case("branch-404", "GET", R + "/refs/branches/nope", 404),
    Case("branch-create", "POST", R + "/refs/branches", 201, json={"name": "walk/new", "target": {"hash": "main"}}),
    Case("branch-create-400", "POST", R + "/refs/branches", 400, json={"name": "main", "target": {"hash": "main"}}),
    Case(
        "branch-create-403-readonly",
        "POST",
        "/repositories/acme/docs/refs/branches",
        403,
        who="bob",
        json={"name": "x", "target": {"hash": "main"}},
    ),
    Case(
        "branch-create-403-scope",
        "POST",
        "/repositories/acme/docs/refs/branches",
        403,
        who="token:docs-readonly",
        json={"name": "x", "target": {"hash": "main"}},
    ),
    Case("branch-delete", "DELETE", R + "/refs/branches/hotfix/timeout", 204),
    Case("branch-delete-main-400", "DELETE", R + "/refs/branches/main", 400),
    Case("tags", "GET", R + "/refs/tags", 200),
    Case("tag", "GET", R + "/refs/tags/v1.4.0", 200),
    Case("tag-404", "GET", R + "/refs/tags/nope", 404),
    Case(
        "tag-create", "POST", R + "/refs/tags", 201, json={"name": "walk-1", "target": {"hash": "main"}, "message": "x"}
    ),
    Case("tag-create-400", "POST", R + "/refs/tags", 400, json={"name": "walk-2"}),
    Case("tag-delete", "DELETE", R + "/refs/tags/{tag}", 204, prepare=_tag),
    Case("branching-model", "GET", "/repositories/acme/mobile-app/branching-model", 200),
    Case("effective-branching-model", "GET", R + "/effective-branching-model", 200),
    Case("branching-model-settings", "GET", R + "/branching-model/settings", 200),
    Case("branching-model-settings-403", "GET", R + "/branching-model/settings", 403, who="bob"),
    Case(
        "branching-model-settings-update",
        "PUT",
        R + "/branching-model/settings",
        200,
        json={"branch_types": [{"kind": "release", "enabled": False}]},
    ),
    # commits and source
    Case("commits", "GET", R + "/commits", 200),
    Case("commits-rev", "GET", R + "/commits/main?pagelen=5", 200),
    Case("commits-include-exclude", "GET", R + "/commits?include={tip}&exclude={old}", 200, prepare=_tip),
    Case("merge-base", "GET", R + "/merge-base/{tip}..{old}", 200, prepare=_tip),
    Case("merge-base-404", "GET", R + "/merge-base/main..no-such-branch", 404),
    Case("commit", "GET", R + "/commit/{tip}", 200, prepare=_tip),
    Case("commit-404", "GET", R + "/commit/0123456789abcdef0123456789abcdef01234567", 404),
    Case("filehistory", "GET", R + "/filehistory/main/README.md", 200),
    Case("filehistory-404", "GET", R + "/filehistory/main/nope.txt", 404),
    Case("commit-pullrequests", "GET", R + "/commit/{tip}/pullrequests", 200, prepare=_tip),
    Case("src-root-redirect", "GET", R + "/src", 302),
    Case("src-listing", "GET", R + "/src/main/", 200),
    Case("src-listing-deep", "GET", R + "/src/main/src?max_depth=3", 200),
    Case("src-file", "GET", R + "/src/main/README.md", 200, content_type="text/markdown"),
    Case("src-file-meta", "GET", R + "/src/main/README.md?format=meta", 200, component="commit_file"),
    Case("src-dir-meta", "GET", R + "/src/main/src?format=meta", 200, component="treeentry"),
    Case("src-404", "GET", R + "/src/main/nope.txt", 404),
    Case(
        "src-commit-multipart",
        "POST",
        R + "/src",
        201,
        data={"message": "Walk", "branch": "main"},
        files={"walk/one.txt": ("one.txt", b"1\n")},
    ),
    Case(
        "src-commit-urlencoded",
        "POST",
        R + "/src",
        201,
        data={"message": "Walk", "branch": "main", "walk/two.txt": "2\n"},
    ),
    Case(
        "src-commit-stale-409",
        "POST",
        R + "/src",
        409,
        data={"branch": "main", "parents": "{old}", "x.txt": "x"},
        prepare=_tip,
    ),
    Case("src-commit-403", "POST", "/repositories/acme/docs/src", 403, who="bob", data={"x.txt": "x"}),
    Case("diff", "GET", R + "/diff/{tip}", 200, prepare=_tip, content_type="text/plain"),
    Case("diffstat", "GET", R + "/diffstat/{tip}..{old}", 200, prepare=_tip),
    # build statuses
    Case(
        "status-create",
        "POST",
        R + "/commit/{tip}/statuses/build",
        201,
        json={"key": "walk", "state": "SUCCESSFUL", "name": "Walk", "url": "https://ci.example/w", "refname": "main"},
        prepare=_tip,
    ),
    Case("status-overwrite", "POST", R + "/commit/{tip}/statuses/build", 201, json=_STATUS_FAILED, prepare=_status),
    Case("status-create-400", "POST", R + "/commit/{tip}/statuses/build", 400, json={"key": "k"}, prepare=_tip),
    Case("status-create-anonymous-401", "POST", R + "/commit/{tip}/statuses/build", 401, who=None, prepare=_tip),
    Case(
        "status-create-commit-404",
        "POST",
        R + "/commit/0123456789abcdef0123456789abcdef01234567/statuses/build",
        404,
        json={"key": "k", "state": "FAILED"},
    ),
    Case("status", "GET", R + "/commit/{tip}/statuses/build/walk-ci", 200, prepare=_status),
    Case("status-404", "GET", R + "/commit/{tip}/statuses/build/nope", 404, prepare=_tip),
    Case(
        "status-update",
        "PUT",
        R + "/commit/{tip}/statuses/build/walk-ci",
        200,
        json={"state": "SUCCESSFUL", "description": "Passed"},
        prepare=_status,
    ),
    Case(
        "status-update-404", "PUT", R + "/commit/{tip}/statuses/build/nope", 404, json={"state": "FAILED"}, prepare=_tip
    ),
    Case("commit-statuses", "GET", R + "/commit/{tip}/statuses", 200, prepare=_status),
    Case(
        "commit-statuses-refname",
        "GET",
        R + "/commit/{tip}/statuses?refname=walk/status&sort=-updated_on",
        200,
        prepare=_status,
    ),
    Case("commit-statuses-hidden-404", "GET", "/repositories/acme/infra/commit/main/statuses", 404, who="bob"),
    Case("pr-statuses", "GET", R + "/pullrequests/{pr}/statuses", 200, prepare=_status),
    Case("pr-statuses-seeded", "GET", R + "/pullrequests/4/statuses?pagelen=1&page=2", 200),
    Case("pr-statuses-404", "GET", R + "/pullrequests/999/statuses", 404),
    # pull requests
    Case("prs", "GET", R + "/pullrequests", 200),
    Case(
        "prs-states", "GET", R + "/pullrequests?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED&pagelen=50", 200
    ),
    Case(
        "prs-q",
        "GET",
        R + '/pullrequests?q=updated_on > 2026-01-01T00:00:00%2B00:00 AND state = "OPEN"'
        "&sort=-updated_on&fields=values.type,values.id,values.updated_on,next",
        200,
    ),
    Case("prs-reviewers", "GET", R + "/pullrequests?fields=%2Bvalues.reviewers,%2Bvalues.participants", 200),
    Case("prs-pagelen-400", "GET", R + "/pullrequests?pagelen=100", 400),
    Case(
        "pr-create",
        "POST",
        R + "/pullrequests",
        201,
        json={"title": "Walk", "source": {"branch": {"name": "release/1.4"}}, "reviewers": [{"uuid": "{bob}"}]},
        prepare=_users,
    ),
    Case("pr-create-400", "POST", R + "/pullrequests", 400, json={"title": "No source"}),
    Case("pr", "GET", R + "/pullrequests/1", 200),
    Case("pr-404", "GET", R + "/pullrequests/999", 404),
    Case("pr-update", "PUT", R + "/pullrequests/{pr}", 200, json={"title": "Renamed"}, prepare=_pr("walk/put")),
    Case("pr-update-400", "PUT", R + "/pullrequests/{pr}", 400, json={"description": "x"}, prepare=_pr("walk/put")),
    Case("pr-diff", "GET", R + "/pullrequests/1/diff", 302),
    Case("pr-diffstat", "GET", R + "/pullrequests/1/diffstat", 302),
    Case("pr-commits", "GET", R + "/pullrequests/4/commits", 200),
    Case("pr-activity", "GET", R + "/pullrequests/1/activity", 200),
    Case("pr-comments", "GET", R + "/pullrequests/1/comments", 200),
    Case("pr-comment-create", "POST", R + "/pullrequests/1/comments", 201, json={"content": {"raw": "Walk"}}),
    Case("pr-comment-400", "POST", R + "/pullrequests/1/comments", 400, json={"content": {}}),
    Case("pr-comment", "GET", R + "/pullrequests/{pr}/comments/{cid}", 200, prepare=_comment),
    Case("pr-comment-inline", "GET", R + "/pullrequests/{pr}/comments/{cid}", 200, prepare=_inline_reply),
    Case("pr-comments-inline", "GET", R + "/pullrequests/{pr}/comments", 200, prepare=_inline_reply),
    Case(
        "pr-comment-create-inline",
        "POST",
        R + "/pullrequests/1/comments",
        201,
        json={"content": {"raw": "Walk"}, "inline": {"path": "README.md", "from": 1}},
    ),
    Case(
        "pr-comment-create-pending",
        "POST",
        R + "/pullrequests/1/comments",
        201,
        json={"content": {"raw": "Draft"}, "pending": True},
    ),
    Case("pr-comment-404", "GET", R + "/pullrequests/1/comments/1", 404),
    Case(
        "pr-comment-update",
        "PUT",
        R + "/pullrequests/{pr}/comments/{cid}",
        200,
        json={"content": {"raw": "Edited"}},
        prepare=_comment,
    ),
    Case(
        "pr-comment-update-403",
        "PUT",
        R + "/pullrequests/{pr}/comments/{cid}",
        403,
        who="bob",
        json={"content": {"raw": "Not mine"}},
        prepare=_comment,
    ),
    Case("pr-comment-delete", "DELETE", R + "/pullrequests/{pr}/comments/{cid}", 204, prepare=_comment),
    Case("pr-comment-delete-403", "DELETE", R + "/pullrequests/{pr}/comments/{cid}", 403, who="bob", prepare=_comment),
    Case("pr-comment-resolve", "POST", R + "/pullrequests/{pr}/comments/{cid}/resolve", 200, prepare=_comment),
    Case("pr-comment-resolve-409", "POST", R + "/pullrequests/{pr}/comments/{cid}/resolve", 409, prepare=_resolved),
    Case("pr-comment-resolve-403", "POST", R + "/pullrequests/{pr}/comments/{rid}/resolve", 403, prepare=_inline_reply),
    Case("pr-comment-resolve-404", "POST", R + "/pullrequests/1/comments/1/resolve", 404),
    Case("pr-comment-reopen", "DELETE", R + "/pullrequests/{pr}/comments/{cid}/resolve", 204, prepare=_resolved),
    Case("pr-comment-reopen-404", "DELETE", R + "/pullrequests/{pr}/comments/{cid}/resolve", 404, prepare=_comment),
    Case("pr-approve", "POST", R + "/pullrequests/{pr}/approve", 200, prepare=_pr("walk/approve")),
    Case("pr-approve-merged-400", "POST", R + "/pullrequests/1/approve", 400),
    Case("pr-unapprove", "DELETE", R + "/pullrequests/{pr}/approve", 204, prepare=_approved),
    Case("pr-request-changes", "POST", R + "/pullrequests/{pr}/request-changes", 200, prepare=_pr("walk/rc")),
    Case("pr-unrequest-changes", "DELETE", R + "/pullrequests/{pr}/request-changes", 204, prepare=_changes),
    Case("pr-decline", "POST", R + "/pullrequests/{pr}/decline", 200, prepare=_pr("walk/decline")),
    Case(
        "pr-merge",
        "POST",
        R + "/pullrequests/{pr}/merge",
        200,
        json={"merge_strategy": "squash"},
        prepare=_pr("walk/merge"),
    ),
    Case("pr-merge-conflict-400", "POST", R + "/pullrequests/3/merge", 400, json={}),
    Case(
        "pr-merge-async",
        "POST",
        R + "/pullrequests/{pr}/merge?async=true",
        202,
        json={},
        prepare=_pr("walk/merge-async"),
    ),
    Case("pr-merge-task", "GET", R + "/pullrequests/{pr}/merge/task-status/{task}", 200, prepare=_async_merge),
    # tasks
    Case("pr-tasks", "GET", R + "/pullrequests/4/tasks?sort=-created_on&pagelen=100", 200),
    Case("pr-tasks-q", "GET", R + '/pullrequests/4/tasks?q=state = "RESOLVED"', 200),
    Case("pr-tasks-bad-sort", "GET", R + "/pullrequests/4/tasks?sort=colour", 400),
    Case("pr-tasks-404", "GET", R + "/pullrequests/999/tasks", 404),
    Case("pr-task-create", "POST", R + "/pullrequests/4/tasks", 201, json={"content": {"raw": "Walk"}}),
    Case(
        "pr-task-create-anchored",
        "POST",
        R + "/pullrequests/{pr}/tasks",
        201,
        json={"content": {"raw": "Walk"}, "comment": {"id": "{cid}"}},
        prepare=_comment,
    ),
    Case("pr-task-create-blank-400", "POST", R + "/pullrequests/4/tasks", 400, json={"content": {"raw": " "}}),
    Case(
        "pr-task-create-403-scope",
        "POST",
        R + "/pullrequests/4/tasks",
        403,
        who="grace",
        json={"content": {"raw": "Walk"}},
        prepare=_grace_without_pullrequest_scope,
    ),
    Case("pr-task", "GET", R + "/pullrequests/{pr}/tasks/{task}", 200, prepare=_task),
    Case("pr-task-404", "GET", R + "/pullrequests/4/tasks/999999", 404),
    Case(
        "pr-task-resolve", "PUT", R + "/pullrequests/{pr}/tasks/{task}", 200, json={"state": "RESOLVED"}, prepare=_task
    ),
    Case(
        "pr-task-bad-state-400", "PUT", R + "/pullrequests/{pr}/tasks/{task}", 400, json={"state": "X"}, prepare=_task
    ),
    Case("pr-task-delete", "DELETE", R + "/pullrequests/{pr}/tasks/{task}", 204, prepare=_task),
    # Code Insights
    Case("reports", "GET", REPORT, 200, prepare=_report),
    Case("report-put", "PUT", REPORT + "/walk-cov", 200, json=REPORT_BODY, prepare=_tip),
    Case("report-put-400", "PUT", REPORT + "/walk-cov", 400, json={"title": "No type"}, prepare=_tip),
    Case(
        "report-put-too-much-data-400",
        "PUT",
        REPORT + "/walk-cov",
        400,
        json={**REPORT_BODY, "data": [{"title": "n", "value": 1}] * 11},
        prepare=_tip,
    ),
    Case("report", "GET", REPORT + "/walk-report", 200, prepare=_report),
    Case("report-404", "GET", REPORT + "/nope", 404, prepare=_tip),
    Case("report-delete", "DELETE", REPORT + "/walk-report", 204, prepare=_report),
    Case("annotations", "GET", REPORT + "/walk-report/annotations", 200, prepare=_report),
    Case("annotations-bulk", "POST", REPORT + "/walk-report/annotations", 200, json=[ANNOTATION], prepare=_report),
    Case("annotations-bulk-empty-400", "POST", REPORT + "/walk-report/annotations", 400, json=[], prepare=_report),
    Case("annotation", "GET", REPORT + "/walk-report/annotations/walk-1", 200, prepare=_report),
    Case("annotation-404", "GET", REPORT + "/walk-report/annotations/nope", 404, prepare=_report),
    Case("annotation-put", "PUT", REPORT + "/walk-report/annotations/walk-2", 200, json=ANNOTATION, prepare=_report),
    Case("annotation-put-400", "PUT", REPORT + "/walk-report/annotations/walk-2", 400, json={}, prepare=_report),
    Case("annotation-delete", "DELETE", REPORT + "/walk-report/annotations/walk-1", 204, prepare=_report),
    # branch restrictions and conflicts
    Case("restrictions", "GET", R + "/branch-restrictions?kind=push", 200),
    Case("restrictions-403", "GET", R + "/branch-restrictions", 403, who="bob"),
    Case(
        "restriction-create",
        "POST",
        R + "/branch-restrictions",
        201,
        json={"kind": "restrict_merges", "pattern": "walk/restricted", "users": [{"uuid": "{bob}"}]},
    ),
    Case("restriction-create-400", "POST", R + "/branch-restrictions", 400, json={"kind": "nope", "pattern": "x"}),
    Case("restriction", "GET", R + "/branch-restrictions/{rid}", 200, prepare=_restriction),
    Case("restriction-404", "GET", R + "/branch-restrictions/1", 404),
    Case("restriction-update", "PUT", R + "/branch-restrictions/{rid}", 200, json={"value": 2}, prepare=_restriction),
    Case("restriction-delete", "DELETE", R + "/branch-restrictions/{rid}", 204, prepare=_restriction),
    Case("pr-conflicts", "GET", R + "/pullrequests/3/conflicts", 302),
    Case("file-conflicts", "GET", R + "/file-conflicts/{spec}?topic=true", 200, prepare=_conflicting),
    Case("pr-merge-checks-400", "POST", "/repositories/acme/mobile-app/pullrequests/2/merge", 400, json={}),
    # controls
    Case("rate-limited-429", "GET", R, 429, prepare=_rate_limited, content_type="text/plain"),
    Case("fault-555", "GET", R, 555, prepare=_faulty),
]


@pytest.fixture(scope="module")
def emu():
    emulator = Emulator.start(seed="demo", controls=True)
    emulator.app.merge_task_delay = 0.0
    yield emulator
    emulator.stop()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_endpoint_answer_fits_the_openapi_description(emu: Emulator, case: Case):
    emu.controls.clear()
    emu.world.app_passwords_enabled = True
    values = case.prepare(emu) if case.prepare else {}
    path = case.path.format(**values)
    payload = case.json
    if payload is not None:
        import json

        text = json.dumps(payload).replace("{bob}", _users(emu)["bob"])
        for name, value in values.items():  # an id from `prepare`, as the JSON number it is ("{cid}" -> 1234)
            text = text.replace(f'"{{{name}}}"', str(value)) if isinstance(value, int) else text
        payload = json.loads(text)
    data = {k: v.format(**values) if isinstance(v, str) else v for k, v in (case.data or {}).items()} or None
    response = session(emu, case.who).request(
        case.method,
        emu.api_url + path,
        json=payload,
        data=data,
        files=case.files,
        headers=case.headers,
        allow_redirects=False,
        timeout=10,
    )
    emu.controls.clear()
    assert response.status_code == case.status, response.text[:500]
    operation_for(case.method, path)  # every path the emulator serves is in the spec
    if response.status_code in (204, 302, 304, 202) or (case.status == 201 and not response.content):
        assert not response.content
        return
    assert response.headers["Content-Type"].split(";")[0] == case.content_type
    if case.content_type != "application/json":
        return
    errors = validate(case.method, path, response.status_code, response.json(), case.component)
    assert not errors, "\n".join(errors)


def test_walk_covers_every_route_of_the_emulator(emu: Emulator):
    """Each route the app serves (except removed endpoints and extras) is walked by at least one case."""
    import re

    walked = set()
    for case in CASES:
        path = re.sub(r"\?.*", "", case.path)
        walked.add((case.method, path))
    missing = []
    for route in emu.app.routes:
        template = re.sub(r"<(?:int:|path:)?(\w+)>", r"X", route.path).removeprefix("/2.0")
        regex = "^" + re.escape(template).replace("X", ".+") + "$"
        if not any(m == route.methods[0] and re.match(regex, p) for m, p in walked):
            missing.append(f"{route.methods[0]} {route.path}")
    assert not missing, "routes without a validation case: " + ", ".join(missing)
