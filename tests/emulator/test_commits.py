"""Commit listings (`include`/`exclude`, `path`, cursor pages), file history with renames, and the pull requests
that contain a commit."""

from __future__ import annotations

from bitbucket_emulator import Emulator

from .helpers import open_pr, session

R = "/repositories/acme/api-server"


def _hashes(page: dict) -> list[str]:
    return [c["hash"] for c in page["values"]]


def test_commits_include_exclude_lists_what_a_branch_adds(emulator: Emulator):
    world = emulator.world
    repo = world.repository("acme", "api-server")
    world.create_branch(repo, "feature/log", "main", None)
    one = world.commit_files("acme", "api-server", "feature/log", "bob", {"a.txt": "a\n"}, "First")
    two = world.commit_files("acme", "api-server", "feature/log", "bob", {"b.txt": "b\n"}, "Second")
    s = session(emulator, "alice")
    page = s.get(f"{emulator.api_url}{R}/commits?include=feature/log&exclude=main").json()
    assert _hashes(page) == [two.hash, one.hash]
    # `exclude` repeats; the revision in the path counts as an include.
    page = s.get(f"{emulator.api_url}{R}/commits/feature/log?exclude=main&exclude={one.hash}").json()
    assert _hashes(page) == [two.hash]
    everything = s.get(f"{emulator.api_url}{R}/commits?pagelen=100").json()
    assert two.hash in _hashes(everything)  # no include: every branch, like `git log --all`
    assert s.get(f"{emulator.api_url}{R}/commits?include=no-such-ref").status_code == 404


def test_commits_path_filter_keeps_commits_that_touch_it(emulator: Emulator):
    world = emulator.world
    one = world.commit_files("acme", "api-server", "main", "bob", {"docs/x.md": "x\n"}, "Docs")
    world.commit_files("acme", "api-server", "main", "bob", {"other.txt": "o\n"}, "Other")
    three = world.commit_files("acme", "api-server", "main", "bob", {"docs/x.md": "x2\n"}, "Docs again")
    s = session(emulator, "alice")
    page = s.get(f"{emulator.api_url}{R}/commits/main?path=docs/x.md").json()
    assert _hashes(page) == [three.hash, one.hash]
    as_dir = s.get(f"{emulator.api_url}{R}/commits/main?path=docs").json()
    assert _hashes(as_dir)[:2] == [three.hash, one.hash]


def test_commits_pages_are_30_by_default_and_100_at_most(emulator: Emulator):
    world = emulator.world
    for i in range(31):
        world.commit_files("acme", "api-server", "main", "bob", {"count.txt": f"{i}\n"}, f"Count {i}")
    s = session(emulator, "alice")
    page = s.get(f"{emulator.api_url}{R}/commits/main").json()
    assert page["pagelen"] == 30 and len(page["values"]) == 30 and "next" in page and "size" not in page
    assert s.get(f"{emulator.api_url}{R}/commits/main?pagelen=101").status_code == 400


def test_filehistory_follows_renames_unless_told_not_to(emulator: Emulator):
    world = emulator.world
    first = world.commit_files("acme", "api-server", "main", "bob", {"guide.txt": "one\n"}, "Add guide")
    world.commit_files("acme", "api-server", "main", "bob", {"unrelated.txt": "u\n"}, "Unrelated")
    second = world.commit_files("acme", "api-server", "main", "bob", {"guide.txt": "two\n"}, "Edit guide")
    moved = world.commit_files(
        "acme", "api-server", "main", "bob", {"guide.rst": "two\n", "guide.txt": None}, "Rename guide"
    )
    s = session(emulator, "alice")
    page = s.get(f"{emulator.api_url}{R}/filehistory/main/guide.rst").json()
    entries = [(v["commit"]["hash"], v["path"]) for v in page["values"]]
    assert entries == [(moved.hash, "guide.rst"), (second.hash, "guide.txt"), (first.hash, "guide.txt")]
    v = page["values"][0]
    assert v["type"] == "commit_file" and v["attributes"] == [] and v["commit"]["message"] == "Rename guide\n"
    assert v["links"]["self"]["href"].endswith(f"/src/{moved.hash}/guide.rst")
    plain = s.get(f"{emulator.api_url}{R}/filehistory/{moved.hash}/guide.rst?renames=false").json()
    assert [v["commit"]["hash"] for v in plain["values"]] == [moved.hash]
    assert s.get(f"{emulator.api_url}{R}/filehistory/main/nope.txt").status_code == 404
    dated = s.get(f"{emulator.api_url}{R}/filehistory/main/guide.rst", params={"q": 'path = "guide.txt"'}).json()
    assert {v["path"] for v in dated["values"]} == {"guide.txt"}


def test_commit_pullrequests_lists_the_prs_that_contain_it(emulator: Emulator):
    pr_id = open_pr(emulator, "api-server", "feature/contained")
    repo = emulator.world.repository("acme", "api-server")
    tip = repo.branches["feature/contained"]
    s = session(emulator, "alice")
    page = s.get(f"{emulator.api_url}{R}/commit/{tip}/pullrequests").json()
    assert [pr["id"] for pr in page["values"]] == [pr_id] and page["pagelen"] == 30
    main_tip = repo.branches["main"]
    on_main = s.get(f"{emulator.api_url}{R}/commit/{main_tip}/pullrequests").json()
    assert pr_id not in [pr["id"] for pr in on_main["values"]]


def test_commit_pullrequests_answers_404_or_202_before_the_index_is_ready(emulator: Emulator):
    tip = emulator.world.repository("acme", "api-server").branches["main"]
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/commit/{tip}/pullrequests"
    emulator.controls.commit_links["acme/api-server"] = 404
    assert s.get(url).status_code == 404
    emulator.controls.commit_links["acme/api-server"] = 202
    r = s.get(url)
    assert r.status_code == 202 and r.json()["values"] == []
    emulator.controls.clear()
    assert s.get(url).status_code == 200
