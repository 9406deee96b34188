"""Paths and refs from URLs, forms and Bitbucket data cannot step out of the repository they name.

The hole: `/acme/api-server/src/<ref>/..%2f..%2f..%2f..%2falice-labs%2fexperiments%2fsrc%2fmain%2fREADME.md` made the
client request `/repositories/acme/api-server/src/<ref>/../../../../alice-labs/...`, which requests collapses into
another workspace's file, read with the viewer's credential.
"""

import pytest
import responses

from bitbucket_sync.client import ApiToken, BitbucketClient, UnsafePath
from bitbucket_sync.client.paths import stays_under
from bitbucket_sync.models import AuditEvent, RequestLedgerEntry

ATTACK = "/acme/api-server/src/main/..%2f..%2f..%2f..%2falice-labs%2fexperiments%2fsrc%2fmain%2fREADME.md"
SPELLINGS = {
    "encoded-slashes": ATTACK,
    "raw-dot-dot": "/acme/api-server/src/main/../../../../alice-labs/experiments/src/main/README.md",
    "encoded-dots": "/acme/api-server/src/main/%2e%2e/%2e%2e/%2e%2e/%2e%2e/alice-labs/experiments/src/main/README.md",
    "double-encoded": "/acme/api-server/src/main/%252e%252e%252f%252e%252e%252falice-labs/experiments/README.md",
    "backslashes": "/acme/api-server/src/main/..%5c..%5c..%5c..%5calice-labs%5cexperiments%5cREADME.md",
    "dot-as-ref": "/acme/api-server/src/../../../alice-labs/experiments/src/main/README.md",
    "single-dot": "/acme/api-server/src/main/./README.md",
    "empty-segment": "/acme/api-server/src/main//README.md",
}


def _last_request_id() -> int:
    return RequestLedgerEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _other_workspace_requests(*, after: int) -> list[str]:
    """Requests naming the other workspace since `after` (building the demo world reads alice's access to it)."""
    rows = RequestLedgerEntry.objects.filter(pk__gt=after, path__contains="alice-labs")
    return list(rows.values_list("path", flat=True))


@pytest.mark.parametrize("username", ["bob", "alice"])
def test_source_browser_attack_url_is_404_without_a_request(client, demo_mirror, username):
    """bob sees api-server but not alice-labs; alice sees both, and must not be made to read one through the other."""
    client.force_login(demo_mirror.users[username])
    before = _last_request_id()
    response = client.get(ATTACK)
    assert response.status_code == 404
    assert "Alice's scratch space" not in response.content.decode()
    assert _other_workspace_requests(after=before) == []


@pytest.mark.parametrize("url", list(SPELLINGS.values()), ids=list(SPELLINGS))
def test_source_browser_dot_segments_in_any_spelling_are_404(client, demo_mirror, url):
    client.force_login(demo_mirror.users["alice"])
    before = RequestLedgerEntry.objects.count()
    assert client.get(url).status_code == 404
    assert RequestLedgerEntry.objects.count() == before  # refused before anything was sent


# --- the client refuses on its own ----------------------------------------------------------------------------------

BASE = "http://bitbucket.test/2.0"


@pytest.fixture
def bb():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        client = BitbucketClient(ApiToken("ada@example.com", "token"), base_url=BASE)
        yield client, mock
        assert len(mock.calls) == 0


@pytest.mark.parametrize(
    "path",
    [
        "../../../../alice-labs/experiments/src/main/README.md",
        "docs/../../x",
        "./README.md",
        "docs//a.md",
        "docs/%2e%2e/a.md",
        "docs/%2E%2e%2fa.md",
        "docs/..%5ca.md",
        "docs\\..\\a.md",
        "docs/%252e%252e/a.md",
        "..",
    ],
)
def test_client_file_reads_refuse_dot_segments_before_any_request(bb, path):
    client, _ = bb
    for read in (client.get_file, client.get_file_meta):
        with pytest.raises(UnsafePath):
            read("acme", "api-server", "main", path)
    with pytest.raises(UnsafePath):
        client.iter_directory("acme", "api-server", "main", path)
    with pytest.raises(UnsafePath):
        client.commit_files("acme", "api-server", branch="main", message="m", delete=[path], parents=["a" * 40])
    with pytest.raises(UnsafePath):
        client.commit_files("acme", "api-server", branch="main", message="m", files={path: b"x"}, parents=["a" * 40])


@pytest.mark.parametrize("ref", ["..", ".", "", "main/../../..", "%2e%2e", "a%2fb", "a\\b", "x//y"])
def test_client_refs_refuse_dot_segments_before_any_request(bb, ref):
    client, _ = bb
    with pytest.raises(UnsafePath):
        client.get_file("acme", "api-server", ref, "README.md")
    with pytest.raises(UnsafePath):
        client.get_branch("acme", "api-server", ref)
    with pytest.raises(UnsafePath):
        client.get_commit("acme", "api-server", ref)
    with pytest.raises(UnsafePath):
        client.get_diff("acme", "api-server", ref)
    with pytest.raises(UnsafePath):
        list(client.iter_commits("acme", "api-server", branch=ref))


@pytest.mark.parametrize("slug", ["..", ".", "", "alice-labs/experiments", "%2e%2e", "a\\b"])
def test_client_slugs_refuse_dot_segments_and_slashes_before_any_request(bb, slug):
    client, _ = bb
    with pytest.raises(UnsafePath):
        client.get_repository("acme", slug)
    with pytest.raises(UnsafePath):
        client.get_repository(slug, "api-server")
    with pytest.raises(UnsafePath):
        list(client.iter_members(slug))


@pytest.mark.parametrize(
    ("url", "inside"),
    [
        (f"{BASE}/repositories/acme/api/src/main/README.md", True),
        (f"{BASE}/repositories/acme/api/refs/branches/feature%2Fx", True),
        (f"{BASE}/repositories/acme/api", True),
        (f"{BASE}/repositories/acme/api/src/main/../../../../alice-labs/experiments/src/main/README.md", False),
        (f"{BASE}/repositories/acme/api/src/main/..%2F..%2F..%2F..%2Falice-labs%2Fexperiments", False),
        (f"{BASE}/repositories/acme/api/src/%2e%2e/%2e%2e/%2e%2e/x", False),
        (f"{BASE}/repositories/acme/api-other/src/main/README.md", False),
        ("http://elsewhere.test/2.0/repositories/acme/api/src/main/README.md", False),
    ],
)
def test_stays_under_reads_the_url_as_sent_and_as_served(url, inside):
    assert stays_under(url, f"{BASE}/repositories/acme/api") is inside


# --- edit, delete and branch forms ----------------------------------------------------------------------------------


@pytest.fixture
def bob(client, demo_mirror):
    client.force_login(demo_mirror.users["bob"])
    return demo_mirror


@pytest.mark.parametrize("view", ["edit", "delete"])
@pytest.mark.parametrize(
    "query",
    [
        "path=../../../../alice-labs/experiments/src/main/README.md",
        "path=docs/%252e%252e/x",
        "path=a/./b",
        "branch=main/../../..&path=README.md",
        "branch=..&path=README.md",
    ],
)
def test_file_edit_and_delete_pages_refuse_dot_segments_in_the_url(client, bob, view, query):
    before = RequestLedgerEntry.objects.count()
    assert client.get(f"/acme/api-server/{view}?{query}").status_code == 404
    assert RequestLedgerEntry.objects.count() == before


def _commit_form(bob, **fields) -> dict:
    tip = bob.repositories["api-server"].branches.get(name="main").target_hash
    return {
        "idempotency_key": "k-" + "-".join(f"{k}{len(str(v))}" for k, v in sorted(fields.items())),
        "branch": "main",
        "parent": tip,
        "path": "README.md",
        "message": "Remove it",
        "target": "branch",
        **fields,
    }


@pytest.mark.parametrize("path", ["../../../../alice-labs/experiments/src/main/README.md", "docs/./a.md", "a\\b.md"])
def test_file_delete_post_refuses_dot_segments_with_input_intact(client, bob, path):
    before = RequestLedgerEntry.objects.count()
    response = client.post("/acme/api-server/delete", _commit_form(bob, path=path))
    assert response.status_code == 200
    assert response.context["form"].errors["path"]
    assert response.context["form"].data["message"] == "Remove it"
    assert RequestLedgerEntry.objects.count() == before
    assert not AuditEvent.objects.filter(action="file.commit", result="success").exists()


@pytest.mark.parametrize("view", ["edit", "delete"])
@pytest.mark.parametrize("branch", ["main/../../x", "..", "a%2fb", "a\\b"])
def test_commit_forms_refuse_a_bad_branch(client, bob, view, branch):
    before = RequestLedgerEntry.objects.count()
    data = _commit_form(bob, branch=branch, content="changed\n")
    response = client.post(f"/acme/api-server/{view}", data)
    assert response.status_code == 200
    assert response.context["form"].errors["branch"]
    assert RequestLedgerEntry.objects.count() == before


@pytest.mark.parametrize("target", ["main/../../x", "%2e%2e", "a\\b"])
def test_branch_create_refuses_a_bad_target(client, bob, target):
    before = RequestLedgerEntry.objects.count()
    response = client.post(
        "/acme/api-server/branches/new",
        {"idempotency_key": "k-branch", "prefix": "feature/", "name": "new-thing", "target": target},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["target"]
    assert response.context["form"].data["name"] == "new-thing"
    assert RequestLedgerEntry.objects.count() == before


def test_file_edit_post_enforces_the_size_limit(client, bob):
    from bitbucket_sync.actions import EDIT_MAX_BYTES

    before = RequestLedgerEntry.objects.count()
    data = _commit_form(bob, content="x" * (EDIT_MAX_BYTES + 1), original_digest="", is_new="")
    response = client.post("/acme/api-server/edit", data)
    assert response.status_code == 200
    assert "edited with git" in " ".join(response.context["form"].errors["content"])
    assert RequestLedgerEntry.objects.count() == before


@pytest.mark.parametrize("param", ["source", "destination"])
def test_pull_request_create_refuses_a_bad_branch_in_the_url(client, bob, param):
    before = RequestLedgerEntry.objects.count()
    assert client.get(f"/acme/api-server/pull-requests/new?{param}=main/../../../x").status_code == 404
    assert RequestLedgerEntry.objects.count() == before


@pytest.mark.parametrize("commit", ["../../../alice-labs", "main", "abc/..", "%2e%2e"])
def test_commit_hashes_from_forms_must_be_hashes(commit):
    from dashboard.forms.writes import FileDeleteForm, MergeForm

    merge = MergeForm(
        {"idempotency_key": "k", "strategy": "merge_commit", "expected_source_commit": commit},
        strategies=["merge_commit"],
    )
    assert not merge.is_valid() and "expected_source_commit" in merge.errors
    delete = FileDeleteForm(
        {"idempotency_key": "k", "branch": "main", "parent": commit, "path": "README.md", "target": "branch"}
    )
    assert not delete.is_valid() and "parent" in delete.errors
