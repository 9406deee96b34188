"""The Data Center client's newer reads against the emulator's Data Center site: the requests it makes are ones the
site answers, and the records hold what the demo seeded."""

import pytest

from bitbucket_sync.client import AuthError, BasicAuth, DataCenterClient, NotFound
from bitbucket_sync.client.datacenter import convert

REPO = ("PLAT", "api-gateway")


def client_of(emulator, who: str) -> DataCenterClient:
    user = next(u for u in emulator.datacenter_credentials["users"] if u["slug"] == who)
    return DataCenterClient(BasicAuth(user["name"], user["password"]), base_url=emulator.datacenter_url)


def git(emulator):
    return emulator.world.datacenter.repository(*REPO)


def test_ids_carry_the_emulated_sites_tag(emulator):
    client = client_of(emulator, "alice")
    repository = client.get_repository(*REPO)
    assert repository.uuid == f"{{repository-{git(emulator).id}@{client.site}}}"
    assert convert.native_id(repository.uuid) == str(git(emulator).id)


def test_pull_request_statuses_and_a_commits_builds(emulator):
    client = client_of(emulator, "bob")
    statuses = {s.key: s.state for s in client.iter_pull_request_statuses(*REPO, 2)}
    assert statuses == {"GW-UNIT": "SUCCESSFUL", "GW-LINT": "INPROGRESS"}
    (failed,) = client.iter_pull_request_statuses(*REPO, 3)
    assert (failed.state, failed.commit) == ("FAILED", git(emulator).pull_requests[3].from_hash)
    assert list(client.iter_commit_statuses(*REPO, "0" * 40)) == []


def test_logs_history_and_a_commits_pull_requests(emulator):
    client = client_of(emulator, "carol")
    tip = git(emulator).pull_requests[2].from_hash
    first, cursor = client.commit_log_page(*REPO, revision="feature/rate-limits", exclude=["main"], pagelen=1)
    rest, end = client.commit_log_page(*REPO, revision="feature/rate-limits", exclude=["main"], cursor=cursor)
    assert [c.hash for c in first] == [tip] and cursor == "1"
    assert [c.message for c in rest] == ["Raise the rate limit"] and end is None
    history, _ = client.file_history_page(*REPO, tip, "src/limits.py")
    assert [e.commit.message for e in history] == ["Raise the rate limit", "Initial commit"]
    assert [pr.id for pr in client.commit_pull_requests(*REPO, tip).pull_requests] == [2]


def test_file_meta_and_diffstats(emulator):
    client = client_of(emulator, "carol")
    meta = client.get_file_meta(*REPO, "main", "src/limits.py")
    assert (meta.is_dir, meta.size) == (False, len(b"LIMIT = 100\n"))
    assert client.get_file_meta(*REPO, "main", "src").is_dir
    with pytest.raises(NotFound):
        client.get_file_meta(*REPO, "main", "src/nope.py")
    expected = [("added", "docs/limits.md"), ("modified", "src/limits.py")]
    assert [(s.status, s.path) for s in client.iter_pull_request_diffstat(*REPO, 2)] == expected
    assert [(s.status, s.path) for s in client.iter_diffstat(*REPO, "feature/rate-limits..main")] == expected
    tip, main = git(emulator).pull_requests[2].from_hash, git(emulator).git.branches["main"]
    assert {s.path for s in client.iter_diffstat(*REPO, f"{tip}..{main}", topic=False)} >= {"src/limits.py"}
    assert [s.path for s in client.iter_diffstat(*REPO, tip)] == ["docs/limits.md"]


@pytest.mark.parametrize(
    ("who", "role", "repos"),
    [
        ("alice", "owner", {"api-gateway": "admin", "deploy-tools": "admin", "legacy-scripts": "admin"}),
        ("bob", "collaborator", {"api-gateway": "write", "deploy-tools": "write", "legacy-scripts": "write"}),
        ("carol", "member", {"api-gateway": "read", "deploy-tools": "read", "legacy-scripts": "read"}),
        ("dave", None, {"api-gateway": "read"}),
    ],
)
def test_the_callers_project_role_and_repository_permissions(emulator, who, role, repos):
    client = client_of(emulator, who)
    assert client.get_user_workspace_permission("PLAT").permission == role
    found = {
        p.repository.full_name.split("/")[1]: p.permission for p in client.iter_user_repository_permissions("PLAT")
    }
    assert found == repos


def test_a_personal_project_is_its_owners(emulator):
    assert client_of(emulator, "alice").get_user_workspace_permission("~alice").permission == "owner"
    with pytest.raises(AuthError):  # nobody else sees alice's personal project at all
        client_of(emulator, "bob").get_user_workspace_permission("~alice")
