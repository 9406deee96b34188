"""Credentials, scopes and visibility: who sees and may change what."""

from __future__ import annotations

import requests

from bitbucket_emulator import Emulator

from .helpers import session

R = "/repositories/acme/api-server"


def test_wrong_token_is_401_with_basic_challenge(emulator: Emulator):
    r = session(emulator, "bad").get(emulator.api_url + "/user")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Bitbucket.org HTTP"'
    assert r.json()["type"] == "error"


def test_api_token_as_bearer_is_refused(emulator: Emulator):
    token = emulator.account("alice")["api_token"]
    r = requests.get(emulator.api_url + "/user", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Token is invalid, expired, or not supported for this endpoint."


def test_api_token_needs_the_email_not_the_username(emulator: Emulator):
    alice = emulator.account("alice")
    assert (
        requests.get(emulator.api_url + "/user", auth=(alice["username"], alice["api_token"]), timeout=5).status_code
        == 401
    )
    me = requests.get(emulator.api_url + "/user", auth=(alice["email"], alice["api_token"]), timeout=5).json()
    assert me["uuid"] == alice["uuid"] and me["account_id"] == alice["account_id"] and me["username"] == "alice"


def test_app_password_works_until_switched_off(emulator_factory):
    on = emulator_factory()
    bob = on.account("bob")
    assert requests.get(on.api_url + "/user", auth=(bob["username"], bob["app_password"]), timeout=5).status_code == 200
    off = emulator_factory(app_passwords=False)
    r = requests.get(off.api_url + "/user", auth=(bob["username"], bob["app_password"]), timeout=5)
    assert r.status_code == 401 and "App passwords" in r.json()["error"]["message"]
    # API tokens still work there.
    assert requests.get(off.api_url + "/user", auth=(bob["email"], bob["api_token"]), timeout=5).status_code == 200


def test_other_workspace_is_hidden(emulator: Emulator):
    bob = session(emulator, "bob")
    api = emulator.api_url
    assert [w["workspace"]["slug"] for w in bob.get(api + "/user/workspaces").json()["values"]] == ["acme"]
    assert bob.get(api + "/workspaces/alice-labs").status_code == 404
    assert bob.get(api + "/repositories/alice-labs/experiments").status_code == 404
    assert bob.get(api + "/user/workspaces/alice-labs/permissions/repositories").status_code == 403
    assert bob.get(api + "/repositories/alice-labs").json()["values"] == []
    alice = session(emulator, "alice")
    assert {w["workspace"]["slug"] for w in alice.get(api + "/user/workspaces").json()["values"]} == {
        "acme",
        "alice-labs",
    }


def test_bob_sees_only_repositories_he_may_read(emulator: Emulator):
    bob = session(emulator, "bob")
    api = emulator.api_url
    slugs = {r["slug"] for r in bob.get(api + "/repositories/acme?pagelen=100").json()["values"]}
    assert "infra" not in slugs and {"api-server", "docs"} <= slugs
    assert bob.get(api + "/repositories/acme/infra").status_code == 404
    perms = {
        p["repository"]["full_name"]: p["permission"]
        for p in bob.get(api + "/user/workspaces/acme/permissions/repositories?pagelen=100").json()["values"]
    }
    assert perms["acme/docs"] == "read" and perms["acme/api-server"] == "write" and "acme/infra" not in perms
    write_only = bob.get(api + '/user/workspaces/acme/permissions/repositories?q=permission>"read"').json()
    assert "acme/docs" not in {p["repository"]["full_name"] for p in write_only["values"]}


def test_read_permission_cannot_write(emulator: Emulator):
    bob = session(emulator, "bob")
    api = emulator.api_url
    r = bob.post(api + "/repositories/acme/docs/src", data={"x.md": "x"})
    assert r.status_code == 403
    r = bob.post(api + "/repositories/acme/docs/refs/branches", json={"name": "x", "target": {"hash": "main"}})
    assert r.status_code == 403
    # but reading works
    assert bob.get(api + "/repositories/acme/docs/src/main/README.md").status_code == 200


def test_read_only_access_token_cannot_write(emulator: Emulator):
    token = session(emulator, "token:docs-readonly")
    api = emulator.api_url
    assert token.get(api + "/repositories/acme/docs/pullrequests").status_code == 200
    r = token.post(api + "/repositories/acme/docs/src", data={"x.md": "x"})
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["message"] == "Your credentials lack one or more required privilege scopes."
    assert error["detail"] == {"granted": ["pullrequest", "repository"], "required": ["repository:write"]}
    assert token.post(api + "/repositories/acme/docs/pullrequests/1/approve").status_code == 403
    # A repository token sees nothing outside its repository.
    assert token.get(api + "/repositories/acme/api-server").status_code == 404
    assert [r["slug"] for r in token.get(api + "/repositories/acme").json()["values"]] == ["docs"]


def test_api_token_scopes_are_enforced_without_implication(emulator: Emulator):
    with emulator.world.lock:
        emulator.world.user("carol").api_token_scopes = ["read:repository:bitbucket", "write:repository:bitbucket"]
    carol = session(emulator, "carol")
    api = emulator.api_url
    assert carol.get(api + R).status_code == 200
    r = carol.get(api + R + "/pullrequests")
    assert r.status_code == 403
    assert r.json()["error"]["detail"]["required"] == ["read:pullrequest:bitbucket"]


def test_project_and_workspace_tokens_see_their_scope(emulator: Emulator):
    api = emulator.api_url
    project = session(emulator, "token:web-ci")
    slugs = {r["slug"] for r in project.get(api + "/repositories/acme?pagelen=100").json()["values"]}
    assert slugs == {"web-frontend", "mobile-app"}
    r = project.post(
        api + "/repositories/acme/web-frontend/refs/branches", json={"name": "ci/build", "target": {"hash": "main"}}
    )
    assert r.status_code == 201
    workspace = session(emulator, "token:acme-sync")
    slugs = {r["slug"] for r in workspace.get(api + "/repositories/acme?pagelen=100").json()["values"]}
    assert {"infra", "docs", "api-server"} <= slugs
    me = workspace.get(api + "/user").json()
    assert me["type"] == "app_user" and me["display_name"] == "acme-sync"
    assert workspace.get(api + "/workspaces/acme/members").status_code == 200


def test_anonymous_cannot_see_private_repositories(emulator: Emulator):
    anon = session(emulator, None)
    assert anon.get(emulator.api_url + R).status_code == 401
    assert anon.get(emulator.api_url + "/user").status_code == 401


def test_membership_and_grants_change_visibility(emulator: Emulator):
    api = emulator.api_url
    bob = session(emulator, "bob")
    assert bob.get(api + "/repositories/acme/infra").status_code == 404
    emulator.world.grant("acme", "infra", "bob", "read")
    assert bob.get(api + "/repositories/acme/infra").status_code == 200
    emulator.world.revoke("acme", "infra", "bob")
    assert bob.get(api + "/repositories/acme/infra").status_code == 404
    emulator.world.add_member("alice-labs", "bob")
    assert bob.get(api + "/workspaces/alice-labs").status_code == 200
    emulator.world.remove_member("alice-labs", "bob")
    assert bob.get(api + "/workspaces/alice-labs").status_code == 404
