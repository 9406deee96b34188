"""Small helpers the emulator tests share: sessions per credential and world set-up shortcuts."""

from __future__ import annotations

import requests

from bitbucket_emulator import Emulator


def session(emu: Emulator, who: str | None) -> requests.Session:
    """`alice` (API token), `app:bob` (app password), `token:<name>` (access token), `bad`, or None (anonymous)."""
    s = requests.Session()
    s.trust_env = False  # never send these requests through a proxy from the environment
    if who is None:
        return s
    if who == "bad":
        s.auth = ("alice@acme.test", "ATATT3xFfGF0-not-a-real-token")
    elif who.startswith("app:"):
        a = emu.account(who[4:])
        s.auth = (a["username"], a["app_password"])
    elif who.startswith("token:"):
        s.headers["Authorization"] = "Bearer " + emu.access_token(who[6:])["token"]
    else:
        a = emu.account(who)
        s.auth = (a["email"], a["api_token"])
    return s


def open_pr(emu: Emulator, repo: str, branch: str, author: str = "bob", reviewers=("alice",), files=None) -> int:
    """Cut `branch` from main, commit a file on it and open a PR (through the world, not HTTP)."""
    world = emu.world
    with world.lock:
        r = world.repository("acme", repo)
        if branch not in r.branches:
            world.create_branch(r, branch, r.mainbranch, None)
        world.commit_files("acme", repo, branch, author, files or {f"notes/{branch.replace('/', '-')}.md": "hello\n"})
        pr = world.create_pull_request(
            r, world.user(author).uuid, f"PR from {branch}", branch, reviewers=[world.user(u).uuid for u in reviewers]
        )
        return pr.id
