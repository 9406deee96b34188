"""Default reviewers preselected in "open a pull request" and "commit to a new branch and open a pull request":
the repository's effective default reviewers (its project's included) read from the emulator with the user's own
credential, never the author, and a form that still works when they cannot be read."""

import re
from html import unescape as html_unescape
from urllib.parse import urlencode

import pytest
from django.test import Client

from bitbucket_sync import actions
from bitbucket_sync.models import Credential, PullRequest, WorkspaceMembership

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
EFFECTIVE = "/2.0/repositories/acme/api-server/effective-default-reviewers"


@pytest.fixture
def alice(act_world):
    client = Client()
    client.force_login(act_world.users["alice"])
    return client


@pytest.fixture
def bob(act_world):
    client = Client()
    client.force_login(act_world.users["bob"])
    return client


def _uuid(act_world, username: str) -> str:
    return act_world.emulator.account(username)["uuid"]


def _checked(html: str) -> set[str]:
    """The reviewer checkboxes that are checked, by value (Bitbucket account uuid)."""
    boxes = re.findall(r'<input type="checkbox" name="reviewers" [^>]*>', html)
    return {re.search(r'value="([^"]+)"', b).group(1) for b in boxes if " checked" in b}


def _offered(client: Client, html: str, text: str) -> set[str]:
    """The people (uuids) the form's reviewer box suggests for `text`, asked at the URL the box names."""
    url = html_unescape(re.search(r'data-reviewer-box[^>]*hx-get="([^"]+)"', html).group(1))
    answer = client.get(f"{url}&{urlencode({'add_reviewers': text})}").content.decode()
    return set(re.findall(r'data-uuid="([^"]+)"', answer))


def _key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def _branch(act_world, name: str) -> None:
    from bitbucket_sync import sync

    act_world.emulator.world.commit_files("acme", "api-server", name, "carol", {"n.md": "n\n"}, "Note")
    record = act_world.client("alice").get_branch("acme", "api-server", name)
    sync.upsert_branch(repository=act_world.repo("api-server"), record=record)


def test_pull_request_create_preselects_default_reviewers_but_never_the_author(act_world, alice, bob):
    _branch(act_world, "feature/defaults")
    query = {"source": "feature/defaults", "destination": "main"}

    as_bob = bob.get("/acme/api-server/pull-requests/new", query).content.decode()
    as_alice = alice.get("/acme/api-server/pull-requests/new", query).content.decode()

    # api-server's own alice and carol, and erin from its project CORE.
    assert _checked(as_bob) == {_uuid(act_world, u) for u in ("alice", "carol", "erin")}
    assert _checked(as_alice) == {_uuid(act_world, u) for u in ("carol", "erin")}
    assert _uuid(act_world, "alice") not in _offered(alice, as_alice, "alice")  # the author is not offered at all
    assert _uuid(act_world, "bob") in _offered(alice, as_alice, "bob") - _checked(as_alice)  # members stay choosable
    assert "default reviewers are preselected" in as_alice


def test_pull_request_opened_with_the_preselected_reviewers(act_world, alice):
    _branch(act_world, "feature/with-defaults")
    page = alice.get("/acme/api-server/pull-requests/new", {"source": "feature/with-defaults", "destination": "main"})
    html = page.content.decode()

    response = alice.post(
        "/acme/api-server/pull-requests/new",
        {
            "idempotency_key": _key(html),
            "source": "feature/with-defaults",
            "destination": "main",
            "title": "With the defaults",
            "reviewers": sorted(_checked(html)),
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/with-defaults")
    emulated = act_world.emulator.world.repository("acme", "api-server").pullrequests[pr.number]
    assert set(emulated.reviewers) == {_uuid(act_world, "carol"), _uuid(act_world, "erin")}
    mirrored = pr.participants.filter(role="REVIEWER").values_list("account__bitbucket_uuid", flat=True)
    assert set(mirrored) == set(emulated.reviewers)


def test_pull_request_create_works_when_default_reviewers_cannot_be_read(act_world, alice):
    act_world.emulator.controls.set_fault(1, "500", path=EFFECTIVE)
    try:
        page = alice.get("/acme/api-server/pull-requests/new", **HX)
    finally:
        act_world.emulator.controls.set_fault(None)

    html = page.content.decode()
    assert page.status_code == 200
    assert html.lstrip().startswith('<section id="pr-form"')
    assert _checked(html) == set() and _uuid(act_world, "carol") in _offered(alice, html, "car")
    assert "Default reviewers not preselected" in html and "Bitbucket is not answering" in html


def test_default_reviewers_missing_scope_is_said_quietly(act_world, bob):
    with act_world.emulator.world.lock:
        user = act_world.emulator.world.user("bob")
        user.api_token_scopes = [s for s in user.api_token_scopes if s != "read:pullrequest:bitbucket"]

    html = bob.get("/acme/api-server/pull-requests/new").content.decode()

    assert _checked(html) == set()
    assert "read:pullrequest:bitbucket" in html and '<form method="post"' in html


def test_default_reviewer_not_yet_in_the_mirror_is_named(act_world, alice):
    WorkspaceMembership.objects.filter(account__bitbucket_uuid=_uuid(act_world, "erin")).delete()

    html = alice.get("/acme/api-server/pull-requests/new").content.decode()

    assert _checked(html) == {_uuid(act_world, "carol")}
    assert "not among the members here yet: Erin Evans" in html


def test_default_reviewers_service_without_a_credential_names_the_problem(act_world):
    alice = act_world.users["alice"]
    Credential.objects.filter(owner=alice).delete()

    found = actions.default_reviewers(user=alice, repository=act_world.repo("api-server"))

    assert found.accounts == () and "no Bitbucket credential" in found.problem


def test_default_reviewers_service_counts_one_request(act_world):
    act_world.reset_counts()
    found = actions.default_reviewers(user=act_world.users["bob"], repository=act_world.repo("web-frontend"))
    assert [a.display_name for a in found.accounts] == ["Carol Chen", "Heidi Hoffmann"]
    assert act_world.counts()["by_credential"]["api_token:bob"]["total"] == 1


def test_file_edit_new_branch_pull_request_gets_the_preselected_reviewers(act_world, bob):
    page = bob.get("/acme/api-server/edit", {"branch": "main", "path": "README.md"})
    html = page.content.decode()
    assert _checked(html) == {_uuid(act_world, u) for u in ("alice", "carol", "erin")}
    tip = act_world.emulator.world.repository("acme", "api-server").branches["main"]

    response = bob.post(
        "/acme/api-server/edit",
        {
            "idempotency_key": _key(html),
            "branch": "main",
            "path": "README.md",
            "parent": tip,
            "content": "# API Server\n\nBob's words.\n",
            "line_ending": "lf",
            "message": "Reword the README",
            "target": "new_branch",
            "new_branch": "feature/bob-readme",
            "pr_title": "Reword the README",
            "reviewers": [_uuid(act_world, "carol")],  # bob unticked alice and erin
        },
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/bob-readme")
    emulated = act_world.emulator.world.repository("acme", "api-server").pullrequests[pr.number]
    assert emulated.reviewers == [_uuid(act_world, "carol")]


def test_file_delete_form_offers_reviewers_for_the_new_branch(act_world, alice):
    html = alice.get("/acme/api-server/delete", {"branch": "main", "path": "README.md"}).content.decode()
    assert _checked(html) == {_uuid(act_world, u) for u in ("carol", "erin")}
    assert "<legend>Reviewers</legend>" in html
