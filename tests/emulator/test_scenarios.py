"""End-to-end scenarios over real HTTP: branches, commits with `parents`, pull requests, reviews, merges, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bitbucket_emulator import Emulator

from .helpers import session

R = "/repositories/acme/api-server"


class Receiver:
    """A webhook receiver on a free port: records every delivery; can fail the first N attempts with 500."""

    def __init__(self, fail_first: int = 0):
        self.deliveries: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.deliveries.append({"headers": dict(self.headers), "body": body})
                failing = len(receiver.deliveries) <= receiver.fail_first
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/bitbucket"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def events(self) -> list[str]:
        return [d["headers"]["X-Event-Key"] for d in self.deliveries]

    def wait_for(self, event: str, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for d in self.deliveries:
                if d["headers"]["X-Event-Key"] == event:
                    return d
            time.sleep(0.02)
        raise AssertionError(f"no {event} delivery; got {self.events()}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def tip(s, emu: Emulator, branch: str) -> str:
    return s.get(f"{emu.api_url}{R}/refs/branches/{branch}").json()["target"]["hash"]


def commit(s, emu: Emulator, branch: str, files: dict, parents: str | None = None, message: str = "Change"):
    data = {"branch": branch, "message": message, **({"parents": parents} if parents else {})}
    upload = {path: (path.rsplit("/", 1)[-1], content.encode()) for path, content in files.items()}
    return s.post(f"{emu.api_url}{R}/src", data=data, files=upload)


def open_pr(s, emu: Emulator, branch: str, **extra) -> dict:
    body = {"title": f"Work on {branch}", "source": {"branch": {"name": branch}}, **extra}
    r = s.post(f"{emu.api_url}{R}/pullrequests", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_branch_commit_stale_parent_pr_approve_merge_and_webhooks(emulator: Emulator, receiver: Receiver):
    alice, bob = session(emulator, "alice"), session(emulator, "bob")
    api = emulator.api_url
    secret = "hook-secret"
    hook = {
        "url": receiver.url,
        "events": [
            "repo:push",
            "pullrequest:created",
            "pullrequest:approved",
            "pullrequest:fulfilled",
            "pullrequest:rejected",
            "pullrequest:comment_created",
            "pullrequest:updated",
        ],
        "secret": secret,
        "description": "bbdash",
    }
    assert alice.post(f"{api}/workspaces/acme/hooks", json=hook).status_code == 201

    main = tip(bob, emulator, "main")
    r = bob.post(f"{api}{R}/refs/branches", json={"name": "feature/scenario", "target": {"hash": main}})
    assert r.status_code == 201 and r.json()["target"]["hash"] == main

    r = commit(bob, emulator, "feature/scenario", {"docs/scenario.md": "# Scenario\n"}, parents=main)
    assert r.status_code == 201
    first = r.headers["Location"].rsplit("/", 1)[1]
    assert tip(bob, emulator, "feature/scenario") == first
    assert r.headers["Location"] == f"{api}{R}/commit/{first}"

    # The same parent again is stale now: 409, and the branch does not move.
    r = commit(bob, emulator, "feature/scenario", {"docs/scenario.md": "# Other\n"}, parents=main)
    assert r.status_code == 409
    assert r.json()["type"] == "error"
    assert tip(bob, emulator, "feature/scenario") == first
    assert bob.get(f"{api}{R}/src/feature/scenario/docs/scenario.md").text == "# Scenario\n"

    pr = open_pr(
        bob,
        emulator,
        "feature/scenario",
        reviewers=[{"uuid": emulator.account("alice")["uuid"]}],
        close_source_branch=True,
    )
    assert pr["state"] == "OPEN" and pr["source"]["commit"]["hash"] == first[:12]
    pr_url = pr["links"]["self"]["href"]

    # The PR follows its source branch.
    created_updated_on = pr["updated_on"]
    r = commit(bob, emulator, "feature/scenario", {"docs/more.md": "more\n"}, parents=first)
    second = r.headers["Location"].rsplit("/", 1)[1]
    moved = bob.get(pr_url).json()
    assert moved["source"]["commit"]["hash"] == second[:12]
    assert moved["updated_on"] > created_updated_on

    r = alice.post(pr_url + "/approve")
    assert r.status_code == 200 and r.json()["approved"] is True and r.json()["state"] == "approved"
    r = alice.post(pr_url + "/comments", json={"content": {"raw": "Ship it"}})
    assert r.status_code == 201 and r.headers["Location"].startswith(api)

    r = alice.post(pr_url + "/merge", json={"type": "pullrequest_merge_parameters", "merge_strategy": "merge_commit"})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["state"] == "MERGED" and merged["closed_by"]["uuid"] == emulator.account("alice")["uuid"]
    new_main = tip(alice, emulator, "main")
    assert new_main.startswith(merged["merge_commit"]["hash"])
    parents = [p["hash"] for p in alice.get(f"{api}{R}/commit/{new_main}").json()["parents"]]
    assert parents == [main, second]
    # close_source_branch was asked for at creation: the branch is gone.
    assert alice.get(f"{api}{R}/refs/branches/feature/scenario").status_code == 404

    # A conflicting PR refuses to merge, then is declined.
    demo_conflict = alice.get(f"{api}{R}/pullrequests/3").json()
    assert demo_conflict["title"] == "Raise the default page size"
    r = alice.post(f"{api}{R}/pullrequests/3/merge", json={})
    assert r.status_code == 400 and "conflict" in r.json()["error"]["message"].lower()
    assert alice.get(f"{api}{R}/pullrequests/3").json()["state"] == "OPEN"
    r = alice.post(f"{api}{R}/pullrequests/3/decline")
    assert r.status_code == 200 and r.json()["state"] == "DECLINED"

    for event in (
        "repo:push",
        "pullrequest:created",
        "pullrequest:updated",
        "pullrequest:approved",
        "pullrequest:comment_created",
        "pullrequest:fulfilled",
        "pullrequest:rejected",
    ):
        delivery = receiver.wait_for(event)
        headers = delivery["headers"]
        expected = "sha256=" + hmac.new(secret.encode(), delivery["body"], hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Hub-Signature"], expected)
        assert headers["X-Attempt-Number"] == "1"
        assert re.fullmatch(r"[0-9a-f-]{36}", headers["X-Hook-UUID"])
        assert re.fullmatch(r"[0-9a-f-]{36}", headers["X-Request-UUID"])
        assert headers["User-Agent"] == "Bitbucket-Webhooks/2.0"
        payload = json.loads(delivery["body"])
        assert payload["repository"]["full_name"] == "acme/api-server" and payload["actor"]["type"] == "user"
    fulfilled = json.loads(receiver.wait_for("pullrequest:fulfilled")["body"])
    assert fulfilled["pullrequest"]["state"] == "MERGED"
    push = json.loads(receiver.wait_for("repo:push")["body"])
    assert push["push"]["changes"][0]["new"]["name"] in ("feature/scenario", "main")


STRATEGY_CASES = [
    "merge_commit",
    "squash",
    "fast_forward",
    "squash_fast_forward",
    "rebase_fast_forward",
    "rebase_merge",
]


@pytest.mark.parametrize("strategy", STRATEGY_CASES)
def test_merge_strategy(emulator_factory, strategy: str):
    emu = emulator_factory()
    s = session(emu, "alice")
    api = emu.api_url
    main = tip(s, emu, "main")
    s.post(f"{api}{R}/refs/branches", json={"name": "feature/strategy", "target": {"hash": main}})
    commit(s, emu, "feature/strategy", {"src/api_server/one.py": "ONE = 1\n"}, message="One")
    src = commit(s, emu, "feature/strategy", {"src/api_server/two.py": "TWO = 2\n"}, message="Two")
    src_tip = src.headers["Location"].rsplit("/", 1)[1]
    pr = open_pr(s, emu, "feature/strategy")
    ff_possible = strategy in ("fast_forward", "squash_fast_forward")
    if not ff_possible:
        # main moves on (another file), so the merge is a real three-way one.
        commit(s, emu, "main", {"CHANGELOG.md": "## 1.5\n"}, message="Changelog")
    dest_before = tip(s, emu, "main")
    r = s.post(
        f"{api}{R}/pullrequests/{pr['id']}/merge",
        json={"merge_strategy": strategy, "close_source_branch": False, "message": f"Merge via {strategy}"},
    )
    assert r.status_code == 200, r.text
    new_tip = tip(s, emu, "main")
    head = s.get(f"{api}{R}/commit/{new_tip}").json()
    parents = [p["hash"] for p in head["parents"]]
    files = {e["path"] for e in s.get(f"{api}{R}/src/main/src/api_server/?pagelen=100").json()["values"]}
    assert {"src/api_server/one.py", "src/api_server/two.py"} <= files
    if strategy == "merge_commit":
        assert parents == [dest_before, src_tip]
    elif strategy == "squash":
        assert parents == [dest_before] and head["message"].startswith("Merge via squash")
    elif strategy == "fast_forward":
        assert new_tip == src_tip
    elif strategy == "squash_fast_forward":
        assert parents == [dest_before] and new_tip != src_tip
    elif strategy == "rebase_fast_forward":
        grandparent = s.get(f"{api}{R}/commit/{parents[0]}").json()["parents"][0]["hash"]
        assert len(parents) == 1 and grandparent == dest_before and head["message"].startswith("Two")
    elif strategy == "rebase_merge":
        assert parents[0] == dest_before and parents[1] != src_tip and len(parents) == 2
    # close_source_branch false keeps the branch
    assert s.get(f"{api}{R}/refs/branches/feature/strategy").status_code == 200


def test_fast_forward_refused_when_destination_moved(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    s.post(f"{api}{R}/refs/branches", json={"name": "feature/ff", "target": {"hash": "main"}})
    commit(s, emulator, "feature/ff", {"ff.txt": "ff\n"})
    pr = open_pr(s, emulator, "feature/ff")
    commit(s, emulator, "main", {"other.txt": "other\n"})
    before = tip(s, emulator, "main")
    r = s.post(f"{api}{R}/pullrequests/{pr['id']}/merge", json={"merge_strategy": "fast_forward"})
    assert r.status_code == 400 and "fast-forward" in r.json()["error"]["message"].lower()
    assert tip(s, emulator, "main") == before
    assert s.get(pr["links"]["self"]["href"]).json()["state"] == "OPEN"


def test_new_conflict_detected_and_merge_refused(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    s.post(f"{api}{R}/refs/branches", json={"name": "feature/clash", "target": {"hash": "main"}})
    commit(s, emulator, "feature/clash", {"README.md": "# Branch title\n"})
    pr = open_pr(s, emulator, "feature/clash")
    commit(s, emulator, "main", {"README.md": "# Main title\n"})
    for strategy in ("merge_commit", "squash", "rebase_merge"):
        r = s.post(f"{api}{R}/pullrequests/{pr['id']}/merge", json={"merge_strategy": strategy})
        assert r.status_code == 400, strategy
        assert r.json()["error"]["message"] == "Conflicts during merge."


def test_non_overlapping_edits_to_one_file_merge_cleanly(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    path = "src/api_server/settings.py"
    original = s.get(f"{api}{R}/src/main/{path}").text
    s.post(f"{api}{R}/refs/branches", json={"name": "feature/top", "target": {"hash": "main"}})
    commit(s, emulator, "feature/top", {path: "# settings\n" + original})
    pr = open_pr(s, emulator, "feature/top")
    commit(s, emulator, "main", {path: original + "DEBUG = False\n"})
    r = s.post(f"{api}{R}/pullrequests/{pr['id']}/merge", json={})
    assert r.status_code == 200, r.text
    assert s.get(f"{api}{R}/src/main/{path}").text == "# settings\n" + original + "DEBUG = False\n"


def test_async_merge_polls_pending_then_success(emulator: Emulator):
    emulator.app.merge_task_delay = 1.0  # long enough that the first poll surely comes before the merge
    s = session(emulator, "alice")
    api = emulator.api_url
    s.post(f"{api}{R}/refs/branches", json={"name": "feature/async", "target": {"hash": "main"}})
    commit(s, emulator, "feature/async", {"async.txt": "a\n"})
    pr = open_pr(s, emulator, "feature/async")
    r = s.post(f"{api}{R}/pullrequests/{pr['id']}/merge?async=true", json={"merge_strategy": "squash"})
    assert r.status_code == 202 and not r.content
    location = r.headers["Location"]
    assert location.startswith(f"{api}{R}/pullrequests/{pr['id']}/merge/task-status/")
    first = s.get(location).json()
    assert first["task_status"] == "PENDING" and "merge_result" not in first
    deadline = time.monotonic() + 5
    while True:
        status = s.get(location).json()
        if status["task_status"] == "SUCCESS" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status["task_status"] == "SUCCESS"
    assert status["merge_result"]["state"] == "MERGED" and status["merge_result"]["id"] == pr["id"]


def test_pr_update_replaces_reviewers_and_bumps_updated_on(emulator: Emulator):
    s = session(emulator, "bob")
    api = emulator.api_url
    pr = s.get(f"{api}{R}/pullrequests/4").json()
    assert pr["state"] == "OPEN" and pr["reviewers"]
    carol = emulator.account("carol")["uuid"]
    r = s.put(pr["links"]["self"]["href"], json={"title": "New title", "reviewers": [{"uuid": carol}]})
    assert r.status_code == 200
    updated = r.json()
    assert updated["title"] == "New title" and [u["uuid"] for u in updated["reviewers"]] == [carol]
    assert updated["updated_on"] > pr["updated_on"]
    r = s.put(pr["links"]["self"]["href"], json={"description": "no title"})
    assert r.status_code == 400 and r.json()["error"]["fields"] == {"title": ["This field is required."]}


def test_request_changes_then_withdraw(emulator: Emulator):
    s = session(emulator, "carol")
    url = f"{emulator.api_url}{R}/pullrequests/4/request-changes"
    r = s.post(url)
    assert r.status_code == 200 and r.json()["state"] == "changes_requested" and r.json()["approved"] is False
    assert s.delete(url).status_code == 204
    participants = s.get(f"{emulator.api_url}{R}/pullrequests/4").json()["participants"]
    assert all(p["state"] is None for p in participants if p["user"]["uuid"] == emulator.account("carol")["uuid"])


def test_webhook_retried_after_failure(emulator: Emulator):
    receiver = Receiver(fail_first=1)
    try:
        s = session(emulator, "alice")
        body = {"url": receiver.url, "events": ["repo:push"], "active": True}
        assert s.post(f"{emulator.api_url}{R}/hooks", json=body).status_code == 201
        emulator.webhooks.retry_delays = (0.05,)
        commit(s, emulator, "main", {"retry.txt": "r\n"})
        deadline = time.monotonic() + 5
        while len(receiver.deliveries) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        attempts = [d["headers"]["X-Attempt-Number"] for d in receiver.deliveries]
        assert attempts == ["1", "2"]
        assert len({d["headers"]["X-Request-UUID"] for d in receiver.deliveries}) == 1
        assert "X-Hub-Signature" not in receiver.deliveries[0]["headers"]  # no secret, no signature
    finally:
        receiver.close()


def test_pr_diff_redirects_to_the_emulator_and_shows_the_change(emulator: Emulator):
    s = session(emulator, "alice")
    r = s.get(f"{emulator.api_url}{R}/pullrequests/3/diff", allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(emulator.api_url)
    diff = s.get(f"{emulator.api_url}{R}/pullrequests/3/diff").text
    assert "-PAGE_SIZE = 50" in diff and "+PAGE_SIZE = 100" in diff
    stat = s.get(f"{emulator.api_url}{R}/pullrequests/3/diffstat").json()
    assert stat["values"][0]["new"]["path"] == "src/api_server/settings.py"


def test_src_urlencoded_deletion_and_new_branch_from_parent(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    main = tip(s, emulator, "main")
    r = s.post(
        f"{api}{R}/src",
        data=[
            ("branch", "feature/cleanup"),
            ("parents", main),
            ("files", ".gitignore"),
            ("notes.txt", "kept\n"),
            ("message", "Tidy up"),
            ("author", "Robot <robot@acme.test>"),
        ],
    )
    assert r.status_code == 201
    h = r.headers["Location"].rsplit("/", 1)[1]
    c = s.get(f"{api}{R}/commit/{h}").json()
    assert c["parents"][0]["hash"] == main and c["author"]["raw"] == "Robot <robot@acme.test>"
    assert s.get(f"{api}{R}/src/feature/cleanup/.gitignore").status_code == 404
    assert s.get(f"{api}{R}/src/feature/cleanup/notes.txt").text == "kept\n"
    assert tip(s, emulator, "main") == main  # a new branch does not move main


def test_src_multipart_several_files_deletion_and_executable(emulator: Emulator):
    s = session(emulator, "bob")
    api = emulator.api_url
    main = tip(s, emulator, "main")
    files = [
        ("src/api_server/a.py", ("a.py", b"A = 1\n")),
        ("src/api_server/b.py", ("b.py", b"B = 2\n")),
        ("/message", ("message", b"a file literally named message\n")),
    ]
    data = [
        ("branch", "main"),
        ("parents", main),
        ("message", "Three files, one gone"),
        ("files", "src/api_server/settings.py"),
    ]
    r = s.post(f"{api}{R}/src", data=data, files=files)
    assert r.status_code == 201
    head = r.headers["Location"].rsplit("/", 1)[1]
    commit_json = s.get(f"{api}{R}/commit/{head}").json()
    assert commit_json["message"] == "Three files, one gone\n"
    assert commit_json["author"]["user"]["nickname"] == "bob"
    assert s.get(f"{api}{R}/src/{head}/src/api_server/b.py").text == "B = 2\n"
    assert s.get(f"{api}{R}/src/{head}/message").text == "a file literally named message\n"
    assert s.get(f"{api}{R}/src/{head}/src/api_server/settings.py").status_code == 404
    stat = s.get(f"{api}{R}/diffstat/{head}").json()["values"]
    assert {(d["status"], (d["new"] or d["old"])["path"]) for d in stat} == {
        ("added", "src/api_server/a.py"),
        ("added", "src/api_server/b.py"),
        ("added", "message"),
        ("removed", "src/api_server/settings.py"),
    }


def test_concurrent_clients_keep_the_world_consistent(emulator: Emulator):
    api = emulator.api_url
    errors: list[str] = []

    def writer(n: int) -> None:
        s = session(emulator, "alice")
        for i in range(5):
            r = s.post(f"{api}{R}/src", data={"branch": f"load/{n}", f"load/{n}/{i}.txt": str(i)})
            if r.status_code != 201:
                errors.append(r.text)

    def reader() -> None:
        s = session(emulator, "bob")
        for _ in range(10):
            r = s.get(f"{api}{R}/pullrequests?pagelen=50&state=OPEN&state=MERGED")
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s = session(emulator, "alice")
    for n in range(4):
        listing = s.get(f"{api}{R}/src/load/{n}/load/{n}/?pagelen=100").json()["values"]
        assert len(listing) == 5


def test_diff_ignore_whitespace_hides_whitespace_only_changes(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    base = tip(s, emulator, "main")
    emulator.world.commit_files(
        "acme", "api-server", "main", "alice", {"ws.py": "def f():\n    return 1\n", "real.py": "A = 1\n"}
    )
    old = tip(s, emulator, "main")
    emulator.world.commit_files(
        "acme", "api-server", "main", "alice", {"ws.py": "def f():\n        return 1\n", "real.py": "A = 2\n"}
    )
    new = tip(s, emulator, "main")
    assert base != old != new
    plain = s.get(f"{api}{R}/diff/{new}").text
    assert "-    return 1" in plain and "+        return 1" in plain
    quiet = s.get(f"{api}{R}/diff/{new}", params={"ignore_whitespace": "true"}).text
    # The whitespace-only file keeps its header without hunks (as `git diff -w`); the real change stays.
    assert "diff --git a/ws.py b/ws.py" in quiet and "return 1" not in quiet
    assert "-A = 1" in quiet and "+A = 2" in quiet
    stat = s.get(f"{api}{R}/diffstat/{new}", params={"ignore_whitespace": "true"}).json()["values"]
    counts = {d["new"]["path"]: (d["lines_added"], d["lines_removed"]) for d in stat}
    assert counts == {"ws.py": (0, 0), "real.py": (1, 1)}
    # A pull request's diff passes the parameter on through its redirect.
    r = s.get(f"{api}{R}/pullrequests/3/diff", params={"ignore_whitespace": "true"}, allow_redirects=False)
    assert "ignore_whitespace=true" in r.headers["Location"]
