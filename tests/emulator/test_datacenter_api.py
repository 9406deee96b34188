"""The Data Center site over HTTP: mounting, authentication kinds, permissions, errors, paging and each read."""

from __future__ import annotations

import pytest
import requests

from bitbucket_emulator import Emulator

from .dc_helpers import dc_session

R = "/projects/PLAT/repos/api-gateway"
NOT_PERMITTED = "com.atlassian.bitbucket.AuthorisationException"


@pytest.fixture(scope="module")
def emu():
    emulator = Emulator.start(seed="demo", controls=True)
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def _clear_controls(emu):
    yield
    emu.controls.clear()


def get(emu: Emulator, route: str, who: str | None = "alice", **params):
    return dc_session(emu, who).get(emu.datacenter_url + route, params=params)


def exception(resp) -> str:
    return resp.json()["errors"][0]["exceptionName"]


# ---- mounting ----------------------------------------------------------------------------------------------------
def test_both_api_versions_answer_the_same_under_the_context_path(emu):
    one = get(emu, "/projects/PLAT")
    latest = dc_session(emu, "alice").get(emu.datacenter_url.replace("/1.0", "/latest") + "/projects/PLAT")
    assert one.status_code == latest.status_code == 200
    assert one.json() == latest.json()
    assert one.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert emu.datacenter_url.endswith("/bitbucket/rest/api/1.0")
    # The Cloud API is still where it was.
    assert dc_session(emu, None).get(emu.api_url + "/repositories/acme").status_code == 200


def test_unrouted_paths_answer_404_without_the_errors_envelope(emu):
    resp = get(emu, "/definitely-not-a-route")
    assert resp.status_code == 404
    assert resp.json() == {"message": "HTTP 404 Not Found", "status-code": 404, "sub-code": -1}
    xml = dc_session(emu, "alice").get(emu.datacenter_url + "/x", headers={"Accept": "*/*"})
    assert xml.status_code == 404 and xml.text.startswith("<?xml") and "<status-code>404" in xml.text
    other = dc_session(emu, "alice").get(emu.base_url + "/bitbucket/rest/api/2.0/projects")
    assert other.status_code == 404 and "errors" not in other.json()
    # The PR `/tasks` resource is gone since 8.0: unrouted, not a missing entity.
    assert "errors" not in get(emu, R + "/pull-requests/1/tasks").json()


# ---- authentication ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "username"),
    [
        ("alice", "alice"),
        ("pat:alice-admin", "alice"),
        ("basic-pat:alice-admin", "alice"),
        ("token:plat-ci", "project-token-plat-ci"),
        ("token:gateway-ci", "repository-token-gateway-ci"),
    ],
)
def test_each_credential_kind_authenticates_and_names_the_user(emu, who, username):
    resp = get(emu, R, who)
    assert resp.status_code == 200
    assert resp.headers["X-AUSERNAME"] == username
    assert resp.headers["X-AUSERID"].isdigit()


def test_application_properties_are_anonymous_and_carry_no_user_header(emu):
    resp = get(emu, "/application-properties", None)
    assert resp.status_code == 200
    assert resp.json()["version"].startswith("10.")
    assert "X-AUSERNAME" not in resp.headers
    assert get(emu, "/application-properties", "bob").headers["X-AUSERNAME"] == "bob"


def test_wrong_credentials_answer_401_incorrect_password(emu):
    for resp in (
        get(emu, "/projects", "bad"),
        dc_session(emu, None).get(emu.datacenter_url + "/projects", headers={"Authorization": "Bearer BBDC-nope"}),
    ):
        assert resp.status_code == 401
        assert exception(resp) == "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"


def test_project_and_repository_tokens_are_bearer_only(emu):
    site = emu.world.datacenter
    token = next(t for t in site.tokens.values() if t.name == "plat-ci")
    s = dc_session(emu, None)
    s.auth = ("alice", token.token)
    assert s.get(emu.datacenter_url + "/projects").status_code == 401
    # A personal token works as Basic only with its owner's name.
    pat = next(t for t in site.tokens.values() if t.name == "alice-admin")
    s.auth = ("bob", pat.token)
    assert s.get(emu.datacenter_url + "/projects").status_code == 401


def test_missing_permission_is_401_authorisation_exception_not_403(emu):
    # carol reads PLAT but is no project admin; dave only sees one repository of it.
    resp = get(emu, "/projects/PLAT/permissions/users", "carol")
    assert resp.status_code == 401 and exception(resp) == NOT_PERMITTED
    resp = get(emu, "/projects/PLAT/repos/deploy-tools", "dave")
    assert resp.status_code == 401 and exception(resp) == NOT_PERMITTED
    anon = get(emu, R, None)
    assert anon.status_code == 401
    assert exception(anon).endswith("AuthenticationRequiredException")


def test_tokens_see_only_their_scope_and_never_more_than_their_owner(emu):
    assert get(emu, "/projects/PLAT/repos/deploy-tools", "token:gateway-ci").status_code == 401
    assert get(emu, "/projects/~alice/repos/dotfiles", "token:plat-ci").status_code == 401
    assert [r["slug"] for r in get(emu, "/repos", "token:gateway-ci").json()["values"]] == ["api-gateway"]
    # bob's read-only token cannot administer the project bob could not administer anyway.
    assert get(emu, "/projects/PLAT/permissions/users", "pat:bob-read").status_code == 401
    assert get(emu, "/projects/PLAT/permissions/users", "pat:alice-admin").status_code == 200
    # alice's admin token does not reach bob's world: personal projects stay personal.
    assert get(emu, "/projects/~alice/repos/dotfiles", "pat:bob-read").status_code == 401


# ---- errors ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "name", "message"),
    [
        ("/projects/NOPE", "project.NoSuchProjectException", "Project NOPE does not exist."),
        ("/projects/PLAT/repos/nope", "repository.NoSuchRepositoryException", "Repository PLAT/nope does not exist."),
        (
            R + "/pull-requests/99",
            "pull.NoSuchPullRequestException",
            "Pull request 99 does not exist in PLAT/api-gateway.",
        ),
        (
            R + "/commits/deadbeef",
            "commit.NoSuchCommitException",
            "Commit 'deadbeef' does not exist in repository 'api-gateway'.",
        ),
        ("/users/nobody", "user.NoSuchUserException", "User nobody does not exist."),
    ],
)
def test_missing_entities_answer_404_with_dc_exception_names(emu, path, name, message):
    resp = get(emu, path)
    assert resp.status_code == 404
    assert resp.json() == {
        "errors": [{"context": None, "message": message, "exceptionName": "com.atlassian.bitbucket." + name}]
    }


def test_bad_parameters_answer_400(emu):
    resp = get(emu, R + "/pull-requests", state="SUPERSEDED")
    assert resp.status_code == 400 and resp.json()["errors"][0]["context"] == "state"
    assert get(emu, "/projects", permission="REPO_READ").status_code == 400
    assert get(emu, "/repos", start="x").status_code == 400


def test_commit_resource_takes_hashes_not_ref_names(emu):
    assert get(emu, R + "/commits/main").status_code == 404
    tip = get(emu, R + "/branches/default").json()["latestCommit"]
    assert get(emu, R + f"/commits/{tip[:12]}").json()["id"] == tip


# ---- paging ------------------------------------------------------------------------------------------------------
def test_pages_follow_next_page_start_and_echo_the_applied_limit(emu):
    seen, start = [], 0
    while True:
        body = get(emu, R + "/commits", limit=2, start=start).json()
        assert body["size"] == len(body["values"]) <= 2 and body["limit"] == 2 and body["start"] == start
        seen += [c["id"] for c in body["values"]]
        if body["isLastPage"]:
            assert body["nextPageStart"] is None  # commits send an explicit null on the last page
            break
        start = body["nextPageStart"]
    assert len(seen) == len(set(seen)) >= 3
    projects = get(emu, "/projects", limit=5000).json()
    assert projects["limit"] == 1000 and "nextPageStart" not in projects  # capped; others omit it when last
    assert get(emu, R + "/pull-requests/2/activities", limit=5000).json()["limit"] == 500
    assert get(emu, "/repos").json()["limit"] == 25


# ---- reads -------------------------------------------------------------------------------------------------------
def test_users_list_and_one(emu):
    names = [u["name"] for u in get(emu, "/users").json()["values"]]
    assert names == sorted(names) and "alice" in names and not any(n.endswith("-ci") for n in names)
    assert [u["slug"] for u in get(emu, "/users", filter="car").json()["values"]] == ["carol"]
    user = get(emu, "/users/bob").json()
    assert user["displayName"] == "Bob Berg" and user["type"] == "NORMAL"
    assert user["links"]["self"][0]["href"].endswith("/bitbucket/users/bob")
    assert get(emu, "/users", None).status_code == 401


def test_projects_and_personal_projects(emu):
    assert [p["key"] for p in get(emu, "/projects").json()["values"]] == ["PLAT"]
    assert [p["key"] for p in get(emu, "/projects", "dave").json()["values"]] == ["PLAT"]  # PROJECT_VIEW via a repo
    assert get(emu, "/projects", "dave", permission="PROJECT_READ").json()["values"] == []
    personal = get(emu, "/projects/~alice").json()
    assert personal["type"] == "PERSONAL" and personal["links"]["self"][0]["href"].endswith("/users/alice")
    assert get(emu, "/projects/~ALICE").json()["key"] == "~alice"
    assert get(emu, "/projects/~alice", "bob").status_code == 401


def test_project_user_permissions_for_admins(emu):
    grants = {g["user"]["slug"]: g["permission"] for g in get(emu, "/projects/PLAT/permissions/users").json()["values"]}
    assert grants == {"alice": "PROJECT_ADMIN", "bob": "PROJECT_WRITE", "carol": "PROJECT_READ"}
    assert get(emu, "/projects/PLAT/permissions/users", "admin").status_code == 200  # a sysadmin


def test_repositories_per_project_and_across_the_instance(emu):
    plat = [r["slug"] for r in get(emu, "/projects/PLAT/repos").json()["values"]]
    assert plat == ["api-gateway", "deploy-tools", "legacy-scripts"]
    assert [r["slug"] for r in get(emu, "/projects/PLAT/repos", "dave").json()["values"]] == ["api-gateway"]
    active = [r["slug"] for r in get(emu, "/repos").json()["values"]]
    assert active == ["api-gateway", "deploy-tools", "dotfiles"]  # archived left out by default
    archived = get(emu, "/repos", archived="ARCHIVED").json()["values"]
    assert [(r["slug"], r["archived"]) for r in archived] == [("legacy-scripts", True)]
    assert len(get(emu, "/repos", archived="ALL").json()["values"]) == 4
    assert [r["slug"] for r in get(emu, "/repos", projectkey="~alice").json()["values"]] == ["dotfiles"]
    assert [r["slug"] for r in get(emu, "/repos", "carol", permission="REPO_WRITE").json()["values"]] == []
    assert get(emu, "/repos", None).json()["values"] == []
    repo = get(emu, R).json()
    assert repo["project"]["key"] == "PLAT" and repo["scmId"] == "git" and repo["state"] == "AVAILABLE"
    assert {c["name"] for c in repo["links"]["clone"]} == {"http", "ssh"}
    assert repo["links"]["self"][0]["href"].endswith("/bitbucket/projects/PLAT/repos/api-gateway/browse")


def test_branches_carry_is_default_and_the_default_endpoints(emu):
    body = get(emu, R + "/branches").json()
    by_name = {b["displayId"]: b for b in body["values"]}
    assert by_name["main"]["isDefault"] is True and "default" not in by_name["main"]
    assert not any(b["isDefault"] for n, b in by_name.items() if n != "main")
    assert all(b["latestCommit"] == b["latestChangeset"] and b["id"] == "refs/heads/" + n for n, b in by_name.items())
    assert list(by_name) == sorted(by_name)
    assert [b["displayId"] for b in get(emu, R + "/branches", filterText="feature").json()["values"]] == [
        "feature/health",
        "feature/rate-limits",
    ]
    modified = [b["displayId"] for b in get(emu, R + "/branches", orderBy="MODIFICATION").json()["values"]]
    assert modified[0] == "main"  # the merge of PR 1 is the newest commit
    assert get(emu, R + "/default-branch").json() == {"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"}
    assert get(emu, R + "/branches/default").json()["isDefault"] is True


def test_tags(emu):
    tags = get(emu, R + "/tags").json()["values"]
    assert [(t["displayId"], t["type"]) for t in tags] == [("v1.0.0", "TAG")]
    assert get(emu, R + "/tags/v1.0.0").json()["id"] == "refs/tags/v1.0.0"
    assert get(emu, R + "/tags/v9").status_code == 404


def test_commits_with_until_since_and_path(emu):
    main = get(emu, R + "/commits").json()["values"]
    assert main[0]["message"].startswith("Merge pull request #1")
    assert len(main[0]["parents"]) == 2 and len(main[0]["displayId"]) == 11
    feature = get(emu, R + "/commits", until="refs/heads/feature/rate-limits", since="main").json()["values"]
    assert [c["message"] for c in feature] == ["Document the limits", "Raise the rate limit"]
    assert feature[0]["author"]["slug"] == "bob"  # the e-mail maps to a user
    only_limits = get(emu, R + "/commits", until="feature/rate-limits", path="src/limits.py").json()["values"]
    assert [c["message"] for c in only_limits] == ["Raise the rate limit", "Initial commit"]
    assert isinstance(main[0]["authorTimestamp"], int)


def test_commit_and_its_changes_and_diff(emu):
    tip = get(emu, R + "/branches", filterText="rate").json()["values"][0]["latestCommit"]
    commit = get(emu, R + f"/commits/{tip}").json()
    assert commit["message"] == "Document the limits"
    changes = get(emu, R + f"/commits/{tip}/changes").json()["values"]
    assert [(c["path"]["toString"], c["type"]) for c in changes] == [("docs/limits.md", "ADD")]
    assert changes[0]["fromContentId"] == "0" * 40
    diff = get(emu, R + f"/commits/{tip}/diff/docs/limits.md").json()
    assert diff["toHash"] == tip and diff["diffs"][0]["source"] is None
    text = dc_session(emu, "alice").get(
        emu.datacenter_url + R + f"/commits/{tip}/diff", headers={"Accept": "text/plain"}
    )
    assert text.headers["Content-Type"].startswith("text/plain") and "+500 per minute." in text.text


def test_browse_and_raw(emu):
    root = get(emu, R + "/browse").json()
    kids = [(c["path"]["name"], c["type"]) for c in root["children"]["values"]]
    assert kids[0] == ("src", "DIRECTORY") and ("README.md", "FILE") in kids
    lines = get(emu, R + "/browse/src/limits.py", at="refs/heads/feature/rate-limits").json()
    assert lines["lines"] == [{"text": "LIMIT = 500"}, {"text": "BURST = 60"}]
    assert lines["isLastPage"] is True and lines["limit"] == 500 and lines["nextPageStart"] is None
    assert get(emu, R + "/browse/src", type="true").json() == {"type": "DIRECTORY"}
    raw = get(emu, R + "/raw/src/limits.py", at="feature/rate-limits")
    assert raw.content == b"LIMIT = 500\nBURST = 60\n"
    missing = get(emu, R + "/browse/nope.txt")
    assert missing.status_code == 404 and exception(missing).endswith("NoSuchPathException")


def test_pull_request_list_filters_and_order(emu):
    open_prs = get(emu, R + "/pull-requests").json()["values"]
    assert [p["id"] for p in open_prs] == [3, 2]  # newest first, OPEN by default
    assert [p["id"] for p in get(emu, R + "/pull-requests", order="OLDEST").json()["values"]] == [2, 3]
    assert [p["state"] for p in get(emu, R + "/pull-requests", state="MERGED").json()["values"]] == ["MERGED"]
    assert len(get(emu, R + "/pull-requests", state="ALL").json()["values"]) == 3
    outgoing = get(emu, R + "/pull-requests", at="refs/heads/bugfix/timeout", direction="OUTGOING").json()
    assert [p["id"] for p in outgoing["values"]] == [3]
    assert [p["id"] for p in get(emu, R + "/pull-requests", at="refs/heads/main").json()["values"]] == [3, 2]
    mine = get(emu, R + "/pull-requests", **{"username.1": "alice", "role.1": "REVIEWER", "approved.1": "true"})
    assert [p["id"] for p in mine.json()["values"]] == [2]
    lean = get(emu, R + "/pull-requests", withProperties="false").json()["values"]
    assert "properties" not in lean[0]


def test_one_pull_request_with_reviewers_statuses_and_properties(emu):
    pr = get(emu, R + "/pull-requests/2").json()
    assert (pr["state"], pr["open"], pr["closed"], pr["draft"]) == ("OPEN", True, False, False)
    assert pr["author"]["role"] == "AUTHOR" and pr["author"]["user"]["slug"] == "bob"
    statuses = {r["user"]["slug"]: (r["status"], r["approved"]) for r in pr["reviewers"]}
    assert statuses == {"alice": ("APPROVED", True), "carol": ("NEEDS_WORK", False)}
    assert pr["fromRef"]["id"] == "refs/heads/feature/rate-limits" and pr["toRef"]["displayId"] == "main"
    assert pr["properties"]["commentCount"] == 3 and pr["properties"]["openTaskCount"] == 1
    assert pr["version"] == 0 and pr["links"]["self"][0]["href"].endswith("/pull-requests/2")
    merged = get(emu, R + "/pull-requests/1").json()
    assert merged["version"] == 1 and merged["closed"] is True and isinstance(merged["closedDate"], int)
    assert merged["properties"]["mergeCommit"]["id"] == get(emu, R + "/branches/default").json()["latestCommit"]
    assert get(emu, R + "/pull-requests/3").json()["draft"] is True
    participants = get(emu, R + "/pull-requests/2/participants").json()["values"]
    assert [p["role"] for p in participants] == ["AUTHOR", "REVIEWER", "REVIEWER"]


def test_activities_newest_first_with_comment_threads(emu):
    acts = get(emu, R + "/pull-requests/2/activities").json()["values"]
    assert acts[-1]["action"] == "OPENED"
    ids = [a["id"] for a in acts]
    assert ids == sorted(ids, reverse=True)
    actions = [a["action"] for a in acts]
    assert actions.count("COMMENTED") == 2 and "APPROVED" in actions and "REVIEWED" in actions  # NEEDS_WORK
    inline = next(a for a in acts if a.get("commentAnchor"))
    assert inline["commentAnchor"]["path"] == "src/limits.py"  # a plain string in the timeline
    assert inline["comment"]["comments"][0]["text"].startswith("Yes")
    assert inline["commentAction"] == "ADDED"
    paged = get(emu, R + "/pull-requests/2/activities", fromId=str(inline["comment"]["id"]), fromType="COMMENT")
    assert paged.json()["values"][0]["id"] == inline["id"]
    merged = get(emu, R + "/pull-requests/1/activities").json()["values"]
    assert merged[0]["action"] == "MERGED" and len(merged[0]["commit"]["parents"]) == 2


def test_pull_request_changes_and_diffs(emu):
    changes = get(emu, R + "/pull-requests/2/changes").json()
    assert changes["properties"] == {"changeScope": "ALL"} and changes["start"] == 0
    assert [c["path"]["toString"] for c in changes["values"]] == ["docs/limits.md", "src/limits.py"]
    diff = get(emu, R + "/pull-requests/2/diff/src/limits.py").json()
    segments = [(s["type"], [ln["line"] for ln in s["lines"]]) for s in diff["diffs"][0]["hunks"][0]["segments"]]
    assert segments == [("REMOVED", ["LIMIT = 100"]), ("ADDED", ["LIMIT = 500", "BURST = 60"])]
    whole = get(emu, R + "/pull-requests/2/diff").json()
    assert len(whole["diffs"]) == 2 and whole["contextLines"] == 10
    text = get(emu, R + "/pull-requests/2.diff")
    assert text.headers["Content-Type"].startswith("text/plain")
    assert "-LIMIT = 100\n+LIMIT = 500\n" in text.text


# ---- controls ----------------------------------------------------------------------------------------------------
def test_token_bucket_rate_limit_per_user_with_retry_after(emu):
    now = [1000.0]
    emu.controls.clock = lambda: now[0]
    try:
        control = dc_session(emu, None).post(
            emu.base_url + "/_emulator/datacenter/rate-limit", json={"capacity": 3, "fill_rate": 0.5}
        )
        assert control.json() == {"capacity": 3, "fill_rate": 0.5}
        assert [get(emu, "/projects", "carol").status_code for _ in range(3)] == [200, 200, 200]
        limited = get(emu, "/projects", "carol")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
        assert limited.json()["errors"][0]["message"].startswith("Rate limit exceeded")
        assert get(emu, "/projects", "bob").status_code == 200  # a bucket per user
        assert get(emu, "/application-properties", None).status_code == 200  # anonymous is not limited
        now[0] += 2.0
        assert get(emu, "/projects", "carol").status_code == 200
        dc_session(emu, None).delete(emu.base_url + "/_emulator/datacenter/rate-limit")
        assert all(get(emu, "/projects", "carol").status_code == 200 for _ in range(5))
    finally:
        emu.controls.clock = __import__("time").monotonic


def test_faults_and_request_accounting_cover_the_site(emu):
    emu.controls.reset_counts()
    emu.controls.set_fault(2, "500")
    answers = [get(emu, "/projects/PLAT") for _ in range(4)]
    emu.controls.set_fault(None)
    assert [a.status_code for a in answers] == [200, 500, 200, 500]
    assert answers[1].json()["errors"][0]["message"]
    family = emu.controls.counts()["by_credential"]["dc_user:alice"]["endpoints"]
    assert family["GET /rest/api/1.0/projects/{projectKey}"]["status"] == {"200": 2, "500": 2}
    emu.controls.set_fault(1, "drop")
    with pytest.raises(requests.ConnectionError):
        get(emu, "/projects/PLAT")


def test_state_file_restart_brings_the_site_back_from_the_seed(tmp_path):
    state = str(tmp_path / "state.json")
    Emulator.start(seed="demo", state_file=state).stop()
    again = Emulator.start(seed="demo", state_file=state)
    try:
        assert get(again, "/projects/PLAT").status_code == 200
        creds = again.datacenter_credentials
        assert creds is not None and creds["url"] == again.datacenter_url
        assert {t["kind"] for t in creds["tokens"]} == {"personal", "project", "repository"}
    finally:
        again.stop()


def test_worlds_without_a_site_leave_the_context_path_to_cloud():
    bare = Emulator.start(seed="empty")
    try:
        assert bare.datacenter_url is None
        resp = requests.get(bare.base_url + "/bitbucket/rest/api/1.0/projects", timeout=10)
        assert resp.status_code == 404 and resp.json()["type"] == "error"  # Cloud's not-found
    finally:
        bare.stop()


def test_repository_user_permissions_for_repository_admins(emu):
    grants = get(emu, R + "/permissions/users").json()["values"]
    assert [(g["user"]["slug"], g["permission"]) for g in grants] == [("dave", "REPO_READ")]
    assert get(emu, R + "/permissions/users", "bob").status_code == 401  # PROJECT_WRITE is not REPO_ADMIN


def test_pull_request_commits_merge_status_and_tasks(emu):
    commits = get(emu, R + "/pull-requests/2/commits").json()["values"]
    assert [c["message"] for c in commits] == ["Document the limits", "Raise the rate limit"]
    assert get(emu, R + "/pull-requests/2/merge").json() == {
        "canMerge": True,
        "conflicted": False,
        "outcome": "CLEAN",
        "vetoes": [],
    }
    closed = get(emu, R + "/pull-requests/1/merge")
    assert closed.status_code == 409 and exception(closed).endswith("IllegalPullRequestStateException")
    tasks = get(emu, R + "/pull-requests/2/blocker-comments").json()["values"]
    assert [(t["text"], t["severity"], t["state"]) for t in tasks] == [("Add a changelog entry", "BLOCKER", "OPEN")]
    assert get(emu, R + "/pull-requests/2/blocker-comments", states="RESOLVED").json()["values"] == []


def test_dashboard_and_inbox_searches_across_repositories(emu):
    mine = get(emu, "/dashboard/pull-requests", "alice", role="REVIEWER").json()["values"]
    assert {(p["toRef"]["repository"]["slug"], p["id"]) for p in mine} == {("api-gateway", 2), ("api-gateway", 3)}
    needs_work = get(emu, "/dashboard/pull-requests", "carol", participantStatus="NEEDS_WORK").json()["values"]
    assert [p["id"] for p in needs_work] == [2]
    authored = get(emu, "/dashboard/pull-requests", "alice", role="AUTHOR", state="OPEN").json()["values"]
    assert [(p["toRef"]["repository"]["slug"], p["id"]) for p in authored] == [("dotfiles", 1)]
    # dave reads only api-gateway: his dashboard stays inside it.
    assert [p["id"] for p in get(emu, "/dashboard/pull-requests", "dave").json()["values"]] == [3]
    inbox = get(emu, "/inbox/pull-requests", "alice").json()["values"]
    assert [p["id"] for p in inbox] == [3, 2]
    assert get(emu, "/inbox/pull-requests", None).status_code == 401
    assert get(emu, "/dashboard/pull-requests", "token:plat-ci").json()["values"] == []


def test_a_seed_document_builds_a_site_with_a_conflicted_pull_request():
    spec = {
        "datacenter": {
            "context_path": "/scm",
            "users": [{"name": "ann", "password": "pw"}],
            "projects": [{"key": "KEY", "permissions": {"ann": "PROJECT_ADMIN"}}],
            "repositories": [
                {
                    "project": "KEY",
                    "name": "Repo One",
                    "files": {"a.txt": "one\n"},
                    "branches": [
                        {"name": "topic", "commits": [{"author": "ann", "message": "B", "files": {"a.txt": "b\n"}}]}
                    ],
                    "commits": [{"author": "ann", "message": "A", "files": {"a.txt": "a\n"}}],
                    "pull_requests": [{"title": "Topic", "from": "topic", "author": "ann"}],
                }
            ],
        }
    }
    small = Emulator.start(seed=spec)
    try:
        assert small.datacenter_url.endswith("/scm/rest/api/1.0")
        s = requests.Session()
        s.auth = ("ann", "pw")
        merge = s.get(small.datacenter_url + "/projects/KEY/repos/repo-one/pull-requests/1/merge", timeout=10).json()
        assert merge == {"canMerge": False, "conflicted": True, "outcome": "CONFLICTED", "vetoes": []}
        assert s.get(small.base_url + "/bitbucket/rest/api/1.0/projects", timeout=10).status_code == 404
    finally:
        small.stop()


def test_file_comments_need_a_path_and_one_comment_by_id(emu):
    assert get(emu, R + "/pull-requests/2/comments").status_code == 400
    threads = get(emu, R + "/pull-requests/2/comments", path="src/limits.py").json()["values"]
    assert [(c["text"][:9], c["anchor"]["line"], c["anchor"]["lineType"]) for c in threads] == [
        ("Is 500 sa", 1, "ADDED")
    ]
    assert threads[0]["comments"][0]["author"]["slug"] == "bob"
    assert get(emu, R + "/pull-requests/2/comments", path="README.md").json()["values"] == []
    one = get(emu, R + f"/pull-requests/2/comments/{threads[0]['comments'][0]['id']}").json()
    assert one["text"].startswith("Yes") and one["version"] == 0
    missing = get(emu, R + "/pull-requests/2/comments/1")
    assert missing.status_code == 404 and exception(missing).endswith("NoSuchCommentException")
    # permittedOperations speak for the caller.
    assert get(emu, R + f"/pull-requests/2/comments/{one['id']}", "bob").json()["permittedOperations"]["editable"]
    assert not one["permittedOperations"]["editable"]


def test_compare_files_and_repository_diff(emu):
    ahead = get(emu, R + "/compare/commits", **{"from": "refs/heads/feature/rate-limits", "to": "refs/heads/main"})
    assert [c["message"] for c in ahead.json()["values"]] == ["Document the limits", "Raise the rate limit"]
    changes = get(emu, R + "/compare/changes", **{"from": "feature/rate-limits", "to": "main"}).json()["values"]
    assert [(c["path"]["toString"], c["type"]) for c in changes] == [
        ("docs/limits.md", "ADD"),
        ("src/limits.py", "MODIFY"),
    ]
    diff = get(emu, R + "/compare/diff/src/limits.py", **{"from": "feature/rate-limits", "to": "main"}).json()
    assert [d["destination"]["toString"] for d in diff["diffs"]] == ["src/limits.py"]
    missing = get(emu, R + "/compare/commits", **{"from": "main"})
    assert missing.status_code == 400 and missing.json()["errors"][0]["context"] == "to"
    text = get(emu, R + "/diff/src/limits.py", until="feature/rate-limits", since="main")
    assert text.headers["Content-Type"].startswith("text/plain") and "+BURST = 60" in text.text
    assert get(emu, R + "/files").json()["values"] == ["README.md", "src/gateway.py", "src/health.py", "src/limits.py"]
    assert get(emu, R + "/files/src", limit=1).json()["values"] == ["gateway.py"]
    assert get(emu, R + "/files/nope").status_code == 404


def test_repository_participants_feed_people_pickers(emu):
    everyone = [u["slug"] for u in get(emu, R + "/participants").json()["values"]]
    assert everyone == ["alice", "bob", "carol", "dave"]
    assert [u["slug"] for u in get(emu, R + "/participants", role="AUTHOR").json()["values"]] == [
        "alice",
        "bob",
        "carol",
    ]
    assert [u["slug"] for u in get(emu, R + "/participants", filter="Dun").json()["values"]] == ["dave"]
    assert get(emu, R + "/participants", role="OWNER").status_code == 400


def test_patch_series_of_a_range_and_of_a_pull_request(emu):
    series = get(emu, R + "/pull-requests/2.patch")
    assert series.headers["Content-Type"].startswith("text/plain")
    subjects = [line for line in series.text.splitlines() if line.startswith("Subject: ")]
    assert subjects == ["Subject: [PATCH] Raise the rate limit", "Subject: [PATCH] Document the limits"]
    assert "From: Bob Berg <bob@example.test>" in series.text and "+BURST = 60" in series.text
    ranged = get(emu, R + "/patch", until="feature/rate-limits", since="main").text
    assert ranged.count("Subject: [PATCH]") == 2
    single = get(emu, R + "/patch", until="feature/rate-limits").text
    assert single.count("Subject: [PATCH]") == 1 and "Document the limits" in single
    assert get(emu, R + "/patch").status_code == 400
