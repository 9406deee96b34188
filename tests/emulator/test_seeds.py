"""Seeds (demo, scale, seed files), the state file and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import requests

from bitbucket_emulator import Emulator

from .helpers import session

SEED = {
    "users": [
        {"username": "zoe", "display_name": "Zoe Zimmer", "email": "zoe@example.test", "api_token": "ATATT3xFfGF0zoe"},
        {"username": "yan", "display_name": "Yan Yu", "email": "yan@example.test"},
    ],
    "workspaces": [
        {
            "slug": "tiny",
            "name": "Tiny",
            "members": {"zoe": "owner", "yan": "member"},
            "projects": [{"key": "T", "name": "Tiny"}],
        },
    ],
    "repositories": [
        {
            "workspace": "tiny",
            "slug": "app",
            "project": "T",
            "files": {"README.md": "# App\n", "app.py": "print(1)\n"},
            "permissions": {"yan": "read"},
            "watchers": ["yan"],
            "branches": [
                {"name": "feature/x", "commits": [{"author": "zoe", "message": "X", "files": {"x.py": "X = 1\n"}}]}
            ],
            "pull_requests": [
                {
                    "title": "Add x",
                    "source": "feature/x",
                    "author": "zoe",
                    "reviewers": ["yan"],
                    "approvals": ["yan"],
                    "comments": [{"author": "yan", "text": "Nice"}],
                    "state": "OPEN",
                },
            ],
        }
    ],
    "access_tokens": [
        {"name": "tiny-read", "scope_kind": "repository", "scope": "tiny/app", "scopes": ["repository", "pullrequest"]}
    ],
}


def test_seed_document(emulator_factory, tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(SEED))
    emu = emulator_factory(seed=str(path))
    zoe = emu.account("zoe")
    assert zoe["api_token"] == "ATATT3xFfGF0zoe" and zoe["workspaces"] == ["tiny"]
    assert emu.account("yan")["api_token"].startswith("ATATT3x")
    s = session(emu, "zoe")
    pr = s.get(emu.api_url + "/repositories/tiny/app/pullrequests/1").json()
    assert pr["title"] == "Add x" and pr["participants"][0]["approved"] is True and pr["comment_count"] == 1
    token = emu.access_token("tiny-read")
    assert token["token"].startswith("ATCTT3x") and token["scope"] == "tiny/app"
    assert emu_from_dict(emulator_factory).account("zoe")["uuid"] == zoe["uuid"]


def emu_from_dict(factory) -> Emulator:
    return factory(seed=SEED)


def test_demo_seed_is_deterministic_and_has_the_promised_people(emulator_factory):
    a, b = emulator_factory(), emulator_factory()
    assert a.accounts == b.accounts and a.access_tokens == b.access_tokens
    assert (
        session(a, "alice").get(a.api_url + "/repositories/acme/api-server/refs/branches/main").json()["target"]["hash"]
        == session(b, "alice")
        .get(b.api_url + "/repositories/acme/api-server/refs/branches/main")
        .json()["target"]["hash"]
    )
    alice, bob = a.account("alice"), a.account("bob")
    assert (alice["display_name"], alice["email"]) == ("Alice Adams", "alice@acme.test")
    assert (bob["display_name"], bob["email"]) == ("Bob Brown", "bob@acme.test")
    assert alice["api_token"].startswith("ATATT3x") and alice["app_password"]
    assert 6 <= len(a.accounts) <= 10
    ws = session(a, "alice").get(a.api_url + "/workspaces/acme").json()
    assert ws["name"] == "Acme"
    kinds = {t["scope_kind"] for t in a.access_tokens}
    assert {"workspace", "repository"} <= kinds


def test_scale_seed_builds_fast(emulator_factory):
    started = time.monotonic()
    emu = emulator_factory(seed="scale", repos=5, pull_requests=40, members=30, branches=5)
    assert time.monotonic() - started < 5
    s = session(emu, "alice")
    repos = s.get(emu.api_url + "/repositories/acme?pagelen=100").json()
    assert repos["size"] == 5
    prs = s.get(
        emu.api_url + "/repositories/acme/repo-0001/pullrequests?pagelen=50&state=OPEN&state=MERGED&state=DECLINED"
    ).json()
    assert prs["size"] == 40
    members = s.get(emu.api_url + "/workspaces/acme/members?pagelen=100").json()
    assert members["size"] == 30


def test_state_file_keeps_commits_across_restarts(emulator_factory, tmp_path):
    state = tmp_path / "state.json"
    first = emulator_factory(state_file=str(state))
    s = session(first, "alice")
    r = s.post(first.api_url + "/repositories/acme/api-server/src", data={"branch": "main", "kept.txt": "kept\n"})
    head = r.headers["Location"].rsplit("/", 1)[1]
    s.post(first.api_url + "/repositories/acme/api-server/pullrequests/4/comments", json={"content": {"raw": "Kept"}})
    first.stop()
    second = emulator_factory(state_file=str(state))
    s = session(second, "alice")
    assert s.get(second.api_url + "/repositories/acme/api-server/refs/branches/main").json()["target"]["hash"] == head
    assert s.get(second.api_url + "/repositories/acme/api-server/src/main/kept.txt").text == "kept\n"
    comments = s.get(second.api_url + "/repositories/acme/api-server/pullrequests/4/comments?pagelen=100").json()
    assert "Kept" in [c["content"]["raw"] for c in comments["values"]]


def test_command_line_starts_and_writes_credentials(tmp_path):
    creds = tmp_path / "creds.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bitbucket_emulator.cli",
            "--port",
            "0",
            "--seed",
            "demo",
            "--controls",
            "--no-app-passwords",
            "--credentials-out",
            str(creds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("Bitbucket emulator listening on http://127.0.0.1:")
        api = line.split(" on ")[1].strip()
        data = json.loads(creds.read_text())
        alice = next(a for a in data["accounts"] if a["username"] == "alice")
        assert set(alice) == {
            "display_name",
            "uuid",
            "account_id",
            "email",
            "username",
            "api_token",
            "app_password",
            "workspaces",
        }
        assert {"token", "scope_kind", "scope", "scopes"} <= set(data["access_tokens"][0])
        assert requests.get(api + "/user", auth=(alice["email"], alice["api_token"]), timeout=5).status_code == 200
        assert (
            requests.get(api + "/user", auth=(alice["username"], alice["app_password"]), timeout=5).status_code == 401
        )
        assert requests.get(api.removesuffix("/2.0") + "/_emulator/", timeout=5).status_code == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()


# Branch tips pin whole histories: a commit's hash covers its tree, parents, message, author and date.
DEMO_MAIN_TIPS = {
    "acme/api-server": "9d588efa18ae0c1cc785fda1269b2de39b6e3fb2",
    "acme/web-frontend": "0bc9a6a5e3794e867cc35a1a5a9f281cba3516be",
    "acme/docs": "195890771dc4eb51919366224565f9a0b2da1f00",
    "acme/infra": "8ae6c26baec0e5016b2d3cbead0740a737c16c48",
    "acme/mobile-app": "1139396c6f321fe7401181bac36b9e1fb9a3d586",
    "alice-labs/experiments": "6822e836b7c895fe944620c3ae6486ca20bc2590",
}


def test_demo_seed_builds_the_documented_world(emulator):
    """The demo world README.md describes, down to its history: change these together with the seed, on purpose."""
    world = emulator.world
    with world.lock:
        names = {world.full_name(r): r for r in world.repositories.values()}
        assert {n: r.branches[r.mainbranch] for n, r in names.items()} == DEMO_MAIN_TIPS
        people = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
        assert sorted(u.username for u in world.users.values()) == people
        acme, labs = world.workspace("acme"), world.workspace("alice-labs")
        owners = sorted(world.users[u].username for u, role in acme.members.items() if role == "owner")
        assert owners == ["alice", "erin"] and len(acme.members) == 8
        assert {world.users[u].username: role for u, role in labs.members.items()} == {
            "alice": "owner",
            "carol": "member",
        }
        assert sorted(acme.projects) == ["CORE", "OPS", "WEB"]
        assert [world.users[u].username for u in acme.projects["CORE"].default_reviewers] == ["erin"]

        prs = [(n, pr) for n, r in names.items() for pr in r.pullrequests.values()]
        states = [pr.state for _, pr in prs]
        assert len(prs) == 31 and {s: states.count(s) for s in set(states)} == {
            "OPEN": 15,
            "MERGED": 10,
            "DECLINED": 4,
            "SUPERSEDED": 2,
        }
        assert [(n, pr.id) for n, pr in prs if pr.draft] == [("acme/api-server", 9)]
        api = names["acme/api-server"]
        assert world.conflicts(api, api.pullrequests[3]) == ["src/api_server/settings.py"]
        assert [world.users[u].username for u in api.default_reviewers] == ["alice", "carol"]

        bob = world.user("bob")
        permission = {n: world.user_repo_permission(bob, r) for n, r in names.items() if n.startswith("acme/")}
        assert permission == {
            "acme/api-server": "write",
            "acme/web-frontend": "write",
            "acme/docs": "read",
            "acme/infra": None,
            "acme/mobile-app": "write",
        }
    tokens = {t["name"]: (t["scope_kind"], t["scope"]) for t in emulator.access_tokens}
    assert tokens == {
        "acme-sync": ("workspace", "acme"),
        "web-ci": ("project", "acme/WEB"),
        "docs-readonly": ("repository", "acme/docs"),
    }


def test_scale_seed_builds_the_same_world_for_the_same_parameters(emulator_factory):
    emu = emulator_factory(seed="scale", repos=2, pull_requests=8, members=5, branches=2)
    with emu.world.lock:
        repo = emu.world.repository("acme", "repo-0002")
        states = [pr.state for pr in repo.pullrequests.values()]
        assert (len(emu.world.users), len(emu.world.repositories)) == (5, 2)
        assert {s: states.count(s) for s in set(states)} == {"OPEN": 4, "MERGED": 2, "DECLINED": 2}
        assert repo.branches["main"] == "f2d76b67e588489987129db07b01e128adc5124f"
        assert repo.branches["feature/change-00008"] == "d952790a8f31352c6caef75e14f01c8218909e84"
