"""The `/_emulator/` controls: each does what it says, and all are off by default."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from bitbucket_emulator import Emulator

from .helpers import session

R = "/repositories/acme/api-server"


def control(emu: Emulator, http_method: str, control_path: str, **body) -> dict:
    r = requests.request(http_method, f"{emu.base_url}/_emulator/{control_path}", json=body or None, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def test_controls_are_off_unless_enabled(emulator_factory):
    emu = emulator_factory(controls=False)
    assert requests.get(emu.base_url + "/_emulator/", timeout=5).status_code == 404
    assert requests.get(emu.base_url + "/_emulator/requests", timeout=5).status_code == 404
    assert requests.post(emu.base_url + "/_emulator/faults", json={"every": 1}, timeout=5).status_code == 404
    s = session(emu, "alice")
    statuses = {s.get(emu.api_url + R).status_code for _ in range(30)}
    assert statuses == {200}


def test_nothing_injected_by_default(emulator: Emulator):
    state = control(emulator, "GET", "")
    assert state["latency"] == {"ms": 0.0, "jitter_ms": 0.0}
    assert state["rate_limit"] is None and state["faults"] is None
    assert emulator.controls.delay() == 0
    s = session(emulator, "alice")
    assert {s.get(emulator.api_url + R).status_code for _ in range(40)} == {200}


def test_request_counts_per_credential_and_endpoint_and_reset(emulator: Emulator):
    control(emulator, "POST", "requests/reset")
    alice, bob = session(emulator, "alice"), session(emulator, "token:acme-sync")
    for _ in range(3):
        alice.get(emulator.api_url + R + "/pullrequests")
    bob.get(emulator.api_url + R)
    session(emulator, "bad").get(emulator.api_url + R)
    alice.get(emulator.api_url + "/repositories/acme/nope")
    counts = control(emulator, "GET", "requests")
    assert counts["total"] == 6
    family = "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests"
    assert counts["by_credential"]["api_token:alice"]["endpoints"][family] == {"total": 3, "status": {"200": 3}}
    assert counts["by_credential"]["api_token:alice"]["status"] == {"200": 3, "404": 1}
    assert counts["by_credential"]["access_token:acme-sync"]["total"] == 1
    assert counts["by_credential"]["invalid"]["status"] == {"401": 1}
    assert counts["by_endpoint"]["GET /2.0/repositories/{workspace}/{repo_slug}"]["status"] == {
        "200": 1,
        "401": 1,
        "404": 1,
    }
    control(emulator, "POST", "requests/reset")
    assert control(emulator, "GET", "requests") == {"total": 0, "by_credential": {}, "by_endpoint": {}}


def test_latency_injection(emulator: Emulator):
    s = session(emulator, "alice")
    control(emulator, "POST", "latency", ms=150)
    started = time.monotonic()
    s.get(emulator.api_url + R)
    assert time.monotonic() - started >= 0.15
    assert emulator.controls.delay() == 0.15
    requests.delete(emulator.base_url + "/_emulator/latency", timeout=5)
    assert emulator.controls.delay() == 0


@pytest.mark.parametrize("retry_after", [None, 7])
def test_rate_limit_per_credential_rolling_window(emulator: Emulator, retry_after):
    now = [1000.0]
    emulator.controls.clock = lambda: now[0]
    control(emulator, "POST", "rate-limit", limit=3, window=60, retry_after=retry_after)
    alice, bob = session(emulator, "alice"), session(emulator, "bob")
    statuses = [alice.get(emulator.api_url + R).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = alice.get(emulator.api_url + R)
    assert limited.headers["Content-Type"] == "text/plain"
    assert limited.text == "Rate limit for this resource has been exceeded"
    assert limited.headers.get("Retry-After") == (str(retry_after) if retry_after else None)
    assert bob.get(emulator.api_url + R).status_code == 200  # another credential has its own allowance
    assert alice.get(emulator.api_url + "/user").status_code == 200  # only /2.0/repositories/* is limited
    now[0] += 59
    assert alice.get(emulator.api_url + R).status_code == 429  # still inside the rolling window
    now[0] += 1.5
    assert alice.get(emulator.api_url + R).status_code == 200  # the first requests left the window
    requests.delete(emulator.base_url + "/_emulator/rate-limit", timeout=5)
    assert {alice.get(emulator.api_url + R).status_code for _ in range(5)} == {200}


def test_rate_limit_can_cover_every_resource(emulator: Emulator):
    control(emulator, "POST", "rate-limit", limit=1, window=60, resource="all")
    alice = session(emulator, "alice")
    assert alice.get(emulator.api_url + "/user").status_code == 200
    assert alice.get(emulator.api_url + "/user").status_code == 429


@pytest.mark.parametrize("kind", ["500", "555"])
def test_fault_every_nth_request(emulator: Emulator, kind: str):
    control(emulator, "POST", "faults", every=3, kind=kind)
    s = session(emulator, "alice")
    statuses = [s.get(emulator.api_url + R).status_code for _ in range(6)]
    assert statuses == [200, 200, int(kind), 200, 200, int(kind)]
    requests.delete(emulator.base_url + "/_emulator/faults", timeout=5)
    assert {s.get(emulator.api_url + R).status_code for _ in range(6)} == {200}


def test_fault_drop_cuts_the_connection(emulator: Emulator):
    control(emulator, "POST", "faults", every=2, kind="drop")
    s = session(emulator, "alice")
    assert s.get(emulator.api_url + R).status_code == 200
    with pytest.raises(requests.ConnectionError):
        s.get(emulator.api_url + R, timeout=5)
    assert s.get(emulator.api_url + R).status_code == 200
    counts = control(emulator, "GET", "requests")
    assert counts["by_credential"]["api_token:alice"]["status"]["dropped"] == 1


def test_fault_slow_and_path_filter(emulator: Emulator):
    control(emulator, "POST", "faults", every=1, kind="slow", delay=1.0, path="/2.0/repositories/acme/docs")
    s = session(emulator, "alice")
    started = time.monotonic()
    assert s.get(emulator.api_url + R).status_code == 200
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    assert s.get(emulator.api_url + "/repositories/acme/docs").status_code == 200
    assert time.monotonic() - started >= 1.0


def test_time_travel_moves_updated_on(emulator: Emulator):
    s = session(emulator, "alice")
    before = s.get(emulator.api_url + R + "/pullrequests/4").json()["updated_on"]
    shifted = control(emulator, "POST", "time", shift_seconds=86400 * 30)
    assert shifted["offset_seconds"] == 86400 * 30
    s.post(emulator.api_url + R + "/pullrequests/4/comments", json={"content": {"raw": "Later"}})
    after = s.get(emulator.api_url + R + "/pullrequests/4").json()["updated_on"]
    assert after > before and after[:10] == shifted["now"][:10]


def test_world_actions_over_http(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    uuid = s.get(api + "/repositories/acme/docs").json()["uuid"]
    assert (
        control(emulator, "POST", "world/rename-repository", workspace="acme", repo_slug="docs", new_name="Handbook")[
            "result"
        ]
        == "handbook"
    )
    renamed = s.get(api + "/repositories/acme/handbook").json()
    assert renamed["uuid"] == uuid and renamed["name"] == "Handbook"
    assert s.get(api + "/repositories/acme/docs").status_code == 404
    assert s.get(api + f"/repositories/acme/{uuid}").json()["slug"] == "handbook"

    result = control(
        emulator,
        "POST",
        "world/commit",
        workspace="acme",
        repo_slug="api-server",
        branch="main",
        username="bob",
        files={"NEWS.md": "news\n"},
        message="News",
    )["result"]
    head = s.get(api + R + "/commit/" + result["hash"]).json()
    assert head["author"]["user"]["nickname"] == "bob" and head["message"] == "News\n"

    control(
        emulator,
        "POST",
        "world/update-pull-request-title",
        workspace="acme",
        repo_slug="api-server",
        pr_id=4,
        username="dave",
        title="Retitled",
    )
    assert s.get(api + R + "/pullrequests/4").json()["title"] == "Retitled"

    control(emulator, "POST", "world/add-watcher", workspace="acme", repo_slug="infra", username="bob")
    watchers = {w["nickname"] for w in s.get(api + "/repositories/acme/infra/watchers").json()["values"]}
    assert "bob" in watchers
    control(emulator, "POST", "world/remove-watcher", workspace="acme", repo_slug="infra", username="bob")
    control(emulator, "POST", "world/add-member", workspace="alice-labs", username="dave")
    members = s.get(api + "/workspaces/alice-labs/members").json()["values"]
    assert "dave" in {m["user"]["nickname"] for m in members}
    control(emulator, "POST", "world/grant", workspace="acme", repo_slug="infra", username="bob", permission="write")
    assert session(emulator, "bob").get(api + "/repositories/acme/infra").status_code == 200
    control(emulator, "POST", "world/delete-repository", workspace="acme", repo_slug="infra")
    assert s.get(api + "/repositories/acme/infra").status_code == 404

    r = requests.post(emulator.base_url + "/_emulator/world/nope", json={}, timeout=5)
    assert r.status_code == 404
    r = requests.post(emulator.base_url + "/_emulator/world/grant", json={"colour": "red"}, timeout=5)
    assert r.status_code == 400


def test_app_password_switch_over_http(emulator: Emulator):
    bob = session(emulator, "app:bob")
    assert bob.get(emulator.api_url + "/user").status_code == 200
    control(emulator, "POST", "app-passwords", enabled=False)
    assert bob.get(emulator.api_url + "/user").status_code == 401


def test_keep_alive_reuses_one_connection(emulator: Emulator):
    accepted = []
    server = emulator._server
    original = server.process_request

    def counting(request, client_address):
        accepted.append(client_address)
        original(request, client_address)

    server.process_request = counting
    s = session(emulator, "alice")
    responses = [s.get(emulator.api_url + R) for _ in range(5)]
    responses.append(s.post(emulator.api_url + R + "/pullrequests/4/comments", json={"content": {"raw": "k"}}))
    responses.append(s.get(emulator.api_url + R, headers={"If-None-Match": responses[0].headers["ETag"]}))
    responses.append(s.head(emulator.api_url + R))
    responses.append(s.get(emulator.api_url + R))
    assert [r.status_code for r in responses] == [200] * 5 + [201, 304, 200, 200]
    assert all(r.raw.version == 11 and r.headers.get("Connection") != "close" for r in responses)
    assert len(accepted) == 1  # one TCP connection for every request


def test_rate_limit_headers_only_for_access_tokens(emulator: Emulator):
    control(emulator, "POST", "rate-limit", limit=5, window=60)
    token = session(emulator, "token:acme-sync")
    first = token.get(emulator.api_url + R)
    assert first.headers["X-RateLimit-Limit"] == "5" and first.headers["X-RateLimit-Resource"] == "api"
    assert first.headers["X-RateLimit-NearLimit"] == "false"
    for _ in range(3):
        last = token.get(emulator.api_url + R)
    assert last.headers["X-RateLimit-NearLimit"] == "true"
    assert "X-RateLimit-Limit" not in session(emulator, "alice").get(emulator.api_url + R).headers


def test_reset_returns_to_the_seed(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    main = s.get(api + R + "/refs/branches/main").json()["target"]["hash"]
    emulator.world.commit_files("acme", "api-server", "main", "alice", {"gone.txt": "soon\n"})
    emulator.world.delete_repository("acme", "docs")
    control(emulator, "POST", "time", shift_seconds=3600)
    assert control(emulator, "POST", "reset")["reset"] is True
    assert s.get(api + R + "/refs/branches/main").json()["target"]["hash"] == main
    assert s.get(api + "/repositories/acme/docs").status_code == 200
    assert control(emulator, "GET", "time")["offset_seconds"] == 0


def test_merge_faults_409_and_slow_merges(emulator: Emulator):
    s = session(emulator, "alice")
    api = emulator.api_url
    s.post(api + R + "/refs/branches", json={"name": "feature/slow", "target": {"hash": "main"}})
    s.post(api + R + "/src", data={"branch": "feature/slow", "slow.txt": "s\n"})
    pr = s.post(api + R + "/pullrequests", json={"title": "Slow", "source": {"branch": {"name": "feature/slow"}}})
    merge_url = pr.json()["links"]["merge"]["href"]
    control(emulator, "POST", "faults", every=1, kind="409", path=merge_url.removeprefix(emulator.base_url))
    r = s.post(merge_url, json={})
    assert r.status_code == 409 and "refs involved changed" in r.json()["error"]["message"]
    assert s.get(pr.json()["links"]["self"]["href"]).json()["state"] == "OPEN"
    requests.delete(emulator.base_url + "/_emulator/faults", timeout=5)
    emulator.app.merge_task_delay = 0.0
    control(emulator, "POST", "slow-merges", enabled=True)
    r = s.post(merge_url, json={})
    assert r.status_code == 202 and "/merge/task-status/" in r.headers["Location"]
    deadline = time.monotonic() + 5
    while s.get(r.headers["Location"]).json()["task_status"] != "SUCCESS" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert s.get(pr.json()["links"]["self"]["href"]).json()["state"] == "MERGED"


def test_reset_drops_a_merge_still_running(emulator: Emulator):
    """A slow merge started before a reset must not land in the seeded world (nor send its event to a new hook)."""
    s = session(emulator, "alice")
    api = emulator.api_url
    events: list[str] = []

    def record(event: str, *args, **kwargs) -> None:
        events.append(event)

    emulator.world.listeners.append(record)
    emulator.app.merge_task_delay = 0.3
    control(emulator, "POST", "slow-merges", enabled=True)
    number = s.get(api + R + "/pullrequests", params={"state": "OPEN"}).json()["values"][0]["id"]
    merge = s.post(api + R + f"/pullrequests/{number}/merge", json={})
    assert merge.status_code == 202
    control(emulator, "POST", "reset")
    time.sleep(0.6)
    emulator.world.listeners.remove(record)
    assert "pullrequest:fulfilled" not in events
    assert s.get(api + R + f"/pullrequests/{number}").json()["state"] == "OPEN"


def test_chunked_request_body(emulator: Emulator):
    def body():
        yield b'{"content": '
        yield b'{"raw": "sent in chunks"}}'

    s = session(emulator, "alice")
    r = s.post(
        emulator.api_url + R + "/pullrequests/4/comments", data=body(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 201 and r.json()["content"]["raw"] == "sent in chunks"
    assert s.get(emulator.api_url + R).status_code == 200  # the connection is still in step


@pytest.fixture
def hook_events(emulator: Emulator) -> Iterator[list[str]]:
    """A repository webhook on api-server for pushes and PR updates, to a receiver that records each event key."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append(self.headers["X-Event-Key"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    hook = {
        "url": f"http://127.0.0.1:{server.server_address[1]}/hook",
        "events": ["repo:push", "pullrequest:updated"],
        "active": True,
    }
    assert session(emulator, "alice").post(emulator.api_url + R + "/hooks", json=hook).status_code == 201
    yield received
    server.shutdown()
    server.server_close()


def _retitle(emu: Emulator, title: str) -> None:
    emu.world.update_pull_request_title("acme", "api-server", 4, "bob", title)


def _push(emu: Emulator, text: str) -> None:
    emu.world.commit_files("acme", "api-server", "main", "alice", {"NOTES.md": text})


def _settled(emu: Emulator) -> list[dict]:
    assert emu.webhooks.wait_idle(timeout=10)
    return emu.webhooks.deliveries()


def test_webhook_drop_is_off_by_default(emulator: Emulator, hook_events: list[str]):
    assert control(emulator, "GET", "")["webhook_drops"] is None
    assert control(emulator, "GET", "webhooks/drop") is None
    _retitle(emulator, "Sent as usual")
    _push(emulator, "pushed\n")
    deliveries = _settled(emulator)
    assert [(d["event"], d["dropped"]) for d in deliveries] == [("pullrequest:updated", False), ("repo:push", False)]
    assert all(d["attempts"][0]["status"] == 200 for d in deliveries)
    assert hook_events == ["pullrequest:updated", "repo:push"]


def test_webhook_drop_next_n_of_some_events_over_http(emulator: Emulator, hook_events: list[str]):
    rule = control(emulator, "POST", "webhooks/drop", count=1, events=["pullrequest:updated"])
    assert rule == {"remaining": 1, "events": ["pullrequest:updated"]}
    _push(emulator, "not an update: sent\n")
    _retitle(emulator, "Lost on the way")
    _retitle(emulator, "The count is used up: sent")
    deliveries = _settled(emulator)
    assert [(d["event"], d["dropped"]) for d in deliveries] == [
        ("repo:push", False),
        ("pullrequest:updated", True),
        ("pullrequest:updated", False),
    ]
    lost = deliveries[1]
    assert lost["attempts"] == [] and lost["done"]  # never sent, never retried
    assert hook_events == ["repo:push", "pullrequest:updated"]
    assert control(emulator, "GET", "webhooks/drop") is None  # the rule ended with its count


def test_webhook_drop_every_delivery_until_stopped(emulator: Emulator, hook_events: list[str]):
    emulator.webhooks.retry_delays = (5.0,)  # a retry would outlast the wait below
    emulator.controls.drop_webhooks()
    assert control(emulator, "GET", "webhooks/drop") == {"remaining": None, "events": None}
    _retitle(emulator, "Lost one")
    _push(emulator, "lost two\n")
    _retitle(emulator, "Lost three")
    started = time.monotonic()
    deliveries = _settled(emulator)
    assert time.monotonic() - started < 1.0
    assert [d["dropped"] for d in deliveries] == [True, True, True]
    assert all(d["attempts"] == [] for d in deliveries)
    time.sleep(0.2)
    assert hook_events == []
    requests.delete(emulator.base_url + "/_emulator/webhooks/drop", timeout=5)
    assert emulator.controls.webhook_drop is None
    _retitle(emulator, "Heard again")
    assert [d["dropped"] for d in _settled(emulator)] == [True, True, True, False]
    assert hook_events == ["pullrequest:updated"]


def test_webhook_drop_rejects_bad_input_and_keeps_the_rule(emulator: Emulator):
    url = emulator.base_url + "/_emulator/webhooks/drop"
    for body in ({"count": 0}, {"count": "2"}, {"count": True}, {"events": ["pullrequest:merged"]}, {"events": []}):
        r = requests.post(url, json=body, timeout=5)
        assert r.status_code == 400, body
        assert r.json()["error"]
    r = requests.post(url, json={"events": "repo:push"}, timeout=5)
    assert r.status_code == 400 and "list" in r.json()["error"]
    assert control(emulator, "GET", "webhooks/drop") is None
    assert requests.put(url, json={}, timeout=5).status_code == 405
    with pytest.raises(ValueError):
        emulator.controls.drop_webhooks(count=-1)


def test_status_control_runs_a_build_on_a_pull_request_then_on_a_commit(emulator: Emulator):
    s = session(emulator, "alice")
    args = {"workspace": "acme", "repo_slug": "api-server", "key": "ci", "name": "Build #1"}
    running = control(emulator, "POST", "statuses", pr_id=9, state="INPROGRESS", url="https://ci.example/1", **args)
    assert running["result"]["created"] is True and running["result"]["state"] == "INPROGRESS"
    page = s.get(f"{emulator.api_url}{R}/pullrequests/9/statuses").json()
    assert [(v["key"], v["state"], v["url"]) for v in page["values"]] == [("ci", "INPROGRESS", "https://ci.example/1")]
    assert (
        page["values"][0]["refname"]
        == s.get(f"{emulator.api_url}{R}/pullrequests/9").json()["source"]["branch"]["name"]
    )
    passing = control(emulator, "POST", "statuses", pr_id=9, state="SUCCESSFUL", **args)
    assert passing["result"]["created"] is False
    page = s.get(f"{emulator.api_url}{R}/pullrequests/9/statuses").json()
    assert [(v["state"], v["url"]) for v in page["values"]] == [("SUCCESSFUL", "https://ci.example/1")]  # url kept
    on_main = control(emulator, "POST", "statuses", commit="main", state="FAILED", **args)
    assert len(on_main["result"]["commit"]) == 40
    assert s.get(f"{emulator.api_url}{R}/commit/main/statuses/build/ci").json()["state"] == "FAILED"
    for bad in ({"pr_id": 9, "commit": "main"}, {"state": "GREEN", "pr_id": 9}, {"colour": "red", "pr_id": 9}):
        body = {"state": "FAILED", **args, **bad}
        r = requests.post(f"{emulator.base_url}/_emulator/statuses", json=body, timeout=5)
        assert r.status_code == 400, (bad, r.text)
