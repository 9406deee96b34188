"""Commit build statuses over real HTTP: overwrite by key, partial PUT, the refname filter, what a pull request
shows, scopes, the webhooks, and the control that runs builds."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests

from bitbucket_emulator import Emulator
from bitbucket_emulator.seeds import load_seed
from bitbucket_emulator.world import persistence

from .helpers import open_pr, session
from .test_scenarios import Receiver

R = "/repositories/acme/api-server"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _source_tip(emu: Emulator, pr_id: int) -> str:
    with emu.world.lock:
        return emu.world.repository("acme", "api-server").pullrequests[pr_id].source_hash


def _post(s: requests.Session, emu: Emulator, commit: str, **body) -> requests.Response:
    return s.post(f"{emu.api_url}{R}/commit/{commit}/statuses/build", json=body)


def test_status_post_overwrites_by_key_and_keeps_created_on(emulator: Emulator):
    s = session(emulator, "alice")
    pr = open_pr(emulator, "api-server", "ci/overwrite")
    tip = _source_tip(emulator, pr)
    first = _post(s, emulator, tip, key="ci", state="INPROGRESS", name="Build #1", url="https://ci.example/1")
    assert first.status_code == 201
    body = first.json()
    assert body["type"] == "build" and body["commit"]["hash"] == tip and body["refname"] is None
    assert body["repository"]["full_name"] == "acme/api-server"
    assert body["links"]["self"]["href"] == f"{emulator.api_url}{R}/commit/{tip}/statuses/build/ci"
    assert first.headers["Location"] == body["links"]["self"]["href"]
    emulator.world.time_travel(60)
    again = _post(s, emulator, tip, key="ci", state="FAILED", name="Build #2", url="https://ci.example/2")
    assert again.status_code == 201
    assert again.json()["created_on"] == body["created_on"]
    assert again.json()["updated_on"] > body["updated_on"]
    listing = s.get(f"{emulator.api_url}{R}/commit/{tip}/statuses").json()
    assert [(v["key"], v["state"], v["name"]) for v in listing["values"]] == [("ci", "FAILED", "Build #2")]


def test_status_put_changes_only_what_is_sent(emulator: Emulator):
    s = session(emulator, "alice")
    pr = open_pr(emulator, "api-server", "ci/put")
    tip = _source_tip(emulator, pr)
    _post(s, emulator, tip, key="ci", state="INPROGRESS", name="Build #3", url="https://ci.example/3")
    r = s.put(f"{emulator.api_url}{R}/commit/{tip}/statuses/build/ci", json={"state": "SUCCESSFUL"})
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["name"], r.json()["url"]) == ("SUCCESSFUL", "Build #3", "https://ci.example/3")
    assert s.get(f"{emulator.api_url}{R}/commit/{tip}/statuses/build/ci").json()["state"] == "SUCCESSFUL"
    missing = s.put(f"{emulator.api_url}{R}/commit/{tip}/statuses/build/other", json={"state": "FAILED"})
    assert missing.status_code == 404 and missing.json()["type"] == "error"
    bad = s.put(f"{emulator.api_url}{R}/commit/{tip}/statuses/build/ci", json={"state": "GREEN"})
    assert bad.status_code == 400 and "state" in bad.json()["error"]["fields"]


def test_commit_statuses_refname_filter_sort_and_pages(emulator: Emulator):
    s = session(emulator, "alice")
    with emulator.world.lock:
        main = emulator.world.repository("acme", "api-server").branches["main"]
    for i in range(32):
        refname = "main" if i % 2 else ("other" if i % 3 == 0 else None)
        body = {"key": f"k{i:02d}", "state": "SUCCESSFUL"} | ({"refname": refname} if refname else {})
        assert _post(s, emulator, main, **body).status_code == 201
    first = s.get(f"{emulator.api_url}{R}/commit/{main}/statuses").json()
    assert first["pagelen"] == 30 and first["size"] == 32 and len(first["values"]) == 30
    assert first["next"].endswith("page=2")
    assert [v["key"] for v in first["values"]][:3] == ["k00", "k01", "k02"]  # created_on, oldest first
    everything = first["values"] + s.get(first["next"]).json()["values"]
    assert len({v["key"] for v in everything}) == 32
    # refname=main: those made without a refname plus those made for main, never those for another branch.
    for_main = s.get(f"{emulator.api_url}{R}/commit/{main}/statuses?refname=main&pagelen=100").json()["values"]
    assert {v["refname"] for v in for_main} == {None, "main"}
    assert len(for_main) == 32 - sum(1 for i in range(32) if i % 2 == 0 and i % 3 == 0)
    newest = s.get(f"{emulator.api_url}{R}/commit/{main}/statuses?sort=-created_on&pagelen=1").json()
    assert newest["values"][0]["key"] == "k31"
    state_q = s.get(f"{emulator.api_url}{R}/commit/{main}/statuses", params={"q": 'key = "k05"'}).json()
    assert [v["key"] for v in state_q["values"]] == ["k05"]


def test_pull_request_statuses_show_the_source_tip_for_its_branch_only(emulator: Emulator):
    s = session(emulator, "alice")
    pr = open_pr(emulator, "api-server", "ci/pr")
    tip = _source_tip(emulator, pr)
    updated_on = s.get(f"{emulator.api_url}{R}/pullrequests/{pr}").json()["updated_on"]
    _post(s, emulator, tip, key="plain", state="SUCCESSFUL")
    _post(s, emulator, tip, key="branch", state="FAILED", refname="ci/pr")
    _post(s, emulator, tip, key="elsewhere", state="FAILED", refname="main")
    page = s.get(f"{emulator.api_url}{R}/pullrequests/{pr}/statuses").json()
    assert page["pagelen"] == 30
    assert sorted(v["key"] for v in page["values"]) == ["branch", "plain"]
    assert {v["commit"]["hash"] for v in page["values"]} == {tip[:12]}  # the 12-character form, as recorded
    # A status does not move the pull request's updated_on.
    assert s.get(f"{emulator.api_url}{R}/pullrequests/{pr}").json()["updated_on"] == updated_on
    # A push moves the tip: the old commit's statuses are no longer the PR's.
    emulator.world.commit_files("acme", "api-server", "ci/pr", "bob", {"notes/more.md": "more\n"})
    assert s.get(f"{emulator.api_url}{R}/pullrequests/{pr}/statuses").json()["values"] == []


def test_status_writes_need_only_read_scopes_and_a_visible_repository(emulator: Emulator):
    with emulator.world.lock:
        emulator.world.user("grace").api_token_scopes = ["read:repository:bitbucket"]
        main = emulator.world.repository("acme", "api-server").branches["main"]
        infra_main = emulator.world.repository("acme", "infra").branches["main"]
    grace = session(emulator, "grace")  # read access to api-server only
    assert _post(grace, emulator, main, key="ro", state="SUCCESSFUL").status_code == 201
    r = grace.put(f"{emulator.api_url}{R}/commit/{main}/statuses/build/ro", json={"state": "FAILED"})
    assert r.status_code == 200
    hidden = session(emulator, "bob").post(
        f"{emulator.api_url}/repositories/acme/infra/commit/{infra_main}/statuses/build",
        json={"key": "x", "state": "FAILED"},
    )
    assert hidden.status_code == 404
    assert _post(session(emulator, None), emulator, main, key="anon", state="FAILED").status_code == 401
    # The pull request list needs the pull request scope.
    assert grace.get(f"{emulator.api_url}{R}/pullrequests/3/statuses").status_code == 403


def test_status_webhooks_created_then_updated(emulator: Emulator, receiver: Receiver):
    s = session(emulator, "alice")
    secret = "status-secret"
    hook = {"url": receiver.url, "events": ["repo:commit_status_created", "repo:commit_status_updated"]}
    assert s.post(f"{emulator.api_url}/workspaces/acme/hooks", json={**hook, "secret": secret}).status_code == 201
    pr = open_pr(emulator, "api-server", "ci/hooks")
    tip = _source_tip(emulator, pr)
    _post(s, emulator, tip, key="ci", state="INPROGRESS", refname="ci/hooks", url="https://ci.example/9")
    created = receiver.wait_for("repo:commit_status_created")
    _post(s, emulator, tip, key="ci", state="SUCCESSFUL", refname="ci/hooks", url="https://ci.example/9")
    updated = receiver.wait_for("repo:commit_status_updated")
    expected = "sha256=" + hmac.new(secret.encode(), created["body"], hashlib.sha256).hexdigest()
    assert created["headers"]["X-Hub-Signature"] == expected
    first, second = json.loads(created["body"]), json.loads(updated["body"])
    assert first["repository"]["full_name"] == "acme/api-server" and first["actor"]["uuid"]
    status = first["commit_status"]
    assert (status["key"], status["state"], status["type"], status["refname"]) == (
        "ci",
        "INPROGRESS",
        "build",
        "ci/hooks",
    )
    assert status["links"]["commit"]["href"].endswith(f"/commit/{tip}")
    assert second["commit_status"]["state"] == "SUCCESSFUL"
    assert second["commit_status"]["created_on"] == status["created_on"]
    assert receiver.events().count("repo:commit_status_created") == 1


def test_demo_seed_has_passing_failing_and_running_builds(emulator: Emulator):
    s = session(emulator, "alice")
    states = {}
    for pr in s.get(f"{emulator.api_url}{R}/pullrequests").json()["values"]:
        page = s.get(f"{emulator.api_url}{R}/pullrequests/{pr['id']}/statuses").json()
        states[pr["title"]] = sorted(v["state"] for v in page["values"])
    assert states["Raise the default page size"] == ["SUCCESSFUL", "SUCCESSFUL"]
    assert states["Add customer lookup endpoint"] == ["FAILED", "SUCCESSFUL"]
    assert states["Rate limit order creation"] == ["INPROGRESS"]
    assert states["Refund endpoint"] == []


def test_statuses_survive_the_state_file():
    world = load_seed("demo")
    restored = persistence.from_dict(json.loads(json.dumps(persistence.to_dict(world))))
    for uuid, repo in world.repositories.items():
        assert restored.repositories[uuid].statuses == repo.statuses
    assert any(repo.statuses for repo in restored.repositories.values())
