"""Default reviewers: a repository's own (`default-reviewers`) and with its project's (`effective-default-reviewers`),
from the demo seed, a seed file and a state file."""

from __future__ import annotations

from bitbucket_emulator import Emulator

from .helpers import session

SEED = {
    "users": [{"username": u} for u in ("zoe", "yan", "xia", "wes")],
    "workspaces": [
        {
            "slug": "tiny",
            "members": {"zoe": "owner", "yan": "member", "xia": "member", "wes": "member"},
            "projects": [{"key": "T", "name": "Tiny", "default_reviewers": ["xia", "yan"]}],
        }
    ],
    "repositories": [
        {
            "workspace": "tiny",
            "slug": "app",
            "project": "T",
            "files": {"README.md": "# App\n"},
            "default_reviewers": ["wes", "yan"],
            "branches": [{"name": "feature/x", "commits": [{"author": "zoe", "files": {"x.py": "X = 1\n"}}]}],
        },
        {"workspace": "tiny", "slug": "lonely", "files": {"README.md": "# Lonely\n"}},
    ],
}


def _names(emu: Emulator, page: dict, key: str | None = "user") -> list:
    by_uuid = {a["uuid"]: a["username"] for a in emu.accounts}
    if key is None:
        return [by_uuid[v["uuid"]] for v in page["values"]]
    return [(by_uuid[v[key]["uuid"]], v["reviewer_type"], v["type"]) for v in page["values"]]


def test_seed_file_default_reviewers_on_both_levels(emulator_factory):
    emu = emulator_factory(seed=SEED)
    s = session(emu, "zoe")
    base = emu.api_url + "/repositories/tiny/app"

    own = s.get(base + "/default-reviewers").json()
    effective = s.get(base + "/effective-default-reviewers").json()

    assert _names(emu, own, None) == ["wes", "yan"]
    assert all(v["type"] == "user" for v in own["values"])
    # yan is set on both levels and counts once, as a repository reviewer.
    assert _names(emu, effective) == [
        ("xia", "project", "default_reviewer"),
        ("wes", "repository", "default_reviewer"),
        ("yan", "repository", "default_reviewer"),
    ]
    lonely = s.get(emu.api_url + "/repositories/tiny/lonely/effective-default-reviewers").json()
    assert lonely["values"] == [] and lonely["size"] == 0


def test_effective_default_reviewers_pages_follow_next(emulator_factory):
    emu = emulator_factory(seed=SEED)
    s = session(emu, "zoe")
    url = emu.api_url + "/repositories/tiny/app/effective-default-reviewers?pagelen=2"
    seen = []
    while url:
        page = s.get(url).json()
        seen += _names(emu, page)
        url = page.get("next")
    assert [name for name, _, _ in seen] == ["xia", "wes", "yan"]


def test_pull_request_created_through_the_api_gets_only_the_reviewers_sent(emulator_factory):
    emu = emulator_factory(seed=SEED)
    s = session(emu, "zoe")
    created = s.post(
        emu.api_url + "/repositories/tiny/app/pullrequests",
        json={"title": "X", "source": {"branch": {"name": "feature/x"}}},
    )
    assert created.status_code == 201
    assert created.json()["reviewers"] == []


def test_demo_seed_default_reviewers(emulator):
    s = session(emulator, "bob")
    effective = s.get(emulator.api_url + "/repositories/acme/api-server/effective-default-reviewers").json()
    assert _names(emulator, effective) == [
        ("erin", "project", "default_reviewer"),
        ("alice", "repository", "default_reviewer"),
        ("carol", "repository", "default_reviewer"),
    ]
    web = s.get(emulator.api_url + "/repositories/acme/web-frontend/default-reviewers").json()
    assert _names(emulator, web, None) == ["carol", "heidi"]


def test_state_file_keeps_default_reviewers(emulator_factory, tmp_path):
    state = str(tmp_path / "state.json")
    first = emulator_factory(seed=SEED, state_file=state)
    with first.world.lock:
        first.world.repository("tiny", "lonely").default_reviewers.append(first.world.user("xia").uuid)
        first.world.version += 1
    first.stop()

    second = emulator_factory(seed=SEED, state_file=state)
    s = session(second, "zoe")
    lonely = s.get(second.api_url + "/repositories/tiny/lonely/default-reviewers").json()
    app = s.get(second.api_url + "/repositories/tiny/app/effective-default-reviewers").json()
    assert _names(second, lonely, None) == ["xia"]
    assert [name for name, _, _ in _names(second, app)] == ["xia", "wes", "yan"]
