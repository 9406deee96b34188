"""Pull request comments over HTTP: inline anchors, replies, edits, soft deletes, resolution, drafts, outdated
anchors after a push, and their webhooks (reference sections 24 and 32)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from bitbucket_emulator import Emulator
from bitbucket_emulator.seeds import load_seed
from bitbucket_emulator.world import comments, persistence

from .helpers import open_pr, session
from .test_scenarios import Receiver

R = "/repositories/acme/api-server"
FILE = "src/comments_demo.py"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _pr(emu: Emulator, branch: str) -> tuple[int, str]:
    pr = open_pr(emu, "api-server", branch, files={FILE: "one\ntwo\nthree\nfour\n"})
    return pr, f"{emu.api_url}{R}/pullrequests/{pr}/comments"


def _post(s, url: str, raw: str = "Looks off", **extra) -> dict:
    r = s.post(url, json={"content": {"raw": raw}, **extra})
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == r.json()["links"]["self"]["href"]
    return r.json()


def test_new_side_old_side_and_range_anchors(emulator: Emulator):
    s = session(emulator, "alice")
    pr, url = _pr(emulator, "comments/anchors")
    new = _post(s, url, inline={"path": FILE, "to": 2})
    old = _post(s, url, inline={"path": "README.md", "from": 1})
    span = _post(s, url, inline={"path": FILE, "start_to": 2, "to": 4})

    assert {k: new["inline"][k] for k in ("path", "from", "to", "start_from", "start_to")} == {
        "path": FILE,
        "from": None,
        "to": 2,
        "start_from": None,
        "start_to": None,
    }
    assert (old["inline"]["from"], old["inline"]["to"]) == (1, None)
    assert (span["inline"]["start_to"], span["inline"]["to"]) == (2, 4)
    # The create answer adds what the comment was made against; lists carry the five anchor keys only.
    with emulator.world.lock:
        p = emulator.world.repository("acme", "api-server").pullrequests[pr]
        src, dst = p.source_hash[:12], p.dest_hash[:12]
    assert new["inline"]["src_rev"] == src and new["inline"]["dest_rev"] == dst
    assert new["inline"]["outdated"] is False and new["inline"]["context_lines"] == ""
    assert new["links"]["code"]["href"] == (
        f"{emulator.api_url}{R}/diff/acme/api-server:{src}..{dst}?path={quote(FILE, safe='')}"
    )
    listed = s.get(url).json()["values"]
    assert [sorted(c["inline"]) for c in listed] == [["from", "path", "start_from", "start_to", "to"]] * 3
    assert s.post(url, json={"content": {"raw": "x"}, "inline": {"to": 2}}).status_code == 400
    assert s.post(url, json={"content": {"raw": "x"}, "inline": {"path": FILE, "to": 0}}).status_code == 400


def test_reply_carries_its_parent(emulator: Emulator):
    alice, bob = session(emulator, "alice"), session(emulator, "bob")
    _pr_id, url = _pr(emulator, "comments/reply")
    root = _post(alice, url, inline={"path": FILE, "to": 1})
    reply = _post(bob, url, "Agreed", parent={"id": root["id"]})
    assert reply["parent"]["id"] == root["id"]
    assert reply["parent"]["links"]["self"]["href"] == root["links"]["self"]["href"]
    assert bob.post(url, json={"content": {"raw": "x"}, "parent": {"id": 1}}).status_code == 400


def test_edit_by_author_and_refused_for_others(emulator: Emulator):
    alice, bob = session(emulator, "alice"), session(emulator, "bob")
    _pr_id, url = _pr(emulator, "comments/edit")
    c = _post(alice, url)
    emulator.world.time_travel(5)
    edited = alice.put(f"{url}/{c['id']}", json={"content": {"raw": "Reworded"}})
    assert edited.status_code == 200
    assert edited.json()["content"]["raw"] == "Reworded" and edited.json()["updated_on"] > c["updated_on"]
    refused = bob.put(f"{url}/{c['id']}", json={"content": {"raw": "Mine now"}})
    assert refused.status_code == 403 and refused.json()["type"] == "error"
    assert alice.get(f"{url}/{c['id']}").json()["content"]["raw"] == "Reworded"
    assert alice.put(f"{url}/{c['id']}", json={"content": {"raw": ""}}).status_code == 400
    assert alice.put(f"{url}/999999", json={"content": {"raw": "x"}}).status_code == 404


def test_delete_is_soft_and_keeps_replies(emulator: Emulator):
    alice, bob = session(emulator, "alice"), session(emulator, "bob")
    _pr_id, url = _pr(emulator, "comments/delete")
    root = _post(alice, url)
    reply = _post(bob, url, "Reply", parent={"id": root["id"]})
    assert bob.delete(f"{url}/{root['id']}").status_code == 403
    gone = alice.delete(f"{url}/{root['id']}")
    assert gone.status_code == 204 and not gone.content
    listed = {c["id"]: c for c in alice.get(url).json()["values"]}
    assert listed[root["id"]]["deleted"] is True
    assert listed[root["id"]]["content"]["raw"] == "" and listed[root["id"]]["content"]["html"] == ""
    assert listed[reply["id"]]["deleted"] is False and listed[reply["id"]]["parent"]["id"] == root["id"]
    assert alice.delete(f"{url}/{root['id']}").status_code == 404


def test_resolve_and_reopen_with_their_errors(emulator: Emulator):
    alice, bob = session(emulator, "alice"), session(emulator, "bob")
    _pr_id, url = _pr(emulator, "comments/resolve")
    root = _post(alice, url, inline={"path": FILE, "to": 3})
    reply = _post(bob, url, "Reply", parent={"id": root["id"]})
    emulator.world.time_travel(5)

    resolved = bob.post(f"{url}/{root['id']}/resolve")
    assert resolved.status_code == 200
    resolution = resolved.json()
    assert resolution["type"] == "comment_resolution" and resolution["user"]["uuid"] == emulator.account("bob")["uuid"]
    detail = alice.get(f"{url}/{root['id']}").json()
    assert detail["resolution"] == resolution and detail["updated_on"] == resolution["created_on"]

    again = bob.post(f"{url}/{root['id']}/resolve")
    assert again.status_code == 409 and again.json()["error"]["message"] == "Comment has already been resolved."
    not_top = bob.post(f"{url}/{reply['id']}/resolve")
    assert not_top.status_code == 403 and not_top.json()["error"]["message"] == "Comment is not a top-level comment"
    assert bob.delete(f"{url}/{reply['id']}/resolve").status_code == 403
    assert bob.post(f"{url}/999999/resolve").status_code == 404

    reopened = alice.delete(f"{url}/{root['id']}/resolve")
    assert reopened.status_code == 204 and not reopened.content
    assert "resolution" not in alice.get(f"{url}/{root['id']}").json()
    assert alice.delete(f"{url}/{root['id']}/resolve").status_code == 404  # not resolved
    # A general (not inline) top-level comment can be resolved too.
    general = _post(alice, url, "General")
    assert alice.post(f"{url}/{general['id']}/resolve").status_code == 200


def test_pending_draft_is_seen_by_its_author_only_until_published(emulator: Emulator):
    alice, bob = session(emulator, "alice"), session(emulator, "bob")
    pr, url = _pr(emulator, "comments/pending")
    activity = f"{emulator.api_url}{R}/pullrequests/{pr}/activity"
    before = len(bob.get(activity).json()["values"])
    draft = _post(alice, url, "Draft", pending=True, inline={"path": FILE, "to": 1})
    assert draft["pending"] is True

    assert [c["id"] for c in alice.get(url).json()["values"]] == [draft["id"]]
    assert bob.get(url).json()["values"] == []
    assert bob.get(f"{url}/{draft['id']}").status_code == 404
    assert bob.put(f"{url}/{draft['id']}", json={"content": {"raw": "x"}}).status_code == 404
    assert bob.post(url, json={"content": {"raw": "x"}, "parent": {"id": draft["id"]}}).status_code == 400
    assert len(bob.get(activity).json()["values"]) == before
    assert bob.get(f"{emulator.api_url}{R}/pullrequests/{pr}").json()["comment_count"] == 0

    published = alice.put(f"{url}/{draft['id']}", json={"pending": False})
    assert published.status_code == 200 and published.json()["pending"] is False
    assert [c["id"] for c in bob.get(url).json()["values"]] == [draft["id"]]
    assert len(bob.get(activity).json()["values"]) == before + 1
    assert bob.get(f"{emulator.api_url}{R}/pullrequests/{pr}").json()["comment_count"] == 1
    assert alice.put(f"{url}/{draft['id']}", json={"pending": True}).status_code == 400


def test_inline_comment_goes_outdated_when_a_push_changes_its_line(emulator: Emulator):
    s = session(emulator, "alice")
    pr, url = _pr(emulator, "comments/outdated")
    changed = _post(s, url, inline={"path": FILE, "to": 2})
    kept = _post(s, url, inline={"path": FILE, "to": 4})
    old_side = _post(s, url, inline={"path": "README.md", "from": 1})
    assert s.get(f"{url}/{changed['id']}").json()["inline"]["outdated"] is False

    with emulator.world.lock:
        emulator.world.commit_files("acme", "api-server", "comments/outdated", "bob", {FILE: "one\nTWO\nthree\nfour\n"})

    assert s.get(f"{url}/{changed['id']}").json()["inline"]["outdated"] is True
    assert s.get(f"{url}/{kept['id']}").json()["inline"]["outdated"] is False
    assert s.get(f"{url}/{old_side['id']}").json()["inline"]["outdated"] is False
    # The anchor keeps its revisions and line numbers: Bitbucket does not re-anchor.
    after = s.get(f"{url}/{changed['id']}").json()["inline"]
    assert after["to"] == 2 and after["src_rev"] == changed["inline"]["src_rev"]
    activity = s.get(f"{emulator.api_url}{R}/pullrequests/{pr}/activity").json()["values"]
    flags = {a["comment"]["id"]: a["comment"]["inline"]["outdated"] for a in activity if "comment" in a}
    assert flags[changed["id"]] is True and flags[kept["id"]] is False


def test_comment_webhooks_follow_the_thread(emulator: Emulator, receiver: Receiver):
    alice, bob = session(emulator, "alice"), session(emulator, "bob")
    events = [
        "pullrequest:comment_created",
        "pullrequest:comment_updated",
        "pullrequest:comment_deleted",
        "pullrequest:comment_resolved",
        "pullrequest:comment_reopened",
    ]
    hook = {"url": receiver.url, "events": events}
    assert alice.post(f"{emulator.api_url}/workspaces/acme/hooks", json=hook).status_code == 201
    pr, url = _pr(emulator, "comments/hooks")
    draft = _post(alice, url, "Draft", pending=True)
    c = _post(alice, url, inline={"path": FILE, "to": 2})
    created = json.loads(receiver.wait_for("pullrequest:comment_created")["body"])
    assert created["comment"]["id"] == c["id"]  # not the draft
    assert created["pullrequest"]["id"] == pr and created["repository"]["full_name"] == "acme/api-server"
    assert created["actor"]["uuid"] == emulator.account("alice")["uuid"]

    alice.put(f"{url}/{c['id']}", json={"content": {"raw": "Edited"}})
    updated = json.loads(receiver.wait_for("pullrequest:comment_updated")["body"])
    assert updated["comment"]["content"]["raw"] == "Edited"
    bob.post(f"{url}/{c['id']}/resolve")
    resolved = json.loads(receiver.wait_for("pullrequest:comment_resolved")["body"])
    assert resolved["comment"]["resolution"]["user"]["uuid"] == emulator.account("bob")["uuid"]
    assert resolved["actor"]["uuid"] == emulator.account("bob")["uuid"]
    bob.delete(f"{url}/{c['id']}/resolve")
    assert "resolution" not in json.loads(receiver.wait_for("pullrequest:comment_reopened")["body"])["comment"]
    alice.delete(f"{url}/{c['id']}")
    assert json.loads(receiver.wait_for("pullrequest:comment_deleted")["body"])["comment"]["deleted"] is True

    alice.put(f"{url}/{draft['id']}", json={"pending": False})
    assert emulator.webhooks.wait_idle(timeout=10)
    created_ids = [
        json.loads(d["body"])["comment"]["id"]
        for d in receiver.deliveries
        if d["headers"]["X-Event-Key"] == "pullrequest:comment_created"
    ]
    assert created_ids == [c["id"], draft["id"]]  # the draft fired comment_created once, when published


def test_resolution_drafts_and_revisions_survive_the_state_file():
    world = load_seed("demo")
    repo = world.repository("acme", "api-server")
    pr = repo.pullrequests[1]
    user = world.user("alice").uuid
    resolved = world.add_comment(repo, pr, user, "Resolved", inline={"path": "README.md", "to": 1})
    comments.resolve(world, repo, pr, resolved, user)
    world.add_comment(repo, pr, user, "Draft", pending=True)
    restored = persistence.from_dict(json.loads(json.dumps(persistence.to_dict(world))))
    assert restored.repository("acme", "api-server").pullrequests[1].comments == pr.comments
