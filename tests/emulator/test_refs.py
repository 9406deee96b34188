"""Tags (create, read, delete), branch deletion under `delete` restrictions, the branching model, and the `repo:push`
each ref change sends, over real HTTP."""

from __future__ import annotations

from bitbucket_emulator import Emulator
from bitbucket_emulator.cloud import webhook_payloads

from .helpers import session

R = "/repositories/acme/api-server"
MOBILE = "/repositories/acme/mobile-app"


def _pushes(emu: Emulator) -> list[dict]:
    """The `repo:push` bodies the world sends from now on, as a webhook would carry them."""
    bodies: list[dict] = []

    def listener(event, repo, actor, **objects):
        if event == "repo:push":
            bodies.append(webhook_payloads.payload(emu.world, event, repo, actor, **objects))

    emu.world.listeners.append(listener)
    return bodies


def test_tag_create_keeps_the_message_and_names_the_tagger(emulator: Emulator):
    s = session(emulator, "bob")
    tip = s.get(f"{emulator.api_url}{R}/refs/branches/main").json()["target"]["hash"]
    response = s.post(
        f"{emulator.api_url}{R}/refs/tags", json={"name": "v2.0", "target": {"hash": tip}, "message": "Release 2"}
    )
    assert response.status_code == 201, response.text
    tag = response.json()
    assert (tag["type"], tag["name"], tag["target"]["hash"], tag["message"]) == ("tag", "v2.0", tip, "Release 2\n")
    assert tag["tagger"]["raw"] == "Bob Brown <bob@acme.test>" and tag["tagger"]["user"]["nickname"] == "bob"
    assert response.headers["Location"] == tag["links"]["self"]["href"]
    assert s.get(tag["links"]["self"]["href"]).json() == tag
    listed = s.get(f"{emulator.api_url}{R}/refs/tags").json()["values"]
    assert [t["name"] for t in listed] == ["v1.4.0", "v2.0"]


def test_tag_without_message_gets_bitbuckets_default(emulator: Emulator):
    s = session(emulator, "alice")
    tag = s.post(f"{emulator.api_url}{R}/refs/tags", json={"name": "plain", "target": {"hash": "main"}}).json()
    assert tag["message"] == f"Added tag plain for changeset {tag['target']['hash'][:12]}\n"


def test_tag_create_refuses_bad_input(emulator: Emulator):
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/refs/tags"
    assert s.post(url, json={"target": {"hash": "main"}}).json()["error"]["fields"]["name"]
    assert s.post(url, json={"name": "x"}).json()["error"]["fields"]["target"]
    assert s.post(url, json={"name": "v1.4.0", "target": {"hash": "main"}}).status_code == 400  # exists
    assert s.post(url, json={"name": "a..b", "target": {"hash": "main"}}).status_code == 400
    assert s.post(url, json={"name": "y", "target": {"hash": "0" * 40}}).status_code == 404
    # A reader may not tag (grace reads api-server).
    assert session(emulator, "grace").post(url, json={"name": "z", "target": {"hash": "main"}}).status_code == 403


def test_tag_delete_and_its_push(emulator: Emulator):
    pushes = _pushes(emulator)
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/refs/tags/v1.4.0"
    assert session(emulator, "grace").delete(url).status_code == 403
    assert s.delete(url).status_code == 204
    assert s.get(url).status_code == 404
    assert s.delete(url).status_code == 404
    change = pushes[-1]["push"]["changes"][0]
    assert change["closed"] is True and change["new"] is None
    assert (change["old"]["type"], change["old"]["name"]) == ("tag", "v1.4.0")
    assert change["old"]["links"]["self"]["href"].endswith("/refs/tags/v1.4.0")
    assert change["old"]["message"].startswith("Added tag v1.4.0") and "commits" not in change


def test_tag_create_push_carries_the_tag_object(emulator: Emulator):
    pushes = _pushes(emulator)
    s = session(emulator, "bob")
    s.post(f"{emulator.api_url}{R}/refs/tags", json={"name": "v3", "target": {"hash": "main"}, "message": "Three"})
    change = pushes[-1]["push"]["changes"][0]
    assert change["created"] is True and change["old"] is None and "commits" not in change
    assert (change["new"]["type"], change["new"]["message"]) == ("tag", "Three\n")
    assert change["new"]["tagger"]["raw"] == "Bob Brown <bob@acme.test>"


def test_tag_names_with_slashes_and_specials_round_trip(emulator: Emulator):
    s = session(emulator, "alice")
    name = 'rel/special-"$;><&#_=@!|.,'
    assert s.post(f"{emulator.api_url}{R}/refs/tags", json={"name": name, "target": {"hash": "main"}}).ok
    from urllib.parse import quote

    assert s.get(f"{emulator.api_url}{R}/refs/tags/{quote(name, safe='/')}").json()["name"] == name


def test_branch_delete_refused_by_a_delete_restriction(emulator: Emulator):
    rule = {"kind": "delete", "pattern": "dev*"}
    assert session(emulator, "alice").post(f"{emulator.api_url}{MOBILE}/branch-restrictions", json=rule).ok
    pushes = _pushes(emulator)
    s = session(emulator, "bob")
    response = s.delete(f"{emulator.api_url}{MOBILE}/refs/branches/develop")
    assert response.status_code == 403
    assert "branch restriction" in response.json()["error"]["message"]
    assert s.get(f"{emulator.api_url}{MOBILE}/refs/branches/develop").status_code == 200
    assert pushes == []
    # The main branch keeps its own 400, restriction or not.
    assert s.delete(f"{emulator.api_url}{MOBILE}/refs/branches/main").status_code == 400
    # An unprotected branch goes, with a push that closes it.
    with emulator.world.lock:
        emulator.world.create_branch(emulator.world.repository("acme", "mobile-app"), "feature/gone", "main", None)
    assert s.delete(f"{emulator.api_url}{MOBILE}/refs/branches/feature/gone").status_code == 204
    change = pushes[-1]["push"]["changes"][0]
    assert change["closed"] is True and change["old"]["type"] == "branch"


def test_branching_model_of_the_demo_repository(emulator: Emulator):
    s = session(emulator, "grace")  # a reader may read the model
    model = s.get(f"{emulator.api_url}{MOBILE}/branching-model").json()
    assert model["type"] == "branching_model"
    assert model["development"]["name"] == "develop" and model["development"]["use_mainbranch"] is False
    assert model["development"]["branch"]["name"] == "develop"
    assert "production" not in model
    assert model["branch_types"] == [
        {"kind": "feature", "prefix": "feature/"},
        {"kind": "bugfix", "prefix": "fix/"},
        {"kind": "hotfix", "prefix": "hotfix/"},
    ]
    effective = s.get(f"{emulator.api_url}{MOBILE}/effective-branching-model").json()
    assert effective["branch_types"] == model["branch_types"] and effective["development"]["name"] == "develop"


def test_default_branching_model_follows_the_main_branch(emulator: Emulator):
    model = session(emulator, "bob").get(f"{emulator.api_url}{R}/effective-branching-model").json()
    assert model["development"] == {**model["development"], "name": "main", "use_mainbranch": True}
    assert [t["prefix"] for t in model["branch_types"]] == ["feature/", "bugfix/", "release/", "hotfix/"]


def test_branching_model_settings_update_is_checked(emulator: Emulator):
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/branching-model/settings"
    assert session(emulator, "bob").put(url, json={}).status_code == 403
    assert s.put(url, json={"development": {"name": "nope", "use_mainbranch": False}}).status_code == 400
    assert s.put(url, json={"branch_types": [{"kind": "feature", "prefix": "f*"}]}).status_code == 400
    assert s.put(url, json={"branch_types": [{"kind": "bugfix", "prefix": "feature/x"}]}).status_code == 400
    assert s.get(url).json()["branch_types"][0] == {"kind": "feature", "enabled": True, "prefix": "feature/"}
    body = {
        "development": {"name": "release/1.4", "use_mainbranch": False},
        "production": {"enabled": True, "use_mainbranch": True},
        "branch_types": [{"kind": "release", "enabled": False}],
    }
    settings = s.put(url, json=body).json()
    assert settings["development"] == {"name": "release/1.4", "use_mainbranch": False, "is_valid": True}
    model = s.get(f"{emulator.api_url}{R}/branching-model").json()
    assert model["production"]["name"] == "main" and model["development"]["name"] == "release/1.4"
    assert "release" not in [t["kind"] for t in model["branch_types"]]


def test_restrictions_by_branch_type_follow_the_model(emulator: Emulator):
    s = session(emulator, "alice")
    rule = {"kind": "delete", "branch_match_kind": "branching_model", "branch_type": "bugfix"}
    assert s.post(f"{emulator.api_url}{MOBILE}/branch-restrictions", json=rule).status_code == 201
    with emulator.world.lock:
        repo = emulator.world.repository("acme", "mobile-app")
        emulator.world.create_branch(repo, "fix/crash", "main", None)
        emulator.world.create_branch(repo, "bugfix/crash", "main", None)
    # `fix/` is this repository's bugfix prefix: that branch is protected, `bugfix/crash` is not.
    assert s.delete(f"{emulator.api_url}{MOBILE}/refs/branches/fix/crash").status_code == 403
    assert s.delete(f"{emulator.api_url}{MOBILE}/refs/branches/bugfix/crash").status_code == 204


def test_tags_and_model_survive_the_state_file(emulator: Emulator, tmp_path):
    from bitbucket_emulator.world import persistence

    s = session(emulator, "alice")
    s.post(f"{emulator.api_url}{R}/refs/tags", json={"name": "kept", "target": {"hash": "main"}, "message": "m"})
    path = tmp_path / "state.json"
    persistence.save(emulator.world, str(path))
    world = persistence.load(str(path))
    repo = world.repository("acme", "api-server")
    assert repo.tag_objects["kept"]["message"] == "m\n"
    assert world.repository("acme", "mobile-app").branching_model["development"]["name"] == "develop"
