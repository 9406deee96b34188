"""The Data Center site's switches for what the reference leaves unconfirmed (§11.1), and the changes a test makes to
its pull requests (there are no Data Center write endpoints yet)."""

from __future__ import annotations

import requests

from bitbucket_emulator.world import datacenter as dc_world
from tests.emulator.dc_helpers import dc_session


def listing(emu, **params) -> list[dict]:
    url = f"{emu.datacenter_url}/projects/PLAT/repos/api-gateway/pull-requests"
    answer = dc_session(emu, "alice").get(url, params={"state": "ALL", **params}, timeout=10)
    answer.raise_for_status()
    return answer.json()["values"]


def switch(emu, **body) -> dict:
    answer = requests.post(f"{emu.base_url}/_emulator/datacenter/switches", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def test_newest_sorts_by_update_or_by_creation_as_switched(emulator):
    site = emulator.world.datacenter
    with emulator.world.lock:
        repo = site.repository("PLAT", "api-gateway")
        oldest = repo.pull_requests[1]
        # Declined "now": the most recently updated, still the first created.
        dc_world.close(emulator.world, site, repo, 2, "alice", "DECLINED", emulator.world.now())
    assert [pr["id"] for pr in listing(emulator)][:1] == [2]

    assert switch(emulator, newest_by="created")["newest_by"] == "created"
    assert [pr["id"] for pr in listing(emulator)] == [3, 2, oldest.id]

    assert switch(emulator, pull_request_page_max=1)["pull_request_page_max"] == 1
    page = dc_session(emulator, "alice").get(
        f"{emulator.datacenter_url}/projects/PLAT/repos/api-gateway/pull-requests", params={"state": "ALL"}, timeout=10
    )
    assert page.json()["limit"] == 1 and page.json()["nextPageStart"] == 1


def test_a_review_moves_updated_date_only_when_switched(emulator):
    site = emulator.world.datacenter
    before = {pr["id"]: (pr["updatedDate"], pr["version"]) for pr in listing(emulator)}
    with emulator.world.lock:
        repo = site.repository("PLAT", "api-gateway")
        dc_world.review(site, repo, 3, "alice", "APPROVED", emulator.world.now())
    after = {pr["id"]: pr for pr in listing(emulator)}
    assert (after[3]["updatedDate"], after[3]["version"]) == before[3]
    assert next(r for r in after[3]["reviewers"] if r["user"]["name"] == "alice")["status"] == "APPROVED"

    switch(emulator, reviews_move_updated=True)
    with emulator.world.lock:
        dc_world.review(site, repo, 3, "dave", "NEEDS_WORK", emulator.world.now())
    moved = {pr["id"]: pr for pr in listing(emulator)}[3]
    assert moved["updatedDate"] > before[3][0] and moved["version"] == before[3][1] + 1


def test_a_push_moves_the_source_and_a_merge_closes(emulator):
    site = emulator.world.datacenter
    with emulator.world.lock:
        repo = site.repository("PLAT", "api-gateway")
        tip = dc_world.push_to_source(emulator.world, site, repo, 2, "bob", {"NOTES": "more\n"}, emulator.world.now())
        dc_world.close(emulator.world, site, repo, 2, "alice", "MERGED", emulator.world.now())
    pr = {pr["id"]: pr for pr in listing(emulator)}[2]
    assert pr["fromRef"]["latestCommit"] == tip
    assert pr["state"] == "MERGED" and pr["properties"]["mergeCommit"]["id"] == repo.git.branches["main"]


def test_switches_refuse_unknown_values(emulator):
    bad = requests.post(f"{emulator.base_url}/_emulator/datacenter/switches", json={"newest_by": "id"}, timeout=10)
    assert bad.status_code == 400
    unknown = requests.post(f"{emulator.base_url}/_emulator/datacenter/switches", json={"order": "x"}, timeout=10)
    assert unknown.status_code == 400
    assert (
        requests.get(f"{emulator.base_url}/_emulator/datacenter/switches", timeout=10).json()["newest_by"] == "updated"
    )
