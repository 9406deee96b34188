"""`diff/{A}..{B}` and `diffstat/{A}..{B}` with and without `topic` (reference §12.5): by default A's changes since
its merge base with B; with `topic=false`, A's tree against B's itself. And a pull request's activity, whose `update`
entries carry the source commit of each push (shortened, as Bitbucket sends it)."""

from __future__ import annotations

from bitbucket_emulator import Emulator

from .helpers import open_pr, session

R = "/repositories/acme/api-server"


def _two_branches(emu: Emulator) -> tuple[str, str, str]:
    """`topic/a` with one commit, then main moves on with a commit of its own: (a tip, main tip, a's first tip)."""
    world = emu.world
    with world.lock:
        repo = world.repository("acme", "api-server")
        world.create_branch(repo, "topic/a", repo.mainbranch, None)
    first = world.commit_files("acme", "api-server", "topic/a", "bob", {"a/one.txt": "one\n"}, "one")
    second = world.commit_files("acme", "api-server", "topic/a", "bob", {"a/two.txt": "two\n"}, "two")
    main = world.commit_files("acme", "api-server", None, "alice", {"main-only.txt": "main\n"}, "main moves on")
    return second.hash, main.hash, first.hash


def test_diff_topic_false_is_the_plain_two_commit_diff(emulator: Emulator):
    s = session(emulator, "alice")
    a, main, _ = _two_branches(emulator)

    topic = s.get(f"{emulator.api_url}{R}/diff/{a}..{main}")
    plain = s.get(f"{emulator.api_url}{R}/diff/{a}..{main}", params={"topic": "false"})

    assert topic.status_code == plain.status_code == 200
    assert "a/one.txt" in topic.text and "main-only.txt" not in topic.text
    # Two dots: main's own commit shows as removed on A's side.
    assert "a/one.txt" in plain.text and "diff --git a/main-only.txt b/main-only.txt" in plain.text
    assert "deleted file mode" in plain.text.split("diff --git a/main-only.txt", 1)[1]


def test_diff_topic_false_between_two_commits_of_one_branch(emulator: Emulator):
    s = session(emulator, "alice")
    a, _, first = _two_branches(emulator)

    plain = s.get(f"{emulator.api_url}{R}/diff/{a}..{first[:12]}", params={"topic": "false"})
    stat = s.get(f"{emulator.api_url}{R}/diffstat/{a}..{first[:12]}", params={"topic": "false"})

    assert plain.status_code == 200 and stat.status_code == 200
    assert "a/two.txt" in plain.text and "a/one.txt" not in plain.text
    values = stat.json()["values"]
    assert [(v["status"], v["new"]["path"]) for v in values] == [("added", "a/two.txt")]
    assert values[0]["old"] is None


def test_diffstat_topic_false_lists_what_the_other_side_added(emulator: Emulator):
    s = session(emulator, "alice")
    a, main, _ = _two_branches(emulator)

    topic = s.get(f"{emulator.api_url}{R}/diffstat/{a}..{main}").json()["values"]
    plain = s.get(f"{emulator.api_url}{R}/diffstat/{a}..{main}", params={"topic": "false"}).json()["values"]

    assert {v["new"]["path"] for v in topic if v["new"]} == {"a/one.txt", "a/two.txt"}
    assert ("removed", "main-only.txt") in {(v["status"], (v["old"] or {}).get("path")) for v in plain}


def test_diff_of_a_commit_that_does_not_exist_is_404(emulator: Emulator):
    s = session(emulator, "alice")
    a, _, _ = _two_branches(emulator)
    r = s.get(f"{emulator.api_url}{R}/diff/{a}..0123456789ab", params={"topic": "false"})
    assert r.status_code == 404 and r.json()["type"] == "error"


def test_activity_updates_carry_each_pushed_source_commit(emulator: Emulator):
    s = session(emulator, "alice")
    number = open_pr(emulator, "api-server", "topic/activity", reviewers=("alice",))
    first = emulator.world.repository("acme", "api-server").pullrequests[number].source_hash
    assert s.post(f"{emulator.api_url}{R}/pullrequests/{number}/approve").status_code == 200
    pushed = emulator.world.commit_files("acme", "api-server", "topic/activity", "bob", {"more.txt": "x\n"}, "more")

    values = s.get(f"{emulator.api_url}{R}/pullrequests/{number}/activity").json()["values"]

    updates = [v["update"]["source"]["commit"]["hash"] for v in values if "update" in v]
    # Newest first; hashes shortened to 12 digits, as Bitbucket sends them in the feed.
    assert updates[0] == pushed.hash[:12] and updates[-1] == first[:12]
    approvals = [v["approval"] for v in values if "approval" in v]
    assert approvals and approvals[0]["user"]["nickname"]
