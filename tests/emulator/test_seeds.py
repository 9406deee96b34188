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
