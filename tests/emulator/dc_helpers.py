"""Sessions for the Data Center site of the demo seed."""

from __future__ import annotations

import requests

from bitbucket_emulator import Emulator


def dc_session(emu: Emulator, who: str | None) -> requests.Session:
    """`alice` (Basic, password), `pat:<name>` (personal token as Bearer), `basic-pat:<name>` (Basic user:token),
    `token:<name>` (project/repository token, Bearer), `bad`, or None (anonymous). JSON is asked for."""
    s = requests.Session()
    s.trust_env = False
    s.headers["Accept"] = "application/json"
    site = emu.world.datacenter
    assert site is not None
    tokens = {t.name: t for t in site.tokens.values()}
    if who is None:
        return s
    if who == "bad":
        s.auth = ("alice", "not-the-password")
    elif who.startswith("pat:") or who.startswith("token:"):
        s.headers["Authorization"] = "Bearer " + tokens[who.split(":", 1)[1]].token
    elif who.startswith("basic-pat:"):
        t = tokens[who.split(":", 1)[1]]
        s.auth = (site.users[t.owner_slug or ""].name, t.token)
    else:
        s.auth = (site.users[who].name, site.users[who].password)
    return s
