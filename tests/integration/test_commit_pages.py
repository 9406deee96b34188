"""The commit log, a commit's page and a file's history against the emulator over HTTP, read with the viewer's own
credential: filters, cursor pages, merges, build states and pull requests from the mirror, the diff through the
shared renderer, and what each view costs in requests to Bitbucket (a second view of a commit costs none)."""

import pytest
from django.core.cache import cache

from bitbucket_emulator.controls.insights import post_pull_request_report
from bitbucket_emulator.world.statuses import set_status
from bitbucket_sync.models import PullRequest
from tests import factories as f

HX = {"HTTP_HX_REQUEST": "true"}


def _reads(emu, username: str = "alice") -> int:
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


@pytest.fixture
def alice(client, demo_mirror):
    client.force_login(demo_mirror.users["alice"])
    return demo_mirror


def test_commit_log_of_the_main_branch_lists_commits_newest_first(client, alice):
    response = client.get("/acme/api-server/commits/")
    assert response.status_code == 200
    log = response.context["log"]
    tip = alice.emulator.world.repository("acme", "api-server").branches["main"]
    assert log.head == tip and log.rows[0].commit.hash == tip
    dates = [r.commit.date for r in log.rows]
    assert dates == sorted(dates, reverse=True)
    text = response.content.decode()
    assert f'href="/acme/api-server/commits/{tip}"' in text
    assert 'aria-current="page">Commits</a>' in text


def test_commit_log_of_a_branch_with_a_slash_and_bitbuckets_branch_path(client, alice):
    world = alice.emulator.world
    tip = world.repository("acme", "api-server").branches["release/1.4"]
    for url in ("/acme/api-server/commits/release/1.4", "/acme/api-server/commits/branch/release/1.4"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.context["target"].ref == "release/1.4"
        assert response.context["log"].rows[0].commit.hash == tip


def test_commit_log_pages_by_bitbuckets_cursor(client, alice):
    for i in range(35):
        alice.emulator.world.commit_files("acme", "api-server", "main", "bob", {"n.txt": f"{i}\n"}, f"Step {i}")
    cache.clear()
    first = client.get("/acme/api-server/commits/main")
    log = first.context["log"]
    assert len(log.rows) == 30 and log.next_cursor
    older_url = f"?page={log.next_cursor}&amp;at={log.head}"
    assert older_url in first.content.decode()
    # A push after the first page: the older page still continues that first page, and needs no tip.
    alice.emulator.world.commit_files("acme", "api-server", "main", "bob", {"n.txt": "later\n"}, "Later")
    before = _reads(alice.emulator)
    second = client.get(f"/acme/api-server/commits/main?page={log.next_cursor}&at={log.head}", **HX)
    assert _reads(alice.emulator) - before == 1
    assert second.status_code == 200 and b"<html" not in second.content
    older = second.context["log"].rows
    assert older and not {r.commit.hash for r in older} & {r.commit.hash for r in log.rows}
    assert (
        older[0].commit.hash
        == alice.emulator.world.repository("acme", "api-server").commits[log.rows[-1].commit.hash].parents[0]
    )
    assert client.get(f"/acme/api-server/commits/main?page={log.next_cursor}&at=main").status_code == 404
    assert client.get("/acme/api-server/commits/main?page=a%26path%3Dx").status_code == 404


def test_commit_log_filters_by_path_on_bitbucket_and_by_author_on_the_page(client, alice):
    world = alice.emulator.world
    docs = world.commit_files("acme", "api-server", "main", "bob", {"docs/only.md": "x\n"}, "Docs by Bob")
    world.commit_files("acme", "api-server", "main", "alice", {"other.txt": "x\n"}, "Other by Alice")
    cache.clear()
    by_path = client.get("/acme/api-server/commits/main?path=docs/only.md").context["log"]
    assert [r.commit.hash for r in by_path.rows] == [docs.hash]
    by_author = client.get("/acme/api-server/commits/main?author=bob brown").context["log"]
    assert by_author.rows and all("Bob" in r.author_name for r in by_author.rows)
    assert by_author.read > len(by_author.rows)
    text = client.get("/acme/api-server/commits/main?author=bob").content.decode()
    assert "Bitbucket cannot filter commits by author" in text


def test_commit_log_marks_merges_and_shows_pull_request_tips_with_their_builds(client, alice):
    pr = PullRequest.objects.get(repository__slug="api-server", title="Raise the default page size")
    pr.build_state, pr.statuses_synced_for = "FAILED", pr.source_commit
    pr.save(update_fields=["build_state", "statuses_synced_for"])
    world = alice.emulator.world
    repo = world.repository("acme", "api-server")
    merge = world.make_commit(
        repo,
        [repo.branches["main"], repo.branches["feature/raise-page-size"]],
        dict(repo.commits[repo.branches["feature/raise-page-size"]].tree),
        "Merge it",
        None,
    )
    world.move_branch(repo, "main", merge.hash, None)
    cache.clear()
    before = _reads(alice.emulator)
    response = client.get("/acme/api-server/commits/main")
    assert _reads(alice.emulator) - before == 2  # the tip, then one page: nothing per row
    rows = {r.commit.hash: r for r in response.context["log"].rows}
    assert rows[merge.hash].is_merge
    tip_row = next(r for h, r in rows.items() if h.startswith(pr.source_commit))
    assert [(kind, p.number) for kind, p in tip_row.pull_requests] == [("tip", pr.number)]
    assert tip_row.build is not None and tip_row.build.word == "failed"
    assert f'href="/acme/api-server/pull-requests/{pr.number}"' in response.content.decode()


def test_commit_page_shows_message_parents_diff_builds_reports_and_pull_requests(client, alice):
    emu = alice.emulator
    pr = PullRequest.objects.get(repository__slug="api-server", title="Raise the default page size")
    tip = emu.world.repository("acme", "api-server").branches["feature/raise-page-size"]
    set_status(emu.world, "acme", "api-server", "ci", "SUCCESSFUL", commit=tip, name="Unit tests")
    post_pull_request_report(
        emu.world,
        workspace="acme",
        repo_slug="api-server",
        pr_id=pr.number,
        report={"external_id": "lint", "title": "Lint", "report_type": "BUG", "result": "PASSED"},
    )
    cache.clear()
    before = _reads(emu)
    response = client.get(f"/acme/api-server/commits/{tip}")
    cold = _reads(emu) - before
    assert response.status_code == 200
    detail = response.context["detail"]
    assert detail.commit.hash == tip and detail.parents
    assert [file.path for file in detail.files] and "PAGE_SIZE" in response.content.decode()
    assert ("Unit tests", "passed") in [(b.name, b.state_word) for b in detail.builds]
    assert "Lint" in [v.report.title for v in detail.reports]
    assert pr.number in {p.id for p in detail.live_pull_requests}
    text = response.content.decode()
    assert f'href="/acme/api-server/commits/{detail.parents[0]}"' in text
    assert 'class="diff-file"' in text
    # commit, diff, statuses, reports and one request per report (its annotations), pull requests
    assert cold == 5 + len(detail.reports)
    before = _reads(emu)
    again = client.get(f"/acme/api-server/commits/{tip}")
    assert again.status_code == 200 and _reads(emu) == before  # cached by hash: free the second time
    # The log now shows the builds the commit page read, at no cost.
    log = client.get("/acme/api-server/commits/feature/raise-page-size").context["log"]
    statuses = {b.status for b in detail.builds}
    worst = next(s for s in ("red", "pending", "green") if s in statuses)
    assert log.rows[0].build is not None and log.rows[0].build.status == worst


def test_commit_page_without_bitbuckets_commit_links_says_so(client, alice):
    emu = alice.emulator
    emu.controls.commit_links["acme/api-server"] = 404
    tip = emu.world.repository("acme", "api-server").branches["main"]
    response = client.get(f"/acme/api-server/commits/{tip}")
    assert response.status_code == 200
    assert response.context["detail"].live_pull_requests is None
    assert "Bitbucket has not indexed" in response.content.decode()
    emu.controls.commit_links["acme/api-server"] = 202
    cache.clear()
    indexing = client.get(f"/acme/api-server/commits/{tip}")
    assert indexing.context["detail"].indexing and "still indexing" in indexing.content.decode()


def test_a_short_hash_opens_the_commit_unless_a_branch_has_that_name(client, alice):
    world = alice.emulator.world
    repo = world.repository("acme", "api-server")
    tip, other = repo.branches["main"], repo.branches["release/1.4"]
    response = client.get(f"/acme/api-server/commits/{tip[:12]}")
    assert response.status_code == 200 and response.context["detail"].commit.hash == tip
    # A branch named like a hash wins over the commit, as Bitbucket's own `/commits/<name>` does.
    world.create_branch(repo, tip[:12], other, None)
    f.branch(alice.repositories["api-server"], tip[:12], target_hash=other)  # as the sync would mirror it
    log = client.get(f"/acme/api-server/commits/{tip[:12]}").context["log"]
    assert log.target.is_branch and log.head == other


def test_unknown_commit_or_ref_is_404(client, alice):
    assert client.get("/acme/api-server/commits/" + "0" * 40).status_code == 404
    assert client.get("/acme/api-server/commits/no-such-branch").status_code == 404


def test_file_history_from_the_source_browser(client, alice):
    world = alice.emulator.world
    first = world.commit_files("acme", "api-server", "main", "bob", {"guide.txt": "one\n"}, "Add guide")
    moved = world.commit_files("acme", "api-server", "main", "bob", {"guide.md": "one\n", "guide.txt": None}, "Move")
    cache.clear()
    source = client.get("/acme/api-server/src/main/guide.md").content.decode()
    assert 'href="/acme/api-server/history/main/guide.md"' in source
    response = client.get("/acme/api-server/history/main/guide.md")
    assert response.status_code == 200
    rows = response.context["history"].rows
    assert [(h.entry.commit.hash, h.entry.path, h.renamed) for h in rows] == [
        (moved.hash, "guide.md", False),
        (first.hash, "guide.txt", True),
    ]
    text = response.content.decode()
    assert f'href="/acme/api-server/src/{first.hash}/guide.txt"' in text
    assert f'href="/acme/api-server/commits/{moved.hash}"' in text
    before = _reads(alice.emulator)
    client.get("/acme/api-server/history/main/guide.md")
    assert _reads(alice.emulator) == before
