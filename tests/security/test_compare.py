"""Comparing refs: the refs in a compare URL are validated, other people's repositories are 404 (pages and
fragments), branch names are inert text, and counts read with one credential are never shown to another."""

import pytest
from django.core.cache import cache
from django.http import Http404

from bitbucket_sync.models import Branch
from dashboard.selectors.compare import split_spec

HX = {"HTTP_HX_REQUEST": "true"}
R = "/acme/api-server"


def _api_requests(emu, username: str) -> int:
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


@pytest.fixture
def world(client, demo_mirror):
    cache.clear()
    return demo_mirror


@pytest.mark.parametrize(
    "spec",
    [
        "main",  # no range
        "main..",
        "..main",
        "main...feature",  # the second side would start with '.'
        "feature/../main..main",
        "main/..%2f..main",
        "main..a/../../b",
        "main..%2e%2e",
        "main..-rf",
        "main..a b",
        "main..a\x00b",
        "main..x" + "y" * 300,
        "main..feature/x.lock",
        "main..a@{1}",
    ],
)
def test_bad_compare_specs_are_refused(spec):
    with pytest.raises(Http404):
        split_spec(spec)


def test_dot_dot_splits_once_and_hashes_are_refs():
    assert split_spec("feature/x..main") == ("feature/x", "main")
    assert split_spec("0123abc..89abcdef" + "0" * 32) == ("0123abc", "89abcdef" + "0" * 32)


@pytest.mark.parametrize("path", ["main..%2e%2e", "main..feature%2f..%2f..", "..main", "main%2f..%2fmain..main"])
def test_bad_compare_urls_are_404_and_send_nothing(client, world, path):
    client.force_login(world.users["alice"])
    before = _api_requests(world.emulator, "alice")
    assert client.get(f"{R}/branches/compare/{path}").status_code == 404
    assert _api_requests(world.emulator, "alice") == before


@pytest.mark.parametrize("hx", [{}, HX])
def test_a_repository_the_user_cannot_see_is_404(client, world, hx):
    client.force_login(world.users["bob"])  # bob's credential cannot read acme/infra
    before = _api_requests(world.emulator, "bob")
    assert client.get("/acme/infra/branches/compare/main..main", **hx).status_code == 404
    assert client.get("/acme/infra/branches/compare/", {"source": "main"}, **hx).status_code == 404
    assert client.get("/acme/infra/branches/ahead-behind", {"branch": "main"}, **hx).status_code == 404
    assert _api_requests(world.emulator, "bob") == before


def test_branch_names_are_inert_text(client, world):
    evil = 'x"><img/src/onerror=alert(1)>'
    emu = world.emulator
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        emu.world.create_branch(repo, evil, repo.branches["main"], None)
        emu.world.commit_files("acme", "api-server", evil, "bob", {"evil.txt": "x\n"})
        tip = repo.branches[evil]
    Branch.objects.create(repository=world.repo("api-server"), name=evil, target_hash=tip)
    client.force_login(world.users["alice"])
    pages = [
        client.get(f"{R}/branches/"),
        client.get(f"{R}/branches/ahead-behind", {"branch": evil}, **HX),
        client.get(f"{R}/branches/compare/{evil}..main"),
    ]
    for page in pages:
        text = page.content.decode()
        assert page.status_code == 200
        assert "<img" not in text and "&lt;img/src/onerror=alert(1)&gt;" in text


def test_counts_read_with_one_credential_are_not_shown_to_another(client, world):
    client.force_login(world.users["alice"])
    cell = client.get(f"{R}/branches/ahead-behind", {"branch": "feature/refund-endpoint"}, **HX)
    assert "counting" not in cell.content.decode()
    client.force_login(world.users["bob"])
    page = client.get(f"{R}/branches/").content.decode()
    row = page[page.index("feature/refund-endpoint</a>") :]
    assert row[: row.index("</td>", row.index("ahead-behind"))].count("counting…") == 1
