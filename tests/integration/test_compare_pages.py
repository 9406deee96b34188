"""The compare page and the branches page's ahead/behind, against the emulator over HTTP with the viewer's own
credential: real counts, cached by the pair of tips, read only for the rows shown, stopped at the budget reserve."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from bitbucket_sync.models import Branch, RequestLedgerEntry

HX = {"HTTP_HX_REQUEST": "true"}
R = "/acme/api-server"


def _api_requests(emu, username: str = "alice") -> int:
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


def _expected(emu, tip: str, base: str) -> tuple[int, int]:
    world = emu.world
    repo = world.repository("acme", "api-server")
    return len(world.log(repo, [tip], [base])), len(world.log(repo, [base], [tip]))


@pytest.fixture
def alice(client, demo_mirror):
    cache.clear()
    client.force_login(demo_mirror.users["alice"])
    # The branching model (which branch the others are counted against), read once and cached for ten minutes:
    # what the branches page costs by itself is measured below; here the counts alone are.
    client.get(f"{R}/branches/")
    return demo_mirror


def _branch(name: str) -> Branch:
    return Branch.objects.get(repository__slug="api-server", name=name)


def _cell(client, name: str):
    return client.get(f"{R}/branches/ahead-behind", {"branch": name}, **HX)


def test_branches_page_cells_ask_lazily_and_never_show_a_question_mark(client, alice):
    cache.clear()
    before = _api_requests(alice.emulator)
    page = client.get(f"{R}/branches/")
    text = page.content.decode()
    table = text[text.index("<table") : text.index("</table>")]
    assert page.status_code == 200 and ">?<" not in table  # no cell says "?" (the shortcuts sheet may: `?` key)
    assert 'hx-trigger="revealed"' in text and "counting…" in text
    # The page itself asks Bitbucket for the branching model only, once in ten minutes.
    assert _api_requests(alice.emulator) == before + 1
    client.get(f"{R}/branches/")
    assert _api_requests(alice.emulator) == before + 1


def test_counts_are_against_the_branching_models_development_branch(client, demo_mirror):
    """mobile-app's model develops on `develop`: its branches are counted against it, and the page says so."""
    cache.clear()
    client.force_login(demo_mirror.users["alice"])
    page = client.get("/acme/mobile-app/branches/").content.decode()
    assert "not on develop" in page
    form = client.get("/acme/mobile-app/branches/compare/", {"source": "main"})
    assert form.status_code == 302 and form["Location"].endswith("/branches/compare/main..develop")


def test_ahead_behind_cell_reads_real_counts_once_per_pair_of_tips(client, alice):
    emu = alice.emulator
    branch, main = _branch("feature/refund-endpoint"), _branch("main")
    ahead, behind = _expected(emu, branch.target_hash, main.target_hash)
    before = _api_requests(emu)
    cell = _cell(client, branch.name)
    text = cell.content.decode()
    assert cell.status_code == 200 and text.strip().startswith("<td")
    assert f">{ahead} · {behind}</a>" in text and "hx-get" not in text
    assert _api_requests(emu) == before + 2
    # The same pair again, as a cell or on the page: from the cache.
    assert f">{ahead} · {behind}</a>" in _cell(client, branch.name).content.decode()
    assert f">{ahead} · {behind}</a>" in client.get(f"{R}/branches/").content.decode()
    assert _api_requests(emu) == before + 2


def test_a_moved_tip_is_a_new_pair_and_is_read_again(client, alice):
    emu = alice.emulator
    name = "feature/refund-endpoint"
    _cell(client, name)
    emu.world.commit_files("acme", "api-server", name, "bob", {"more.txt": "more\n"})
    new_tip = emu.world.repository("acme", "api-server").branches[name]
    Branch.objects.filter(pk=_branch(name).pk).update(target_hash=new_tip)  # what the next sync writes
    ahead, behind = _expected(emu, new_tip, _branch("main").target_hash)
    before = _api_requests(emu)
    assert f">{ahead} · {behind}</a>" in _cell(client, name).content.decode()
    assert _api_requests(emu) == before + 2


def test_counts_past_one_page_show_as_100_plus(client, alice):
    emu = alice.emulator
    world = emu.world
    with world.lock:
        repo = world.repository("acme", "api-server")
        world.create_branch(repo, "feature/long", repo.branches["main"], None)
        for i in range(101):
            world.commit_files("acme", "api-server", "feature/long", "bob", {"long.txt": f"{i}\n"})
        tip = repo.branches["feature/long"]
    main = _branch("main")
    Branch.objects.create(repository=main.repository, name="feature/long", target_hash=tip)
    assert ">100+ · 0</a>" in _cell(client, "feature/long").content.decode()


def test_main_branch_cell_is_a_dash_without_a_request(client, alice):
    before = _api_requests(alice.emulator)
    assert "—" in _cell(client, "main").content.decode()
    assert _api_requests(alice.emulator) == before


def test_unknown_with_bitbucket_reason_when_it_cannot_say(client, alice):
    branch = _branch("feature/refund-endpoint")
    Branch.objects.filter(pk=branch.pk).update(target_hash="0" * 40)  # a tip Bitbucket does not have
    text = _cell(client, branch.name).content.decode()
    assert "unknown" in text and "Bitbucket found nothing here (404)" in text


def test_a_tip_the_mirror_does_not_hold_is_unknown_without_a_request(client, alice):
    branch = _branch("feature/refund-endpoint")
    Branch.objects.filter(pk=branch.pk).update(target_hash="")
    before = _api_requests(alice.emulator)
    text = _cell(client, branch.name).content.decode()
    assert "unknown" in text and "after the next sync" in text
    assert _api_requests(alice.emulator) == before


def test_reads_stop_at_the_budget_reserve_and_say_so(client, alice, settings):
    settings.BBDASH_BUDGET_RESERVE_PERCENT = 30
    credential = alice.credentials["alice"]
    now = timezone.now() - timedelta(minutes=5)
    RequestLedgerEntry.objects.bulk_create(
        RequestLedgerEntry(credential=credential, at=now, method="GET", family="repositories", path="/x", status=200)
        for _ in range(700)
    )
    before = _api_requests(alice.emulator)
    text = _cell(client, "feature/refund-endpoint").content.decode()
    assert "not read: keeping 300 requests for your actions" in text
    assert _api_requests(alice.emulator) == before


def test_unknown_branch_cell_is_404(client, alice):
    assert _cell(client, "no/such-branch").status_code == 404


def test_compare_page_shows_both_sides_merge_base_diff_and_create_pull_request(client, alice):
    emu = alice.emulator
    world = emu.world
    with world.lock:
        repo = world.repository("acme", "api-server")
        world.create_branch(repo, "feature/compare-me", repo.branches["main"], None)
        world.commit_files("acme", "api-server", "feature/compare-me", "bob", {"compare.txt": "hello compare\n"})
        fork = world.merge_base(repo, repo.branches["feature/compare-me"], repo.branches["main"])
    before = _api_requests(emu)
    page = client.get(f"{R}/branches/compare/feature/compare-me..main")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="compare-ahead">1<' in text and 'id="compare-behind">0<' in text
    assert "Commits on feature/compare-me not on main" in text
    assert fork[:12] in text and "compare.txt" in text and "hello compare" in text
    assert f"{R}/pull-requests/new?source=feature%2Fcompare-me&amp;destination=main" in text
    cold = _api_requests(emu) - before
    assert cold <= 7
    again = client.get(f"{R}/branches/compare/feature/compare-me..main")
    assert again.status_code == 200 and _api_requests(emu) - before == cold  # tips and pair cached


def test_compare_with_nothing_ahead_offers_no_pull_request(client, alice):
    world = alice.emulator.world
    with world.lock:
        repo = world.repository("acme", "api-server")
        world.create_branch(repo, "merged-already", repo.commits[repo.branches["main"]].parents[0], None)
    text = client.get(f"{R}/branches/compare/merged-already..main").content.decode()
    assert 'id="compare-ahead">0<' in text and "Create pull request" not in text
    assert "Nothing on" in text


def test_compare_hashes_and_a_tag(client, alice):
    emu = alice.emulator
    repo = emu.world.repository("acme", "api-server")
    main = repo.branches["main"]
    parent = repo.commits[main].parents[0]
    repo.tags["v-compare"] = parent
    by_hash = client.get(f"{R}/branches/compare/{main}..{parent[:12]}").content.decode()
    assert 'id="compare-ahead">1<' in by_hash and "Create pull request" not in by_hash  # hashes are no branches
    by_tag = client.get(f"{R}/branches/compare/main..v-compare").content.decode()
    assert 'id="compare-ahead">1<' in by_tag


def test_compare_unknown_ref_says_why_without_a_500(client, alice):
    page = client.get(f"{R}/branches/compare/no-such-branch..main")
    assert page.status_code == 200 and "Bitbucket found nothing here (404)" in page.content.decode()


def test_compare_form_goes_to_the_compare_url_and_keeps_bad_input(client, alice):
    one = client.get(f"{R}/branches/compare/", {"source": "feature/refund-endpoint"})
    assert one.status_code == 302 and one.url == f"{R}/branches/compare/feature/refund-endpoint..main"
    bad = client.get(f"{R}/branches/compare/", {"source": "a..b", "destination": "main"})
    assert bad.status_code == 200 and "Not a branch, tag or commit hash" in bad.content.decode()
    empty = client.get(f"{R}/branches/compare/")
    assert empty.status_code == 200 and 'list="id_source-options"' in empty.content.decode()


def test_branches_page_links_to_compare(client, alice):
    text = client.get(f"{R}/branches/").content.decode()
    assert f'href="{R}/branches/compare/"' in text
    assert f'href="{R}/branches/compare/?source=feature%2Frefund-endpoint"' in text


def test_compare_page_counts_warm_the_branches_page(client, alice):
    client.get(f"{R}/branches/compare/feature/refund-endpoint..main")
    before = _api_requests(alice.emulator)
    text = _cell(client, "feature/refund-endpoint").content.decode()
    assert "</a></td>" in text and "counting" not in text
    assert _api_requests(alice.emulator) == before
