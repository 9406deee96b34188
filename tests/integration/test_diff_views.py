"""A pull request's diff views against the emulator over HTTP: files in batches from one cached read, whitespace
changes ignored on request (its own cache entry), the viewer's choice of view remembered, and review threads under
the lines they name, all read once per request and within the viewer's visibility."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from bitbucket_sync.models import PullRequest
from dashboard import rendering

HX = {"HTTP_HX_REQUEST": "true"}
BRANCH = "feature/raise-page-size"


def _api_requests(emu, username: str) -> int:
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


@pytest.fixture
def alice(client, demo_mirror):
    client.force_login(demo_mirror.users["alice"])
    return demo_mirror


@pytest.fixture
def pr(alice) -> PullRequest:
    """ "Raise the default page size" with more commits on its source branch: a re-indented README (whitespace
    only), a lock file and a new module; and an inline comment on the new module's second line."""
    emu = alice.emulator
    repo = emu.world.repository("acme", "api-server")
    readme = repo.commits[repo.branches["main"]].tree["README.md"].decode()
    tip = emu.world.commit_files(
        "acme",
        "api-server",
        BRANCH,
        "bob",
        {
            "README.md": "\n".join("  " + line if line else line for line in readme.split("\n")),
            "yarn.lock": "# yarn lockfile v1\n" + "".join(f"pkg{i}@1.0.0:\n  version 1.0.0\n" for i in range(5)),
            "src/api_server/pages.py": "def clamp(size):\n    return min(size, 100)\n",
        },
    )
    pull_request = PullRequest.objects.get(repository__slug="api-server", title="Raise the default page size")
    emu_pr = next(p for p in repo.pullrequests.values() if p.title == pull_request.title)
    emu.world.add_comment(
        repo, emu_pr, emu.world.user("carol").uuid, "Why 100?", inline={"path": "src/api_server/pages.py", "to": 2}
    )
    # The mirror follows the new tip as a sync would.
    PullRequest.objects.filter(pk=pull_request.pk).update(source_commit=tip.hash)
    pull_request.refresh_from_db()
    cache.clear()
    return pull_request


def _url(pr: PullRequest, query: str = "") -> str:
    return f"/acme/api-server/pull-requests/{pr.number}/diff" + query


def _paths(response) -> list[str]:
    return [f.path for f in response.context["diff"]["files"]]


def test_files_come_in_batches_from_one_read_of_the_diff(client, alice, pr, monkeypatch):
    monkeypatch.setattr(rendering, "DIFF_BATCH_FILES", 2)
    first = client.get(_url(pr), **HX)
    assert first.status_code == 200
    body = first.content.decode()
    assert body.lstrip().startswith('<section id="pr-diff"')
    assert _paths(first) == ["README.md", "src/api_server/pages.py"]
    assert len(first.context["diff"]["diffstat"]) == 4  # the diffstat lists every file from the start
    assert f'hx-get="{_url(pr)}?files=2" hx-trigger="revealed"' in body
    before = _api_requests(alice.emulator, "alice")

    second = client.get(_url(pr, "?files=2"), **HX)
    text = second.content.decode()
    assert second.status_code == 200 and "<section" not in text and "<html" not in text
    assert _paths(second) == ["src/api_server/settings.py", "yarn.lock"]
    assert "diff-more" not in text  # the last batch
    # Diff, diffstat and comments all from the cache; the one read is the code the seed's outdated comment on
    # settings.py was made on (its snippet, read with the batch that shows the file).
    assert _api_requests(alice.emulator, "alice") == before + 1

    # Without JavaScript the marker is a link to the page that starts there.
    page = client.get(_url(pr, "?files=2")).content.decode()
    assert "<html" in page and "src/api_server/settings.py" in page and f'href="{_url(pr)}"' in page


def test_generated_files_open_collapsed(client, alice, pr):
    body = client.get(_url(pr), **HX).content.decode()
    lock = rendering.file_anchor("yarn.lock")
    assert re.search(rf'<details class="diff-file generated" id="{lock}" data-path="yarn.lock">', body)
    pages = rendering.file_anchor("src/api_server/pages.py")
    assert f'id="{pages}" data-path="src/api_server/pages.py" open>' in body


def test_ignore_whitespace_asks_bitbucket_and_is_cached_apart(client, alice, pr):
    emu = alice.emulator
    plain = client.get(_url(pr), **HX)
    readme = next(f for f in plain.context["diff"]["files"] if f.path == "README.md")
    assert readme.added > 0 and readme.removed > 0
    before = _api_requests(emu, "alice")

    quiet = client.get(_url(pr, "?w=1"), **HX)
    files = {f.path: f for f in quiet.context["diff"]["files"]}
    assert files["README.md"].lines == [] and (files["README.md"].added, files["README.md"].removed) == (0, 0)
    assert files["src/api_server/settings.py"].added == 2  # real changes stay (the page size and the timeout)
    assert "only whitespace changed" in quiet.content.decode()
    stats = {stat.path: (stat.lines_added, stat.lines_removed) for stat, _, _ in quiet.context["diff"]["diffstat"]}
    assert stats["README.md"] == (0, 0)
    read_once = _api_requests(emu, "alice")
    assert read_once > before  # another diff: read from Bitbucket
    # Both variants now come from the cache, and the toggle and the next batch keep the choice.
    again = client.get(_url(pr, "?w=1"), **HX).content.decode()
    client.get(_url(pr), **HX)
    assert _api_requests(emu, "alice") == read_once
    assert 'aria-pressed="true"' in again


def test_the_view_choice_is_remembered_for_the_viewer(client, alice, pr):
    assert client.get(_url(pr), **HX).context["diff_view"] == "unified"
    split = client.get(_url(pr, "?view=split"), **HX).content.decode()
    assert 'class="code diff split highlight"' in split
    later = client.get(_url(pr), **HX)
    assert later.context["diff_view"] == "split" and "diff split" in later.content.decode()
    assert client.get(_url(pr, "?view=bogus"), **HX).context["diff_view"] == "split"
    client.get(_url(pr, "?view=unified"), **HX)
    assert client.get(_url(pr), **HX).context["diff_view"] == "unified"


@pytest.mark.parametrize("view", ["unified", "split"])
def test_threads_show_under_their_line_and_the_composer_address_is_on_the_section(client, alice, pr, view):
    body = client.get(_url(pr, f"?view={view}"), **HX).content.decode()
    anchor = rendering.file_anchor("src/api_server/pages.py")
    row = body.index(f'id="L{anchor}-new-2" data-path="src/api_server/pages.py" data-side="new" data-line="2"')
    comment = body.index("Why 100?")
    assert comment > row and comment < body.index(f'id="{rendering.file_anchor("src/api_server/settings.py")}"')
    assert f'data-composer-url="/acme/api-server/pull-requests/{pr.number}/comments/new"' in body
    assert 'class="ln-btn" data-side="new" data-line="2"' in body


def test_batches_are_not_for_outsiders(client, alice, pr, django_user_model):
    client.force_login(django_user_model.objects.create_user("eve"))  # no credential: sees nothing
    assert client.get(_url(pr, "?files=2"), **HX).status_code == 404
    assert client.get(_url(pr, "?view=split&w=1"), **HX).status_code == 404


def test_a_thread_whose_line_left_the_diff_shows_at_the_file_top_with_its_code(client, alice, pr):
    emu = alice.emulator
    repo = emu.world.repository("acme", "api-server")
    emu_pr = next(p for p in repo.pullrequests.values() if p.title == pr.title)
    body = "def clamp(size):\n    return min(size, 100)\n\n\ndef floor(size):\n    return max(size, 1)\n"
    emu.world.commit_files("acme", "api-server", BRANCH, "bob", {"src/api_server/pages.py": body})
    emu.world.add_comment(
        repo, emu_pr, emu.world.user("carol").uuid, "Is 1 right?", inline={"path": "src/api_server/pages.py", "to": 6}
    )
    # Then the function goes again: line 6 is no longer in the diff.
    tip = emu.world.commit_files(
        "acme",
        "api-server",
        BRANCH,
        "bob",
        {"src/api_server/pages.py": "def clamp(size):\n    return min(size, 100)\n"},
    )
    PullRequest.objects.filter(pk=pr.pk).update(source_commit=tip.hash)
    pr.refresh_from_db()
    cache.clear()

    response = client.get(_url(pr), **HX)
    pages = next(f for f in response.context["diff"]["files"] if f.path == "src/api_server/pages.py")
    (placed,) = pages.threads
    # Its line changed since: the activity feed says outdated (without it, it would show as not in this diff).
    assert placed.thread.line == 6 and placed.reason == "outdated"
    assert [line.number for line in placed.snippet] == [4, 5, 6]
    html = response.content.decode()
    top = html.index('class="placed-thread outdated"')
    assert html.index("Is 1 right?") > top and "max" in html[top : html.index("Is 1 right?")]
    assert "Why 100?" in html  # the thread on a line still shown stays under it
    # The snippet's diff is cached by its commits: the next load reads nothing.
    before = _api_requests(emu, "alice")
    client.get(_url(pr), **HX)
    assert _api_requests(emu, "alice") == before


def test_snippet_reads_are_capped_per_request(client, alice, pr, monkeypatch):
    from dashboard.selectors import diffs

    monkeypatch.setattr(diffs, "SNIPPET_READS", 0)
    emu = alice.emulator
    repo = emu.world.repository("acme", "api-server")
    emu_pr = next(p for p in repo.pullrequests.values() if p.title == pr.title)
    emu.world.add_comment(
        repo, emu_pr, emu.world.user("carol").uuid, "Far away", inline={"path": "src/api_server/pages.py", "to": 40}
    )
    cache.clear()
    response = client.get(_url(pr), **HX)
    pages = next(f for f in response.context["diff"]["files"] if f.path == "src/api_server/pages.py")
    assert [(p.reason, p.snippet) for p in pages.threads] == [("not_shown", [])]
    assert "which this diff does not show" in response.content.decode()


def test_the_diffstat_links_files_of_other_batches_to_the_page_that_starts_there(client, alice, pr, monkeypatch):
    monkeypatch.setattr(rendering, "DIFF_BATCH_FILES", 2)
    body = client.get(_url(pr), **HX).content.decode()
    shown, later = rendering.file_anchor("README.md"), rendering.file_anchor("yarn.lock")
    assert f'<a href="#{shown}">README.md</a>' in body
    assert f'<a href="{_url(pr)}?files=3#{later}">yarn.lock</a>' in body
    page = client.get(_url(pr, "?files=3")).content.decode()
    assert f'id="{later}"' in page and f'<a href="{_url(pr)}?files=0#{shown}">README.md</a>' in page


def test_a_non_ascii_name_git_quotes_shows_as_itself_with_its_threads_and_mark(client, alice, pr, monkeypatch):
    """Bitbucket's raw diff quotes `docs/café notes.md` as git does (`"a/docs/caf\\303\\251 notes.md"`); the page
    shows the name itself, its comment under its line, its viewed mark, and the diffstat's link to it."""
    emu = alice.emulator
    name = "docs/café notes.md"
    repo = emu.world.repository("acme", "api-server")
    emu_pr = next(p for p in repo.pullrequests.values() if p.title == pr.title)
    tip = emu.world.commit_files("acme", "api-server", BRANCH, "bob", {name: "Un café.\nDeux cafés.\n"})
    emu.world.add_comment(repo, emu_pr, emu.world.user("carol").uuid, "Trois?", inline={"path": name, "to": 2})
    PullRequest.objects.filter(pk=pr.pk).update(source_commit=tip.hash)
    pr.refresh_from_db()
    cache.clear()

    response = client.get(_url(pr), **HX)
    files = {f.path: f for f in response.context["diff"]["files"]}
    cafe = files[name]
    assert (cafe.status, cafe.added, cafe.new_path, cafe.unreadable) == ("added", 2, name, False)
    assert cafe.fingerprint  # the viewed mark knows the file by the same name
    body = response.content.decode()
    anchor = rendering.file_anchor(name)
    assert f'id="{anchor}" data-path="{name}"' in body and "\\303" not in body
    row = body.index(f'id="L{anchor}-new-2" data-path="{name}" data-side="new" data-line="2"')
    assert row < body.index("Trois?")
    assert f'<a href="#{anchor}">{name}</a>' in body

    monkeypatch.setattr(rendering, "DIFF_BATCH_FILES", 1)  # the file in another batch: the diffstat links there
    index = list(files).index(name)
    first = client.get(_url(pr), **HX).content.decode()
    assert f'<a href="{_url(pr)}?files={index}#{anchor}">{name}</a>' in first
