"""The client against the emulator over real HTTP: every read and write, the error family, accounting.

Each test gets a fresh `demo` world (workspace `acme`; alice and erin own it, bob has write access to the
repositories), so writes never leak between tests.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests

from bitbucket_sync.client import (
    MERGE_STRATEGIES,
    AccessToken,
    ApiToken,
    AppPassword,
    AppPasswordRemoved,
    AuthError,
    BadRequest,
    BitbucketClient,
    Conflict,
    Gone,
    NotFound,
    RateLimited,
    RequestRecord,
    Unavailable,
)

WS = "acme"
REPO = "api-server"


def _client(emulator, username: str = "alice", **kwargs) -> BitbucketClient:
    account = emulator.account(username)
    return BitbucketClient(ApiToken(account["email"], account["api_token"]), base_url=emulator.api_url, **kwargs)


@pytest.fixture
def alice(emulator) -> BitbucketClient:
    return _client(emulator, "alice")


@pytest.fixture
def bob(emulator) -> BitbucketClient:
    return _client(emulator, "bob")


def _feature_branch(client: BitbucketClient, name: str, files: dict[str, str]) -> str:
    """A branch off main's tip with one commit; returns the commit hash."""
    tip = client.get_branch(WS, REPO, "main").target.hash
    client.create_branch(WS, REPO, name=name, target=tip)
    return client.commit_files(WS, REPO, branch=name, message=f"Work on {name}", files=files, parents=[tip])


# ---- reads ------------------------------------------------------------------------------------------------------


def test_user_and_workspace_reads(emulator, alice):
    me = alice.get_current_user()
    assert me.uuid == emulator.account("alice")["uuid"]
    assert me.account_id == emulator.account("alice")["account_id"]

    workspaces = {w.workspace.slug: w for w in alice.iter_user_workspaces()}
    assert workspaces["acme"].administrator is True
    assert workspaces["acme"].workspace.uuid.startswith("{")

    assert alice.get_user_workspace_permission(WS).permission == "owner"
    workspace = alice.get_workspace(WS)
    assert workspace.slug == WS and workspace.name == "Acme" and workspace.created_on.tzinfo is not None

    members = list(alice.iter_members(WS))
    assert {m.user.nickname for m in members} >= {"alice", "bob", "erin"}
    roles = {m.user.nickname: m.permission for m in alice.iter_workspace_permissions(WS)}
    assert roles["alice"] == "owner" and roles["bob"] == "member"

    projects = {p.key for p in alice.iter_projects(WS)}
    assert {"CORE", "WEB"} <= projects

    permissions = {p.repository.full_name: p.permission for p in alice.iter_user_repository_permissions(WS)}
    assert permissions[f"{WS}/{REPO}"] == "admin"


def test_repository_reads(alice):
    repos = list(alice.iter_repositories(WS))
    assert REPO in {r.slug for r in repos}
    assert all(r.workspace_slug == WS and r.updated_on.tzinfo is not None for r in repos)
    newest_first = [r.updated_on for r in repos]
    assert newest_first == sorted(newest_first, reverse=True)

    # Incremental: only repositories changed after the watermark.
    watermark = sorted(newest_first)[len(newest_first) // 2]
    changed = list(alice.iter_repositories(WS, updated_after=watermark))
    assert changed and all(r.updated_on > watermark for r in changed)
    assert list(alice.iter_repositories(WS, updated_after=max(newest_first) + timedelta(seconds=1))) == []

    repo = alice.get_repository(WS, REPO)
    assert repo.full_name == f"{WS}/{REPO}" and repo.mainbranch == "main" and repo.project_key

    watched = {r.slug: list(alice.iter_watchers(WS, r.slug)) for r in repos}
    assert any(watched.values())
    assert all(a.uuid.startswith("{") for accounts in watched.values() for a in accounts)


def test_branch_and_commit_reads(alice):
    branches = {b.name: b for b in alice.iter_branches(WS, REPO)}
    assert "main" in branches and len(branches) > 1

    main = alice.get_branch(WS, REPO, "main")
    assert main.target.hash == branches["main"].target.hash and len(main.target.hash) == 40
    assert main.target.author.raw and main.target.date.tzinfo is not None

    history = list(alice.iter_commits(WS, REPO, branch="main"))
    assert history[0].hash == main.target.hash
    assert history[0].parents and history[0].parents[0] in {c.hash for c in history}
    assert len(list(alice.iter_commits(WS, REPO))) >= len(history)

    assert alice.get_commit(WS, REPO, history[-1].hash).hash == history[-1].hash

    feature = next(name for name in branches if name.startswith("feature/"))
    with pytest.raises(NotFound):
        alice.get_branch(WS, REPO, "no/such-branch")
    assert alice.get_branch(WS, REPO, feature).name == feature  # a slash in the name survives the URL


def test_source_reads(alice):
    head = alice.get_branch(WS, REPO, "main").target.hash
    root = list(alice.iter_directory(WS, REPO, head))
    assert root and all(e.commit == head for e in root)
    file_entry = next(e for e in root if not e.is_dir)
    dir_entry = next(e for e in root if e.is_dir)

    inside = list(alice.iter_directory(WS, REPO, head, dir_entry.path))
    assert inside and all(e.path.startswith(dir_entry.path + "/") for e in inside)

    content = alice.get_file(WS, REPO, head, file_entry.path)
    assert content.size == file_entry.size and content.content
    by_branch_name = alice.get_file(WS, REPO, "main", file_entry.path)
    assert by_branch_name.content == content.content

    feature = next(b.name for b in alice.iter_branches(WS, REPO) if "/" in b.name)
    on_feature = list(alice.iter_directory(WS, REPO, feature))  # a ref with a slash is one URL segment
    assert on_feature and on_feature[0].commit == alice.get_branch(WS, REPO, feature).target.hash
    assert alice.get_file(WS, REPO, feature, file_entry.path).content

    meta = alice.get_file_meta(WS, REPO, head, file_entry.path)
    assert meta.type == "commit_file" and meta.path == file_entry.path and meta.size == file_entry.size

    with pytest.raises(NotFound):
        alice.get_file(WS, REPO, head, "no/such/file.txt")

    history = list(alice.iter_commits(WS, REPO, branch="main"))
    spec = f"{history[0].hash}..{history[-1].hash}"
    diff = alice.get_diff(WS, REPO, spec)
    assert diff.startswith("diff --git")
    stats = list(alice.iter_diffstat(WS, REPO, spec))
    assert stats and all(s.path in diff for s in stats)


def test_pull_request_reads(alice):
    prs = list(alice.iter_pull_requests(WS, REPO))
    assert {"OPEN", "MERGED", "DECLINED"} <= {p.state for p in prs}  # all states in one listing
    assert [p.updated_on for p in prs] == sorted((p.updated_on for p in prs), reverse=True)
    assert all(p.reviewers is not None and p.participants is not None for p in prs)
    reviewed = next(p for p in prs if p.participants)
    assert reviewed.participants[0].user.uuid.startswith("{")

    lean = list(alice.iter_pull_requests(WS, REPO, with_participants=False, states=["OPEN"]))
    assert lean and all(p.state == "OPEN" and p.reviewers is None for p in lean)

    merged = next(p for p in prs if p.state == "MERGED")
    assert merged.merge_commit
    open_pr = next(p for p in prs if p.state == "OPEN")
    detail = alice.get_pull_request(WS, REPO, open_pr.id)
    assert detail.id == open_pr.id and detail.source.commit and detail.reviewers is not None

    diff = alice.get_pull_request_diff(WS, REPO, open_pr.id)
    assert diff.startswith("diff --git")
    stats = list(alice.iter_pull_request_diffstat(WS, REPO, open_pr.id))
    assert stats and all(s.path in diff for s in stats)
    commits = list(alice.iter_pull_request_commits(WS, REPO, open_pr.id))
    assert commits and commits[0].hash.startswith(detail.source.commit)

    commented = next(p for p in prs if p.comment_count)
    comments = list(alice.iter_pull_request_comments(WS, REPO, commented.id))
    assert len(comments) == commented.comment_count and comments[0].content
    activity = list(alice.iter_pull_request_activity(WS, REPO, commented.id))
    assert "comment" in {a.kind for a in activity}


def test_incremental_pull_request_listing_sees_only_changes(alice):
    prs = list(alice.iter_pull_requests(WS, REPO))
    watermark = max(p.updated_on for p in prs)
    assert list(alice.iter_pull_requests(WS, REPO, updated_after=watermark)) == []

    target = next(p for p in prs if p.state == "OPEN")
    alice.update_pull_request(WS, REPO, target.id, title=target.title + " (edited)")

    changed = list(alice.iter_pull_requests(WS, REPO, updated_after=watermark))
    assert [p.id for p in changed] == [target.id]
    assert changed[0].title.endswith("(edited)")


def test_pagination_over_http_many_pages(emulator_factory):
    emu = emulator_factory(seed="scale", repos=1, pull_requests=120, members=230, branches=105)
    records: list[RequestRecord] = []
    client = _client(emu, "alice", on_request=records.append)

    prs = list(client.iter_pull_requests(WS, "repo-0001"))
    members = list(client.iter_members(WS))
    branches = list(client.iter_branches(WS, "repo-0001"))

    assert len(prs) == 120 and len({p.id for p in prs}) == 120  # 3 pages of 50
    assert len(members) == 230 and len({m.user.uuid for m in members}) == 230  # 3 pages of 100
    assert len(branches) == len({b.name for b in branches}) >= 106  # 2 pages of 100
    assert len(records) == 3 + 3 + 2


# ---- writes -----------------------------------------------------------------------------------------------------


def test_branch_create_commit_files_and_delete(alice):
    tip = alice.get_branch(WS, REPO, "main").target.hash
    branch = alice.create_branch(WS, REPO, name="feature/client-test", target=tip)
    assert branch.name == "feature/client-test" and branch.target.hash == tip

    existing = next(e.path for e in alice.iter_directory(WS, REPO, tip) if not e.is_dir)
    first = alice.commit_files(
        WS,
        REPO,
        branch="feature/client-test",
        message="Add two files, change one",
        files={"notes/a.txt": "alpha\n", "notes/b.bin": b"\x00\xffbinary", existing: "rewritten\n"},
        parents=[tip],
        author="Alice Adams <alice@acme.test>",
    )
    assert len(first) == 40 and first != tip
    assert alice.get_branch(WS, REPO, "feature/client-test").target.hash == first
    assert alice.get_file(WS, REPO, first, "notes/a.txt").content == b"alpha\n"
    assert alice.get_file(WS, REPO, first, "notes/b.bin").content == b"\x00\xffbinary"
    assert alice.get_file(WS, REPO, first, existing).content == b"rewritten\n"
    commit = alice.get_commit(WS, REPO, first)
    assert commit.parents == (tip,) and commit.message.startswith("Add two files")
    assert commit.author.raw == "Alice Adams <alice@acme.test>"

    second = alice.commit_files(
        WS, REPO, branch="feature/client-test", message="Remove a", delete=["notes/a.txt"], parents=[first]
    )
    with pytest.raises(NotFound):
        alice.get_file(WS, REPO, second, "notes/a.txt")
    assert alice.get_file(WS, REPO, second, "notes/b.bin").content == b"\x00\xffbinary"

    # The user started from `first`, but the branch has moved on: Bitbucket refuses instead of overwriting.
    with pytest.raises(Conflict):
        alice.commit_files(WS, REPO, branch="feature/client-test", message="stale", files={"x": "y"}, parents=[first])
    assert alice.get_branch(WS, REPO, "feature/client-test").target.hash == second

    alice.delete_branch(WS, REPO, "feature/client-test")
    with pytest.raises(NotFound):
        alice.get_branch(WS, REPO, "feature/client-test")
    with pytest.raises(BadRequest):
        alice.delete_branch(WS, REPO, "main")  # the main branch cannot be deleted


def test_pull_request_writes_and_reviews(emulator, alice, bob):
    _feature_branch(alice, "feature/review-me", {"review.txt": "please review\n"})
    bob_uuid = emulator.account("bob")["uuid"]
    carol_uuid = emulator.account("carol")["uuid"]

    pr = alice.create_pull_request(
        WS,
        REPO,
        title="Review me",
        source_branch="feature/review-me",
        description="First draft",
        reviewers=[bob_uuid],
        close_source_branch=True,
    )
    assert pr.state == "OPEN" and pr.destination.branch == "main" and pr.close_source_branch
    assert [r.uuid for r in pr.reviewers] == [bob_uuid]

    updated = alice.update_pull_request(WS, REPO, pr.id, title="Review me, please", reviewers=[bob_uuid, carol_uuid])
    assert updated.title == "Review me, please"
    assert updated.description == "First draft"  # kept: the client sent the full set
    assert {r.uuid for r in updated.reviewers} == {bob_uuid, carol_uuid}
    main_tip = alice.get_branch(WS, REPO, "main").target.hash
    alice.create_branch(WS, REPO, name="release/next", target=main_tip)
    retargeted = alice.update_pull_request(WS, REPO, pr.id, destination_branch="release/next", description="")
    assert retargeted.destination.branch == "release/next" and retargeted.description == ""
    assert {r.uuid for r in retargeted.reviewers} == {bob_uuid, carol_uuid}

    comment = bob.comment_pull_request(WS, REPO, pr.id, content="Looks good")
    reply = alice.comment_pull_request(WS, REPO, pr.id, content="Thanks", parent_id=comment.id)
    inline = bob.comment_pull_request(WS, REPO, pr.id, content="Typo", inline_path="review.txt", inline_to=1)
    assert reply.parent_id == comment.id and inline.inline_path == "review.txt"
    assert [c.id for c in alice.iter_pull_request_comments(WS, REPO, pr.id)] == [comment.id, reply.id, inline.id]

    approval = bob.approve(WS, REPO, pr.id)
    assert approval.approved and approval.user.uuid == bob_uuid
    assert _participant(alice, pr.id, bob_uuid).approved
    bob.unapprove(WS, REPO, pr.id)
    assert not _participant(alice, pr.id, bob_uuid).approved

    changes = bob.request_changes(WS, REPO, pr.id)
    assert changes.changes_requested
    assert _participant(alice, pr.id, bob_uuid).changes_requested
    bob.remove_request_changes(WS, REPO, pr.id)
    assert not _participant(alice, pr.id, bob_uuid).changes_requested

    kinds = {a.kind for a in alice.iter_pull_request_activity(WS, REPO, pr.id)}
    assert {"comment", "update"} <= kinds

    declined = alice.decline_pull_request(WS, REPO, pr.id)
    assert declined.state == "DECLINED"
    with pytest.raises(BadRequest):
        alice.update_pull_request(WS, REPO, pr.id, title="too late")


def _participant(client: BitbucketClient, pr_id: int, uuid: str):
    pr = client.get_pull_request(WS, REPO, pr_id)
    return next(p for p in pr.participants if p.user.uuid == uuid)


@pytest.mark.parametrize("strategy", MERGE_STRATEGIES)
def test_merge_with_each_strategy(alice, strategy):
    branch = f"feature/merge-{strategy.replace('_', '-')}"
    head = _feature_branch(alice, branch, {f"{strategy}.txt": f"{strategy}\n"})
    pr = alice.create_pull_request(WS, REPO, title=f"Merge by {strategy}", source_branch=branch)

    merged = alice.merge_pull_request(
        WS, REPO, pr.id, strategy=strategy, close_source_branch=True, message=f"Merged by {strategy}"
    )

    assert merged.state == "MERGED" and merged.merge_commit
    main = alice.get_branch(WS, REPO, "main")
    assert main.target.hash.startswith(merged.merge_commit)
    assert alice.get_file(WS, REPO, "main", f"{strategy}.txt").content == f"{strategy}\n".encode()
    if strategy == "fast_forward":
        assert main.target.hash == head
    with pytest.raises(NotFound):
        alice.get_branch(WS, REPO, branch)  # close_source_branch


def test_async_merge_is_polled_to_success(alice):
    _feature_branch(alice, "feature/async", {"async.txt": "later\n"})
    pr = alice.create_pull_request(WS, REPO, title="Async", source_branch="feature/async")
    records: list[RequestRecord] = []
    polling = BitbucketClient(alice.auth, base_url=alice.base_url, on_request=records.append)
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    merged = polling.merge_pull_request(WS, REPO, pr.id, strategy="squash", asynchronous=True, poll=wait)

    assert merged.state == "MERGED" and merged.id == pr.id
    assert waits and sum(waits) <= 30
    assert records[0].status == 202 and records[-1].path.startswith(f"/repositories/{WS}/{REPO}/pullrequests/")
    assert "/merge/task-status/" in records[-1].path


def test_webhooks(alice):
    before = {h.uuid for h in alice.iter_webhooks(WS)}

    hook = alice.create_webhook(
        WS,
        url="https://dashboard.example.test/hooks/bitbucket",
        events=["repo:push", "pullrequest:created", "pullrequest:fulfilled"],
        secret="hook-signing-secret",
    )
    assert hook.uuid.startswith("{") and hook.active and hook.secret_set is True
    assert set(hook.events) == {"repo:push", "pullrequest:created", "pullrequest:fulfilled"}
    assert {h.uuid for h in alice.iter_webhooks(WS)} == before | {hook.uuid}

    alice.delete_webhook(WS, hook.uuid)
    assert {h.uuid for h in alice.iter_webhooks(WS)} == before


# ---- errors over HTTP -------------------------------------------------------------------------------------------


def test_auth_errors(emulator):
    account = emulator.account("alice")
    wrong = BitbucketClient(ApiToken(account["email"], "not-the-token"), base_url=emulator.api_url)
    with pytest.raises(AuthError) as info:
        wrong.get_current_user()
    assert info.value.status == 401

    as_bearer = BitbucketClient(AccessToken(account["api_token"]), base_url=emulator.api_url)
    with pytest.raises(AuthError, match="Token is invalid"):
        as_bearer.get_current_user()

    app_password = BitbucketClient(AppPassword("alice", account["app_password"]), base_url=emulator.api_url)
    assert app_password.get_current_user().uuid == account["uuid"]
    requests.post(f"{emulator.base_url}/_emulator/app-passwords", json={"enabled": False}, timeout=5)
    with pytest.raises(AppPasswordRemoved, match="2026-07-28"):
        app_password.get_current_user()


def test_missing_scope_reports_required_and_granted(emulator):
    docs_token = next(t for t in emulator.access_tokens if t["name"] == "docs-readonly")
    client = BitbucketClient(AccessToken(docs_token["token"]), base_url=emulator.api_url)
    assert client.get_repository(WS, "docs").slug == "docs"

    with pytest.raises(AuthError) as info:
        client.create_branch(WS, "docs", name="nope", target=client.get_branch(WS, "docs", "main").target.hash)
    assert info.value.status == 403
    assert "repository:write" in info.value.required_scopes
    assert "repository" in info.value.granted_scopes


def test_not_found_and_gone(alice):
    with pytest.raises(NotFound) as info:
        alice.get_repository(WS, "no-such-repo")
    assert info.value.message and info.value.endpoint == f"GET /repositories/{WS}/no-such-repo"
    with pytest.raises(NotFound):
        alice.get_pull_request(WS, REPO, 99999)
    # The client never calls the endpoints removed by CHANGE-2770; this checks how it reads the 410 they answer.
    with pytest.raises(Gone, match="CHANGE-2770"):
        alice._http.request("GET", "/workspaces")


@pytest.mark.parametrize("retry_after", [None, 30])
def test_rate_limited(emulator, alice, retry_after):
    emulator.controls.set_rate_limit(2, retry_after=retry_after)
    alice.get_repository(WS, REPO)
    alice.get_repository(WS, REPO)

    with pytest.raises(RateLimited) as info:
        alice.get_repository(WS, REPO)
    assert info.value.retry_after == (None if retry_after is None else float(retry_after))
    assert info.value.status == 429
    alice.get_current_user()  # /user is another resource group: not limited


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("555", 555)])
def test_server_faults_are_unavailable(emulator, alice, kind, status):
    emulator.controls.set_fault(1, kind=kind)
    with pytest.raises(Unavailable) as info:
        alice.get_repository(WS, REPO)
    assert info.value.status == status


def test_dropped_connection_on_a_get_is_retried_once(emulator, alice):
    emulator.controls.set_fault(2, kind="drop")
    alice.get_current_user()  # 1st request: fine
    assert alice.get_repository(WS, REPO).slug == REPO  # 2nd dropped, repeated as the 3rd
    assert alice.request_count == 3


def test_slow_answer_times_out(emulator):
    client = _client(emulator, "alice", timeout=(2, 0.3))
    emulator.controls.set_fault(1, kind="slow", delay=1.5)
    with pytest.raises(Unavailable, match="timeout") as info:
        client.get_current_user()
    assert info.value.status is None
    assert client.request_count == 1  # a timeout is not retried


def test_accounting_matches_the_emulator(emulator):
    records: list[RequestRecord] = []
    client = _client(emulator, "bob", on_request=records.append)
    emulator.controls.reset_counts()

    list(client.iter_pull_requests(WS, REPO))
    client.get_pull_request_diff(WS, REPO, next(client.iter_pull_requests(WS, REPO)).id)
    list(client.iter_user_workspaces())
    with pytest.raises(NotFound):
        client.get_repository(WS, "no-such-repo")

    counted = emulator.controls.counts()["by_credential"]["api_token:bob"]
    assert client.request_count == len(records) == counted["total"]
    assert [r.family for r in records] == ["repositories"] * 4 + ["user", "repositories"]
    assert records[-1].status == 404
    assert all(r.elapsed_ms >= 0 and r.at.tzinfo is not None for r in records)


def test_rate_limit_headers_are_recorded_for_access_tokens(emulator):
    emulator.controls.set_rate_limit(100)
    token = next(t for t in emulator.access_tokens if t["name"] == "acme-sync")
    records: list[RequestRecord] = []
    client = BitbucketClient(AccessToken(token["token"]), base_url=emulator.api_url, on_request=records.append)
    user_records: list[RequestRecord] = []
    user_client = _client(emulator, "alice", on_request=user_records.append)

    client.get_repository(WS, REPO)
    user_client.get_repository(WS, REPO)

    assert records[0].rate_limit == {"limit": "100", "resource": "api", "nearlimit": "false"}
    assert user_records[0].rate_limit is None  # Bitbucket sends them only to access tokens


def test_build_status_reads_ask_only_for_what_is_stored(emulator, alice):
    seen: list[RequestRecord] = []
    client = _client(emulator, "alice", on_request=seen.append)
    found = list(client.iter_pull_request_statuses(WS, REPO, 4))
    assert sorted((s.key, s.state) for s in found) == [("ci-build", "FAILED"), ("lint", "SUCCESSFUL")]
    assert all(len(s.commit) == 12 and s.refname == "feature/add-customer-lookup-endpoint" for s in found)
    assert all(s.url.startswith("https://") and s.updated_on is not None for s in found)
    assert len(seen) == 1
    tip = alice.get_pull_request(WS, REPO, 4).source.commit
    assert tip is not None
    on_commit = list(alice.iter_commit_statuses(WS, REPO, tip))
    assert {s.key for s in on_commit} == {"ci-build", "lint"} and all(len(s.commit) == 40 for s in on_commit)
    assert list(alice.iter_commit_statuses(WS, REPO, tip, refname="elsewhere")) == []
    assert list(alice.iter_pull_request_statuses(WS, REPO, 9)) == []
    with pytest.raises(NotFound):
        list(alice.iter_pull_request_statuses(WS, REPO, 999))
