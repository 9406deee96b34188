"""Comparing refs over real HTTP: commits with repeatable `include`/`exclude`, and `merge-base/{a}..{b}`."""

from __future__ import annotations

from bitbucket_emulator import Emulator

from .helpers import session

R = "/repositories/acme/api-server"


def _diverge(emu: Emulator) -> dict[str, str]:
    """`topic` cut from main with two commits of its own, then one more commit on main; returns the hashes."""
    world = emu.world
    with world.lock:
        repo = world.repository("acme", "api-server")
        fork = repo.branches["main"]
        world.create_branch(repo, "topic/compare", fork, None)
        world.commit_files("acme", "api-server", "topic/compare", "bob", {"t1.txt": "1\n"})
        world.commit_files("acme", "api-server", "topic/compare", "bob", {"t2.txt": "2\n"})
        world.commit_files("acme", "api-server", "main", "alice", {"m1.txt": "m\n"})
        return {"fork": fork, "topic": repo.branches["topic/compare"], "main": repo.branches["main"]}


def _hashes(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["hash"] for c in response.json()["values"]]


def test_commits_include_exclude_list_one_side_only(emulator: Emulator):
    tips = _diverge(emulator)
    s = session(emulator, "alice")
    api = emulator.api_url + R
    ahead = _hashes(s.get(f"{api}/commits", params={"include": "topic/compare", "exclude": "main"}))
    assert len(ahead) == 2 and ahead[0] == tips["topic"]
    behind = _hashes(s.get(f"{api}/commits", params={"include": tips["main"], "exclude": tips["topic"]}))
    assert behind == [tips["main"]]
    # A revision in the path counts as one more `include`; repeated excludes all apply.
    same = _hashes(s.get(f"{api}/commits/topic/compare", params=[("exclude", "main"), ("exclude", tips["fork"])]))
    assert same == ahead
    assert _hashes(s.get(f"{api}/commits", params={"include": "main", "exclude": "main"})) == []


def test_commits_pagelen_caps_a_page_and_links_the_next(emulator: Emulator):
    _diverge(emulator)
    s = session(emulator, "alice")
    page = s.get(f"{emulator.api_url}{R}/commits", params={"include": "topic/compare", "exclude": "main", "pagelen": 1})
    assert len(page.json()["values"]) == 1 and "next" in page.json()


def test_commits_unknown_include_is_404(emulator: Emulator):
    s = session(emulator, "alice")
    assert s.get(f"{emulator.api_url}{R}/commits", params={"include": "no-such-branch"}).status_code == 404


def test_merge_base_is_the_fork_point_either_way_round(emulator: Emulator):
    tips = _diverge(emulator)
    s = session(emulator, "alice")
    api = emulator.api_url + R
    one = s.get(f"{api}/merge-base/topic%2Fcompare..main")
    assert one.status_code == 200, one.text
    assert one.json()["type"] == "commit" and one.json()["hash"] == tips["fork"]
    assert s.get(f"{api}/merge-base/{tips['main']}..{tips['topic']}").json()["hash"] == tips["fork"]
    # A branch already merged: the base is its own tip.
    assert s.get(f"{api}/merge-base/{tips['fork']}..main").json()["hash"] == tips["fork"]


def test_merge_base_unknown_ref_or_no_range_is_404(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url + R
    missing = s.get(f"{api}/merge-base/main..nope")
    assert missing.status_code == 404 and missing.json()["type"] == "error"
    assert s.get(f"{api}/merge-base/main").status_code == 404


def test_merge_base_needs_read_access(emulator: Emulator):
    hidden = session(emulator, "bob").get(f"{emulator.api_url}/repositories/acme/infra/merge-base/main..main")
    assert hidden.status_code == 404
