"""The Data Center client's reads of files, history, diffstats, builds and the caller's permissions: what each sends
and the records it makes of the answer."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bitbucket_sync.client import (
    AccessToken,
    BitbucketSchemaError,
    DataCenterClient,
    NotFound,
    UnsafePath,
    Unsupported,
)
from tests.fixtures import datacenter as dc

REPO = f"{dc.API}/projects/PRJ/repos/web"
SHA = "046d9a3c1532acf4cf08fe93235c00e4d673c1d2"
BUILDS = f"{dc.SERVER}/rest/build-status/1.0/commits/{SHA}"


@pytest.fixture
def client():
    return DataCenterClient(AccessToken("t"), base_url=dc.SERVER)


def query(index: int = -1) -> dict[str, list[str]]:
    return parse_qs(urlsplit(responses.calls[index].request.url).query)


def path_of(index: int = -1) -> str:
    return urlsplit(responses.calls[index].request.url).path


# ---- file metadata -------------------------------------------------------------------------------------------------
@responses.activate
def test_file_meta_is_the_entry_of_its_directory_listing(client):
    responses.get(
        f"{REPO}/browse/src",
        json=dc.directory(
            "src", [dc.child("lib", "DIRECTORY"), dc.child("app.py", size=12), dc.child("vendor", "SUBMODULE")]
        ),
    )

    meta = client.get_file_meta("PRJ", "web", "main", "/src/app.py")
    sub = client.get_file_meta("PRJ", "web", "main", "src/vendor")

    assert (meta.type, meta.path, meta.size, meta.commit, meta.is_dir) == (
        "commit_file",
        "src/app.py",
        12,
        "main",
        False,
    )
    assert (sub.type, sub.attributes) == ("commit_file", ("submodule",))
    assert query(0) == {"at": ["main"], "limit": ["500"], "start": ["0"]}
    assert len(responses.calls) == 2


@responses.activate
def test_file_meta_of_a_top_level_entry_reads_the_root_listing_page_by_page(client):
    responses.get(f"{REPO}/browse", json=dc.directory("", [dc.child("README.md", size=3)], next_start=1))
    responses.get(f"{REPO}/browse", json=dc.directory("", [dc.child("docs", "DIRECTORY")], start=1))

    meta = client.get_file_meta("PRJ", "web", SHA, "docs")

    assert (meta.type, meta.path, meta.is_dir) == ("commit_directory", "docs", True)
    assert [query(i)["start"] for i in range(2)] == [["0"], ["1"]]


@responses.activate
@pytest.mark.parametrize(("asked", "listing", "collapsed"), [("src", "", "src/main"), ("src/main", "src", "main/java")])
def test_a_directory_its_parent_lists_as_part_of_a_collapsed_chain_is_asked_with_type_true(
    client, asked, listing, collapsed
):
    listed = dc.directory(listing, [dc.child(collapsed, "DIRECTORY")])
    responses.get(f"{REPO}/browse" + (f"/{listing}" if listing else ""), json=listed)
    responses.get(f"{REPO}/browse/{asked}", json={"type": "DIRECTORY"})

    meta = client.get_file_meta("PRJ", "web", "main", asked)

    assert (meta.type, meta.path, meta.size) == ("commit_directory", asked, None)
    assert path_of() == f"/bitbucket/rest/api/1.0/projects/PRJ/repos/web/browse/{asked}"
    assert query() == {"at": ["main"], "type": ["true"]}


@responses.activate
def test_a_path_type_data_center_does_not_know_is_a_schema_error(client):
    responses.get(f"{REPO}/browse", json=dc.directory("", [dc.child("src/main", "DIRECTORY")]))
    responses.get(f"{REPO}/browse/src", json={"type": "SYMLINK"})
    with pytest.raises(BitbucketSchemaError):
        client.get_file_meta("PRJ", "web", "main", "src")


@responses.activate
def test_file_meta_of_a_missing_entry_is_not_found_and_bad_paths_send_nothing(client):
    responses.get(f"{REPO}/browse/src", json=dc.directory("src", [dc.child("app.py", size=1)]))
    with pytest.raises(NotFound):
        client.get_file_meta("PRJ", "web", "main", "src/nope.py")
    for bad in ("", "/", "src/../../secrets"):
        with pytest.raises(UnsafePath):
            client.get_file_meta("PRJ", "web", "main", bad)
    assert len(responses.calls) == 1


# ---- commit log and file history -----------------------------------------------------------------------------------
@responses.activate
def test_a_commit_log_page_sends_until_since_path_and_returns_the_next_start_as_cursor(client):
    responses.get(f"{REPO}/commits", json=dc.page([dc.commit(SHA)], start=30, limit=30, next_start=60))

    commits, cursor = client.commit_log_page(
        "PRJ", "web", revision="feature/x", exclude=["main"], path="/src/app.py", cursor="30"
    )

    assert [c.hash for c in commits] == [SHA] and cursor == "60"
    assert query() == {
        "until": ["feature/x"],
        "since": ["main"],
        "path": ["src/app.py"],
        "limit": ["30"],
        "start": ["30"],
    }


@responses.activate
def test_the_last_log_page_has_no_cursor_and_the_default_branch_needs_no_until(client):
    responses.get(f"{REPO}/commits", json={**dc.page([dc.commit(SHA)]), "nextPageStart": None})

    commits, cursor = client.commit_log_page("PRJ", "web", pagelen=5)

    assert len(commits) == 1 and cursor is None
    assert query() == {"limit": ["5"], "start": ["0"]}


@pytest.mark.parametrize("cursor", ["-1", "x", "1e3", "1234567890", "2&limit=1"])
def test_a_cursor_that_is_not_an_offset_is_refused_before_any_request(client, cursor):
    with responses.RequestsMock() as mocked, pytest.raises(UnsafePath):
        client.commit_log_page("PRJ", "web", cursor=cursor)
    assert not mocked.calls


def test_data_center_excludes_one_ref_at_most(client):
    with pytest.raises(ValueError):
        client.commit_log_page("PRJ", "web", exclude=["a", "b"])


@responses.activate
def test_file_history_follows_renames_and_names_the_path_asked_for(client):
    responses.get(f"{REPO}/commits", json=dc.page([dc.commit(SHA), dc.commit("f" * 40)], limit=2, next_start=2))

    entries, cursor = client.file_history_page("PRJ", "web", "main", "/docs/a.md", pagelen=2)

    assert [(e.path, e.commit.hash) for e in entries] == [("docs/a.md", SHA), ("docs/a.md", "f" * 40)]
    assert cursor == "2"
    assert query() == {
        "until": ["main"],
        "path": ["docs/a.md"],
        "followRenames": ["true"],
        "limit": ["2"],
        "start": ["0"],
    }
    assert entries[0].commit.author.raw == "N F <nf@example.test>"


# ---- a commit's pull requests --------------------------------------------------------------------------------------
@responses.activate
def test_a_commits_pull_requests_are_every_page_of_the_listing(client):
    url = f"{REPO}/commits/{SHA}/pull-requests"
    responses.get(url, json=dc.page([dc.pull_request(3)], next_start=1))
    responses.get(url, json=dc.page([dc.pull_request(1, state="MERGED")], start=1))

    found = client.commit_pull_requests("PRJ", "web", SHA)

    assert [(pr.id, pr.state) for pr in found.pull_requests] == [(3, "OPEN"), (1, "MERGED")]
    assert found.indexing is False
    assert [query(i)["start"] for i in range(2)] == [["0"], ["1"]]


# ---- diffstats -----------------------------------------------------------------------------------------------------
CHANGES = [
    dc.change("new.py", "ADD"),
    dc.change("gone.py", "DELETE"),
    dc.change("moved/to.py", "MOVE", src="from.py"),
    dc.change("copy.py", "COPY", src="orig.py"),
    dc.change("same.py", "MODIFY"),
    dc.change("odd.py", "UNKNOWN"),
]


@responses.activate
def test_changes_become_diffstat_entries_without_line_counts(client):
    responses.get(f"{REPO}/compare/changes", json=dc.page(CHANGES))

    stats = list(client.iter_diffstat("PRJ", "web", "feature/x..main"))

    assert [(s.status, s.old_path, s.new_path) for s in stats] == [
        ("added", None, "new.py"),
        ("removed", "gone.py", None),
        ("renamed", "from.py", "moved/to.py"),
        ("added", None, "copy.py"),
        ("modified", "same.py", "same.py"),
        ("modified", "odd.py", "odd.py"),
    ]
    assert {(s.lines_added, s.lines_removed) for s in stats} == {(None, None)}
    assert query() == {"from": ["feature/x"], "to": ["main"], "limit": ["1000"], "start": ["0"]}


@responses.activate
@pytest.mark.parametrize(
    ("spec", "topic", "path", "params"),
    [
        (f"{SHA}..main", False, f"/commits/{SHA}/changes", {"since": ["main"]}),
        (SHA, True, f"/commits/{SHA}/changes", {}),
    ],
)
def test_a_tree_diffstat_and_a_commits_diffstat_read_the_commit_changes(client, spec, topic, path, params):
    responses.get(REPO + path, json=dc.page([dc.change("a.py")], next_start=1))
    responses.get(REPO + path, json=dc.page([dc.change("b.py")], start=1))

    assert [s.path for s in client.iter_diffstat("PRJ", "web", spec, topic=topic)] == ["a.py", "b.py"]
    assert query(0) == {**params, "limit": ["1000"], "start": ["0"]}


@responses.activate
def test_a_pull_request_diffstat_is_its_one_page_of_changes_with_conflicts_marked(client):
    conflict = {"ourChange": dc.change("x.py"), "theirChange": dc.change("x.py")}
    body = {
        **dc.page([dc.change("x.py", conflict=conflict), dc.change("y.py", "ADD")], next_start=2),
        "fromHash": SHA,
        "toHash": "f" * 40,
    }
    responses.get(f"{REPO}/pull-requests/2/changes", json=body)

    stats = list(client.iter_pull_request_diffstat("PRJ", "web", 2, ignore_whitespace=True))

    assert [(s.status, s.path, s.conflicted) for s in stats] == [
        ("merge conflict", "x.py", True),
        ("added", "y.py", False),
    ]
    assert len(responses.calls) == 1  # the server ignores `start`: one page is the whole answer


@responses.activate
def test_a_change_without_a_path_is_a_schema_error(client):
    responses.get(f"{REPO}/compare/changes", json=dc.page([{"type": "ADD"}]))
    with pytest.raises(BitbucketSchemaError):
        list(client.iter_diffstat("PRJ", "web", "a..b"))


# ---- builds --------------------------------------------------------------------------------------------------------
@responses.activate
def test_commit_statuses_come_from_the_build_status_api_one_per_key(client):
    responses.get(
        BUILDS,
        json=dc.page(
            [
                dc.legacy_build("unit", "FAILED", added_ms=dc.CREATED_MS + 2000),
                dc.legacy_build("lint", "CANCELLED"),
                dc.legacy_build("unit", "SUCCESSFUL", added_ms=dc.CREATED_MS),  # older: the listing repeats a key
                dc.legacy_build("flaky", "UNKNOWN"),
                dc.legacy_build("run", "INPROGRESS"),
            ],
            limit=100,
        ),
    )

    statuses = list(client.iter_commit_statuses("PRJ", "web", SHA))

    assert [(s.key, s.state) for s in statuses] == [("unit", "FAILED"), ("lint", "STOPPED"), ("run", "INPROGRESS")]
    unit = statuses[0]
    assert (unit.commit, unit.url, unit.name, unit.refname) == (
        SHA,
        "https://ci.example.test/unit/22",
        "unit #22",
        None,
    )
    assert unit.updated_on == unit.created_on == datetime(2018, 11, 8, 14, 25, 45, 31000, tzinfo=UTC)
    assert path_of() == f"/bitbucket/rest/build-status/1.0/commits/{SHA}"


@responses.activate
def test_rich_statuses_name_their_branch_and_refname_keeps_those_and_branchless_ones(client):
    responses.get(
        BUILDS,
        json=dc.page(
            [
                dc.legacy_build("a", ref="refs/heads/main", createdDate=dc.CREATED_MS, updatedDate=dc.CREATED_MS + 1),
                dc.legacy_build("b", ref="refs/heads/feature/x"),
                dc.legacy_build("c"),
            ]
        ),
    )

    statuses = list(client.iter_commit_statuses("PRJ", "web", SHA, refname="main"))

    assert [(s.key, s.refname) for s in statuses] == [("a", "main"), ("c", None)]
    assert statuses[0].updated_on > statuses[0].created_on


@responses.activate
def test_an_unheard_of_build_state_is_a_schema_error(client):
    responses.get(BUILDS, json=dc.page([dc.legacy_build("a", "PASSED")]))
    with pytest.raises(BitbucketSchemaError):
        list(client.iter_commit_statuses("PRJ", "web", SHA))


@pytest.mark.parametrize("commit", ["main", "../../api/1.0/users", SHA + "/x", ""])
def test_statuses_need_a_commit_hash_before_any_request(client, commit):
    with responses.RequestsMock() as mocked, pytest.raises(UnsafePath):
        list(client.iter_commit_statuses("PRJ", "web", commit))
    assert not mocked.calls


@responses.activate
def test_pull_request_statuses_are_those_of_its_source_commit(client):
    responses.get(f"{REPO}/pull-requests/2", json=dc.pull_request(2))
    responses.get(BUILDS, json=dc.page([dc.legacy_build("unit")]))

    (status,) = client.iter_pull_request_statuses("PRJ", "web", 2)

    assert (status.key, status.commit) == ("unit", SHA)
    assert len(responses.calls) == 2


# ---- the caller's permissions --------------------------------------------------------------------------------------
def _me_and_project(key: str = "PRJ", name: str = "Project PRJ") -> None:
    responses.get(f"{dc.API}/projects/{key}", json=dc.project(key, name=name), headers={"X-AUSERNAME": "JCitizen"})
    responses.get(f"{dc.API}/users/jcitizen", json=dc.user())


@responses.activate
@pytest.mark.parametrize(
    ("listing", "role"),
    [
        ({"PROJECT_ADMIN": ["PRJ"]}, "owner"),
        ({"PROJECT_ADMIN": ["PRJX"], "PROJECT_WRITE": ["PRJ"]}, "collaborator"),
        ({"PROJECT_READ": ["PRJ"]}, "member"),
        ({}, None),
    ],
)
def test_the_callers_project_role_is_the_highest_listing_that_names_the_project(client, listing, role):
    _me_and_project()
    for permission in ("PROJECT_ADMIN", "PROJECT_WRITE", "PROJECT_READ"):
        keys = listing.get(permission, [])
        responses.get(
            f"{dc.API}/projects",
            json=dc.page([dc.project(k, name=f"Project {k}") for k in keys]),
            match=[
                responses.matchers.query_param_matcher(
                    {"name": "Project PRJ", "permission": permission}, strict_match=False
                )
            ],
        )

    found = client.get_user_workspace_permission("PRJ")

    assert (found.permission, found.workspace_slug, found.user.account_id) == (role, "PRJ", "jcitizen")
    asked = [query(i).get("permission") for i in range(2, len(responses.calls))]
    stop = {"owner": 1, "collaborator": 2, "member": 3, None: 3}[role]
    assert asked == [["PROJECT_ADMIN"], ["PROJECT_WRITE"], ["PROJECT_READ"]][:stop]


@responses.activate
@pytest.mark.parametrize(("key", "role"), [("~JCITIZEN", "owner"), ("~OTHER", None)])
def test_a_personal_project_is_its_owners_alone(client, key, role):
    _me_and_project(key, name="Someone")

    assert client.get_user_workspace_permission(key).permission == role
    assert len(responses.calls) == 2


@responses.activate
def test_repository_permissions_are_each_repository_once_at_its_highest(client):
    listings = {
        "REPO_ADMIN": [dc.repository("ops", 3)],
        "REPO_WRITE": [dc.repository("ops", 3), dc.repository("web", 12)],
        "REPO_READ": [dc.repository("ops", 3), dc.repository("web", 12), dc.repository("old", 14, archived=True)],
    }
    for permission, repos in listings.items():
        responses.get(
            f"{dc.API}/repos",
            json=dc.page(repos),
            match=[responses.matchers.query_param_matcher({"permission": permission}, strict_match=False)],
        )

    found = [
        (p.repository.full_name, p.repository.uuid, p.permission)
        for p in client.iter_user_repository_permissions("PRJ")
    ]

    assert found == [
        ("PRJ/ops", f"{{repository-3@{dc.TAG}}}", "admin"),
        ("PRJ/web", f"{{repository-12@{dc.TAG}}}", "write"),
        ("PRJ/old", f"{{repository-14@{dc.TAG}}}", "read"),
    ]
    assert all(query(i)["projectkey"] == ["PRJ"] and query(i)["archived"] == ["ALL"] for i in range(3))


# ---- what stays out of reach ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda c: c.iter_watchers("PRJ", "web"), "has no listing"),
        (lambda c: c.iter_branch_restrictions("PRJ", "web"), "branch restrictions"),
        (lambda c: c.iter_default_reviewers("PRJ", "web"), "default reviewers"),
        (lambda c: c.get_effective_branching_model("PRJ", "web"), "branching model"),
        (lambda c: c.iter_commit_reports("PRJ", "web", SHA), "Code Insights"),
        (lambda c: c.approve("PRJ", "web", 1), "cannot approve a pull request"),
    ],
)
def test_what_data_center_is_not_read_for_says_so(client, call, words):
    with responses.RequestsMock() as mocked, pytest.raises(Unsupported) as refused:
        call(client)
    assert words in str(refused.value) and "Bitbucket Data Center" in str(refused.value)
    assert not mocked.calls
