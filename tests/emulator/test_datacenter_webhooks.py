"""The Data Center site's webhooks: the admin REST endpoints (answers validated against the Data Center OpenAPI) and
the deliveries the site's changes send, with Data Center's headers, signature and bodies (reference §8.8, §9)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import datetime

import pytest

from bitbucket_emulator import Emulator
from bitbucket_emulator.world import datacenter_changes as dc

from .dc_helpers import dc_session
from .openapi_dc import spec_path, validate

P = "/projects/PLAT"
R = P + "/repos/api-gateway"
SECRET = "hook-secret-for-tests"
NOT_PERMITTED = "com.atlassian.bitbucket.AuthorisationException"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    emulator = Emulator.start(seed="demo", controls=True)
    yield emulator
    emulator.stop()


class Receiver:
    """A local HTTP endpoint recording each POST (headers and raw body) and answering 204."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[tuple[str, dict]]:
        return [(h["X-Event-Key"], json.loads(b)) for h, b in self.got]


@pytest.fixture
def receiver(emu) -> Iterator[Receiver]:
    emu.reset()
    found = Receiver()
    yield found
    assert emu.datacenter_webhooks.wait_idle(timeout=10)
    found.server.shutdown()
    found.server.server_close()
    emu.reset()
    emu.controls.clear()


def create(emu: Emulator, scope: str, url: str, events: list[str], who: str = "alice", **extra):
    body = {"name": "bbdash", "url": url, "events": events, "configuration": {"secret": SECRET}, **extra}
    return dc_session(emu, who).post(emu.datacenter_url + scope + "/webhooks", json=body)


def checked(method: str, resp, status: int):
    assert resp.status_code == status, resp.text[:300]
    if spec_path().exists() and resp.content:
        assert validate(method, resp.url, status, resp.json()) == []
    return resp.json() if resp.content else None


# ---- REST ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scope", [P, R])
def test_webhook_crud_fits_the_spec(emu, receiver, scope):
    created = checked("POST", create(emu, scope, receiver.url, ["pr:opened", "repo:refs_changed"]), 200)
    assert created["scopeType"] == ("project" if scope == P else "repository")
    assert created["events"] == ["pr:opened", "repo:refs_changed"] and created["active"] is True
    assert "secret" not in created["configuration"]  # never echoed
    assert isinstance(created["createdDate"], int) and created["updatedDate"] == created["createdDate"]
    one = emu.datacenter_url + f"{scope}/webhooks/{created['id']}"
    session = dc_session(emu, "alice")

    listed = checked("GET", session.get(emu.datacenter_url + scope + "/webhooks"), 200)
    assert [h["id"] for h in listed["values"]] == [created["id"]]
    assert checked("GET", session.get(emu.datacenter_url + scope + "/webhooks?event=pr:merged"), 200)["size"] == 0
    assert checked("GET", session.get(one), 200) == created

    replaced = {"name": "renamed", "url": receiver.url, "events": ["pr:merged"], "active": False}
    after = checked("PUT", session.put(one, json=replaced), 200)
    assert (after["name"], after["events"], after["active"]) == ("renamed", ["pr:merged"], False)

    assert session.delete(one).status_code == 204
    gone = checked("GET", session.get(one), 404)
    assert gone["errors"][0]["exceptionName"].endswith("NoSuchWebhookException")


def test_a_project_hook_is_not_reachable_through_a_repository(emu, receiver):
    created = create(emu, P, receiver.url, ["pr:opened"]).json()
    resp = dc_session(emu, "alice").get(emu.datacenter_url + f"{R}/webhooks/{created['id']}")
    checked("GET", resp, 404)
    assert checked("GET", dc_session(emu, "alice").get(emu.datacenter_url + R + "/webhooks"), 200)["values"] == []


@pytest.mark.parametrize(
    ("scope", "who"),
    [(P, "bob"), (P, "carol"), (P, "dave"), (R, "bob"), (R, "dave"), (P, None)],
)
def test_webhooks_need_project_or_repository_admin(emu, receiver, scope, who):
    """PROJECT_WRITE, PROJECT_READ and REPO_READ are not enough: 401 as Data Center answers a missing permission."""
    resp = create(emu, scope, receiver.url, ["pr:opened"], who=who)
    body = checked("POST", resp, 401)
    if who is not None:
        assert body["errors"][0]["exceptionName"] == NOT_PERMITTED
    checked("GET", dc_session(emu, who).get(emu.datacenter_url + scope + "/webhooks"), 401)
    assert emu.world.datacenter.webhooks == {}


def test_repository_admin_by_grant_may_manage_its_hooks(emu, receiver):
    with emu.world.lock:
        emu.world.datacenter.repository("PLAT", "api-gateway").permissions["dave"] = "REPO_ADMIN"
    checked("POST", create(emu, R, receiver.url, ["pr:opened"], who="dave"), 200)
    checked("POST", create(emu, P, receiver.url, ["pr:opened"], who="dave"), 401)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "events": ["pr:opened"]}, "No URL was specified"),
        ({"name": "x", "url": "http://h/x", "events": []}, "At least one event must be provided"),
        ({"name": "x", "url": "http://h/x", "events": ["pr:reviewer:changes_requested"]}, "is unknown"),
        ({"name": "x", "url": "ftp://h/x", "events": ["pr:opened"]}, "http or https"),
        ({"url": "http://h/x", "events": ["pr:opened"]}, "name"),
    ],
)
def test_bad_webhooks_are_refused_with_400(emu, receiver, body, message):
    resp = dc_session(emu, "alice").post(emu.datacenter_url + P + "/webhooks", json=body)
    answer = checked("POST", resp, 400)
    assert message in answer["errors"][0]["message"]


# ---- deliveries ------------------------------------------------------------------------------------------------
ALL = [
    "pr:opened",
    "pr:modified",
    "pr:from_ref_updated",
    "pr:reviewer:approved",
    "pr:reviewer:unapproved",
    "pr:reviewer:needs_work",
    "pr:merged",
    "pr:declined",
    "pr:comment:added",
    "repo:refs_changed",
]


def test_each_change_delivers_its_event_signed_with_datacenter_headers(emu, receiver):
    create(emu, P, receiver.url, ALL)
    world = emu.world
    tip = dc.push(world, "PLAT", "api-gateway", "feature/x", "bob", {"x.txt": "x\n"}, "Add x")
    pr = dc.open_pull_request(
        world, "PLAT", "api-gateway", source="feature/x", title="X", author="bob", reviewers=["alice", "carol"]
    )
    dc.set_reviewer_status(world, "PLAT", "api-gateway", pr.id, "alice", "APPROVED")
    dc.set_reviewer_status(world, "PLAT", "api-gateway", pr.id, "alice", "UNAPPROVED")
    dc.set_reviewer_status(world, "PLAT", "api-gateway", pr.id, "carol", "NEEDS_WORK")
    comment = dc.add_comment(world, "PLAT", "api-gateway", pr.id, "carol", "Why?")
    dc.add_comment(world, "PLAT", "api-gateway", pr.id, "bob", "Because.", parent_id=comment.id)
    dc.update_pull_request(world, "PLAT", "api-gateway", pr.id, "bob", title="X, better")
    new_tip = dc.push(world, "PLAT", "api-gateway", "feature/x", "bob", {"x.txt": "y\n"}, "Fix x")
    dc.merge(world, "PLAT", "api-gateway", pr.id, "alice")
    other = dc.open_pull_request(world, "PLAT", "deploy-tools", source="feature/rollback", title="R", author="alice")
    dc.decline(world, "PLAT", "deploy-tools", other.id, "bob")
    assert emu.datacenter_webhooks.wait_idle(timeout=10)

    events = [key for key, _ in receiver.bodies()]
    assert events == [
        "repo:refs_changed",
        "pr:opened",
        "pr:reviewer:approved",
        "pr:reviewer:unapproved",
        "pr:reviewer:needs_work",
        "pr:comment:added",
        "pr:comment:added",
        "pr:modified",
        "repo:refs_changed",
        "pr:from_ref_updated",
        "pr:merged",
        "repo:refs_changed",
        "pr:opened",
        "pr:declined",
    ]
    for headers, raw in receiver.got:
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert len(headers["X-Request-Id"]) == 36
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Hub-Signature"] == expected
        assert "X-Request-UUID" not in headers and "X-Hook-UUID" not in headers  # Cloud's, not Data Center's
    assert len({h["X-Request-Id"] for h, _ in receiver.got}) == len(receiver.got)

    bodies = [body for _, body in receiver.bodies()]
    for body in bodies:
        assert body["eventKey"] in ALL
        datetime.strptime(body["date"], "%Y-%m-%dT%H:%M:%S%z")
        assert body["date"][-5] in "+-" and ":" not in body["date"][-5:]  # ±hhmm, no colon
    push = bodies[0]
    assert push["actor"]["name"] == "bob"
    assert push["repository"]["slug"] == "api-gateway" and push["repository"]["project"]["key"] == "PLAT"
    assert push["changes"] == [
        {
            "ref": {"id": "refs/heads/feature/x", "displayId": "feature/x", "type": "BRANCH"},
            "refId": "refs/heads/feature/x",
            "fromHash": "0" * 40,
            "toHash": tip,
            "type": "ADD",
        }
    ]
    opened = bodies[1]["pullRequest"]
    assert (opened["id"], opened["version"], opened["state"]) == (pr.id, 0, "OPEN")
    assert isinstance(opened["createdDate"], int)  # legacy (epoch ms) dates by default
    assert opened["toRef"]["repository"]["project"]["key"] == "PLAT"
    approved = bodies[2]
    assert approved["participant"]["user"]["name"] == "alice" and approved["participant"]["status"] == "APPROVED"
    assert approved["previousStatus"] == "UNAPPROVED"
    assert bodies[3]["previousStatus"] == "APPROVED"
    assert bodies[4]["participant"]["status"] == "NEEDS_WORK"
    assert bodies[5]["comment"]["text"] == "Why?" and "commentParentId" not in bodies[5]
    assert bodies[6]["commentParentId"] == comment.id
    modified = bodies[7]
    assert (modified["previousTitle"], modified["pullRequest"]["title"]) == ("X", "X, better")
    assert modified["previousTarget"]["displayId"] == "main"
    updated = bodies[9]
    assert updated["previousFromHash"] == tip and updated["pullRequest"]["fromRef"]["latestCommit"] == new_tip
    merged = bodies[10]["pullRequest"]
    assert merged["state"] == "MERGED" and merged["properties"]["mergeCommit"]["id"]
    assert bodies[11]["changes"][0]["toHash"] == merged["properties"]["mergeCommit"]["id"]
    assert bodies[13]["pullRequest"]["state"] == "DECLINED" and bodies[13]["actor"]["name"] == "bob"


def test_hooks_deliver_only_their_events_and_scope(emu, receiver):
    create(emu, R, receiver.url, ["pr:opened"])  # api-gateway only
    inactive = create(emu, P, receiver.url, ["pr:declined"], active=False).json()
    world = emu.world
    dc.open_pull_request(world, "PLAT", "deploy-tools", source="feature/rollback", title="R", author="alice")
    dc.push(world, "PLAT", "api-gateway", "feature/y", "bob", {"y.txt": "y\n"})
    dc.open_pull_request(world, "PLAT", "api-gateway", source="feature/y", title="Y", author="bob")
    dc.decline(world, "PLAT", "api-gateway", 4, "alice")
    assert emu.datacenter_webhooks.wait_idle(timeout=10)
    assert [(key, body["pullRequest"]["title"]) for key, body in receiver.bodies()] == [("pr:opened", "Y")]
    assert world.datacenter.webhooks[inactive["id"]].active is False


def test_no_secret_no_signature_and_iso_dates_on_10x(emu, receiver):
    dc_session(emu, "alice").post(
        emu.datacenter_url + P + "/webhooks", json={"name": "n", "url": receiver.url, "events": ["pr:opened"]}
    )
    emu.world.datacenter.webhook_dates = "10.x"
    dc.open_pull_request(emu.world, "PLAT", "api-gateway", source="feature/health", title="H", author="alice")
    assert emu.datacenter_webhooks.wait_idle(timeout=10)
    ((headers, raw),) = receiver.got
    assert "X-Hub-Signature" not in headers
    created = json.loads(raw)["pullRequest"]["createdDate"]
    assert isinstance(created, str) and created.endswith("Z")
    datetime.fromisoformat(created)


def test_dropped_deliveries_are_logged_and_never_sent(emu, receiver):
    create(emu, P, receiver.url, ["pr:opened"])
    before = len(emu.datacenter_webhooks.log)
    emu.controls.drop_webhooks(count=1)  # the shared switch (its event filter names Cloud keys)
    dc.open_pull_request(emu.world, "PLAT", "api-gateway", source="feature/health", title="H", author="alice")
    assert emu.datacenter_webhooks.wait_idle(timeout=10)
    (logged,) = emu.datacenter_webhooks.deliveries()[before:]
    assert (logged["event"], logged["dropped"], logged["attempts"]) == ("pr:opened", True, [])
    assert receiver.got == []


def test_reset_keeps_the_sender_listening_and_forgets_the_hooks(emu, receiver):
    create(emu, P, receiver.url, ["pr:opened"])
    emu.reset()
    assert emu.world.datacenter.webhooks == {}
    assert emu.datacenter_webhooks.on_event in emu.world.datacenter.listeners
    create(emu, P, receiver.url, ["pr:opened"])
    dc.open_pull_request(emu.world, "PLAT", "api-gateway", source="feature/health", title="H", author="alice")
    assert emu.datacenter_webhooks.wait_idle(timeout=10)
    assert [key for key, _ in receiver.bodies()] == ["pr:opened"]


def test_the_author_cannot_review_and_closed_pull_requests_do_not_change(emu, receiver):
    world = emu.world
    with pytest.raises(Exception, match="author"):
        dc.set_reviewer_status(world, "PLAT", "api-gateway", 2, "bob", "APPROVED")
    with pytest.raises(Exception, match="merged"):
        dc.decline(world, "PLAT", "api-gateway", 1, "alice")
