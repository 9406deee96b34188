"""Pagination, `fields=`, `q=`/`sort=`, ETags and the object shapes clients rely on."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import requests

from bitbucket_emulator import Emulator

from .helpers import session

R = "/repositories/acme/api-server"
ALL_STATES = "state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED"


def test_pages_follow_next_until_absent(emulator: Emulator):
    s = session(emulator, "alice")
    url = emulator.api_url + R + f"/pullrequests?{ALL_STATES}&pagelen=4"
    seen, pages = [], 0
    while url:
        page = s.get(url).json()
        pages += 1
        assert page["pagelen"] == 4 and page["page"] == pages
        seen += [pr["id"] for pr in page["values"]]
        url = page.get("next")
        if url:
            assert url.startswith(emulator.api_url)
            assert parse_qs(urlsplit(url).query)["state"] == ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]
    assert len(seen) == len(set(seen)) == page["size"] == 9
    assert pages == 3


def test_pagelen_limits(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    assert s.get(api + R + "/pullrequests").json()["pagelen"] == 10
    assert s.get(api + R + "/pullrequests?pagelen=50").status_code == 200
    r = s.get(api + R + "/pullrequests?pagelen=51")
    assert r.status_code == 400 and r.json()["error"]["message"] == "Invalid pagelen"
    assert s.get(api + R + "/refs/branches?pagelen=100").status_code == 200
    assert s.get(api + R + "/refs/branches?pagelen=101").status_code == 400
    assert s.get(api + R + "/refs/branches?pagelen=-1").status_code == 400


def test_pr_list_defaults_to_open_and_omits_reviewers(emulator: Emulator):
    s = session(emulator, "alice")
    page = s.get(emulator.api_url + R + "/pullrequests?pagelen=50").json()
    assert {pr["state"] for pr in page["values"]} == {"OPEN"}
    assert all("reviewers" not in pr and "participants" not in pr for pr in page["values"])
    full = s.get(page["values"][0]["links"]["self"]["href"]).json()
    assert "reviewers" in full and "participants" in full
    with_reviewers = s.get(emulator.api_url + R + "/pullrequests?fields=%2Bvalues.reviewers").json()
    assert all("reviewers" in pr and "participants" not in pr for pr in with_reviewers["values"])


def test_demo_pull_requests_cover_every_state(emulator: Emulator):
    s = session(emulator, "alice")
    states, drafts, total = set(), 0, 0
    for repo in ("api-server", "web-frontend", "docs", "infra", "mobile-app"):
        values = s.get(f"{emulator.api_url}/repositories/acme/{repo}/pullrequests?{ALL_STATES}&pagelen=50").json()
        states |= {pr["state"] for pr in values["values"]}
        drafts += sum(pr["draft"] for pr in values["values"])
        total += values["size"]
    assert states == {"OPEN", "MERGED", "DECLINED", "SUPERSEDED"}
    assert drafts >= 1 and 20 <= total <= 40


def test_fields_select_remove_and_add(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url + R
    page = s.get(api + "/pullrequests?fields=values.id,values.title,next&pagelen=2").json()
    assert set(page) == {"values", "next"} and all(set(v) == {"id", "title"} for v in page["values"])
    repo = s.get(api + "?fields=-links,-owner").json()
    assert "links" not in repo and "owner" not in repo and repo["type"] == "repository"
    nested = s.get(api + "/pullrequests/1?fields=-links.*,author.display_name").json()
    assert nested == {"author": {"display_name": nested["author"]["display_name"]}}
    wildcard = s.get(api + "?fields=-*,%2Bname,%2Bslug").json()
    assert wildcard == {"name": "api-server", "slug": "api-server"}


def test_q_and_sort_on_pull_requests(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url + R
    everything = s.get(api + f"/pullrequests?{ALL_STATES}&pagelen=50").json()["values"]
    cut = sorted(pr["updated_on"] for pr in everything)[4]
    q = f"updated_on > {cut.replace('+', '%2B')}"
    newer = s.get(api + f"/pullrequests?{ALL_STATES}&pagelen=50&sort=-updated_on&q={q}").json()["values"]
    stamps = [pr["updated_on"] for pr in newer]
    assert stamps == sorted(stamps, reverse=True) and all(t > cut for t in stamps) and len(newer) == 4
    merged = s.get(api + '/pullrequests?q=state = "MERGED"&pagelen=50').json()["values"]
    assert merged and {pr["state"] for pr in merged} == {"MERGED"}  # a state term in q lifts the OPEN default
    by_title = s.get(api + f'/pullrequests?{ALL_STATES}&q=title ~ "PAGE" OR title ~ "refund"').json()["values"]
    assert {pr["title"] for pr in by_title} == {"Raise the default page size", "Refund endpoint"}
    both = s.get(api + f'/pullrequests?{ALL_STATES}&q=(state IN ("DECLINED", "SUPERSEDED")) AND id >= 1').json()
    assert {pr["state"] for pr in both["values"]} == {"DECLINED", "SUPERSEDED"}
    author = s.get(api + f'/pullrequests?{ALL_STATES}&q=author.nickname = "dave"').json()["values"]
    assert {pr["author"]["nickname"] for pr in author} == {"dave"}


def test_q_errors(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url + R
    for q in ('colour = "red"', "title = ", 'title ~ "x" AND', '(state = "OPEN"'):
        r = s.get(api + "/pullrequests", params={"q": q})
        assert r.status_code == 400, q
        assert r.json()["type"] == "error"
    assert s.get(api + "/pullrequests", params={"sort": "-colour"}).status_code == 400


def test_branches_filter_and_natural_sort(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url + R
    feature = s.get(api + '/refs/branches?q=name ~ "feature/"&pagelen=100').json()["values"]
    assert feature and all(b["name"].startswith("feature/") for b in feature)
    names = [b["name"] for b in s.get(api + "/refs/branches?sort=-name&pagelen=100").json()["values"]]
    assert names == sorted(names, reverse=True)
    branch = s.get(api + "/refs/branches/main").json()
    assert branch["type"] == "branch" and len(branch["target"]["hash"]) == 40
    assert "squash" in branch["merge_strategies"] and branch["default_merge_strategy"] == "merge_commit"


def test_commits_use_opaque_cursors(emulator: Emulator):
    s = session(emulator, "alice")
    page = s.get(emulator.api_url + R + "/commits/main?pagelen=3").json()
    assert set(page) == {"values", "pagelen", "next"}
    cursor = parse_qs(urlsplit(page["next"]).query)["page"][0]
    assert not cursor.isdigit()
    second = s.get(page["next"]).json()
    assert not {c["hash"] for c in page["values"]} & {c["hash"] for c in second["values"]}
    dates = [c["date"] for c in page["values"] + second["values"]]
    assert dates == sorted(dates, reverse=True)
    activity = s.get(emulator.api_url + R + "/pullrequests/4/activity?pagelen=1").json()
    assert "ctx=" in activity["next"] and "page" not in activity
    assert s.get(emulator.api_url + R + "/commits?page=garbage").status_code == 400


def test_etag_and_304(emulator: Emulator):
    s = session(emulator, "alice")
    url = emulator.api_url + R + "/refs/branches/main"
    first = s.get(url)
    etag = first.headers["ETag"]
    again = s.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content
    emulator.world.commit_files("acme", "api-server", "main", "alice", {"etag.txt": "changed\n"})
    changed = s.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_object_shapes(emulator: Emulator):
    s = session(emulator, "alice")
    pr = s.get(emulator.api_url + R + "/pullrequests/3").json()
    assert re.fullmatch(r"\{[0-9a-f-]{36}\}", pr["author"]["uuid"])
    assert re.fullmatch(r"557058:[0-9a-f-]{36}", pr["author"]["account_id"])
    assert re.fullmatch(r"[0-9a-f]{12}", pr["source"]["commit"]["hash"])
    assert set(pr["source"]["repository"]) == {"type", "full_name", "links", "name", "uuid"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", pr["created_on"])
    assert pr["closed_by"] is None and pr["merge_commit"] is None
    for value in _hrefs(pr):
        assert value.startswith(emulator.base_url), value
    merged = s.get(emulator.api_url + R + "/pullrequests/1").json()
    assert merged["state"] == "MERGED" and re.fullmatch(r"[0-9a-f]{12}", merged["merge_commit"]["hash"])
    assert merged["closed_by"]["type"] == "user"
    reviewed = s.get(emulator.api_url + R + "/pullrequests/5").json()
    assert {p["state"] for p in reviewed["participants"]} == {"changes_requested", None}


def _hrefs(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "href":
                yield v
            else:
                yield from _hrefs(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _hrefs(v)


def test_src_listing_and_meta(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url + R
    root = s.get(api + "/src/main/?pagelen=100").json()["values"]
    kinds = {e["path"]: e["type"] for e in root}
    assert kinds["README.md"] == "commit_file" and kinds["src"] == "commit_directory"
    deep = s.get(api + "/src/main/?max_depth=3&pagelen=100").json()["values"]
    assert "src/api_server/app.py" in {e["path"] for e in deep}
    meta = s.get(api + "/src/main/README.md?format=meta").json()
    assert meta["type"] == "commit_file" and meta["size"] > 0
    big = s.get(api + "/src/main/src/api_server/?q=size > 500&sort=-size").json()["values"]
    assert big and all(e["size"] > 500 for e in big)
    by_branch_with_slash = s.get(api + "/src/release/1.4/README.md")
    assert by_branch_with_slash.status_code == 200 and by_branch_with_slash.text.startswith("# API Server")


def test_pr_list_fields_fast_path_matches_generic_fields(emulator: Emulator):
    """The PR list applies `fields=` per item from a cache; the answer equals the generic whole-page selection."""
    from bitbucket_emulator.cloud import query
    from bitbucket_emulator.cloud import serialize as ser

    s = session(emulator, "alice")
    world = emulator.world
    with world.lock:
        repo = world.repository("acme", "api-server")
        prs = sorted(repo.pullrequests.values(), key=lambda p: p.id, reverse=True)
        full = {"pagelen": 50, "size": len(prs), "values": [ser.pullrequest(world, repo, p) for p in prs], "page": 1}
    hidden = ("values.reviewers", "values.participants")
    for spec in (
        "values.id,values.reviewers.uuid,next,size",
        "-values.links,+values.participants",
        "values.author.display_name,values.source.branch.name,values.merge_commit.hash",
        "-values.*,+values.id",
        "size,pagelen",
        "values",
    ):
        got = s.get(emulator.api_url + R + f"/pullrequests?{ALL_STATES}&pagelen=50", params={"fields": spec}).json()
        assert got == query.apply_fields(full, spec, hidden), spec


def test_user_workspaces_filters(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    slugs = [w["workspace"]["slug"] for w in s.get(api + "/user/workspaces?sort=-slug").json()["values"]]
    assert slugs == ["alice-labs", "acme"]
    only = s.get(api + '/user/workspaces?q=slug = "acme"').json()["values"]
    assert [w["workspace"]["slug"] for w in only] == ["acme"] and set(only[0]) == {
        "type",
        "administrator",
        "workspace",
        "links",
    }
    carol = session(emulator, "carol")
    admin = carol.get(api + "/user/workspaces?administrator=true").json()["values"]
    assert admin == []
    assert len(carol.get(api + "/user/workspaces?administrator=false").json()["values"]) == 2


def test_avatar_links_serve_pictures(emulator: Emulator):
    s = session(emulator, "alice")
    me = s.get(emulator.api_url + "/user").json()
    repo = s.get(emulator.api_url + R).json()
    for href in (
        me["links"]["avatar"]["href"],
        repo["links"]["avatar"]["href"],
        repo["workspace"]["links"]["avatar"]["href"],
        repo["project"]["links"]["avatar"]["href"],
    ):
        r = requests.get(href, timeout=5)  # public, as Bitbucket's avatar hosts are
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/svg+xml", href
    assert b">AA<" in requests.get(me["links"]["avatar"]["href"], timeout=5).content
    assert requests.get(emulator.base_url + "/account/%7Bnobody%7D/avatar/", timeout=5).status_code == 404
