"""Who sees what: a repository the user's credential cannot see is 404 on every page and fragment, and its pull
requests count nowhere."""

import pytest

from tests import factories as f

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def world(db, browse_encryption_key):
    bob = f.user("bob")
    acme = f.workspace("acme")
    api = f.repository(acme, "api")
    infra = f.repository(acme, "infra", description="secret plans")
    # bob (a dashboard user who sees only acme/api) and the Bitbucket accounts behind the people in the world.
    alice, bob_account = f.account("Alice Adams"), f.account("Bob Brown")
    f.member(acme, alice)
    f.member(acme, bob_account)
    f.branch(api, "main")
    f.branch(infra, "main")
    f.watcher(infra, alice)
    visible_pr = f.pull_request(api, author=alice, title="Visible change")
    f.reviewer(visible_pr, bob_account)
    hidden_pr = f.pull_request(infra, author=alice, title="Hidden infra change")
    f.reviewer(hidden_pr, bob_account)
    labs = f.workspace("labs")
    experiments = f.repository(labs, "experiments")
    stranger = f.account("Stranger Danger")
    f.member(labs, stranger)
    f.pull_request(experiments, author=stranger, title="Labs only")
    f.grant(bob, api)
    f.credential(bob, acct=bob_account)
    return {"bob": bob, "acme": acme, "api": api, "infra": infra, "alice": alice, "stranger": stranger}


HIDDEN_REPOSITORY_PATHS = [
    "/acme/infra/",
    "/acme/infra/branches/",
    "/acme/infra/watchers/",
    "/acme/infra/pull-requests/",
    "/acme/infra/pull-requests/1",
    "/acme/infra/pull-requests/1/",
    "/acme/infra/pull-requests/1/diff",
    "/acme/infra/pull-requests/1/commits",
    "/acme/infra/pull-requests/1/activity",
    "/acme/infra/src/",
    "/acme/infra/src/main/",
    "/acme/infra/src/main/README.md",
]
HIDDEN_WORKSPACE_PATHS = [
    "/labs/",
    "/labs/pull-requests/",
    "/labs/members/",
    "/labs/experiments/",
    "/labs/experiments/pull-requests/1",
    "/-/sync/labs/",
]


@pytest.mark.parametrize("path", HIDDEN_REPOSITORY_PATHS + HIDDEN_WORKSPACE_PATHS)
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "fragment"])
def test_hidden_pages_are_404_for_page_and_fragment(client, world, path, headers):
    client.force_login(world["bob"])
    response = client.get(path, **headers)
    assert response.status_code == 404
    assert b"secret plans" not in response.content


def test_sync_request_for_hidden_workspace_is_404(client, world):
    client.force_login(world["bob"])
    assert client.post("/-/sync/labs/run").status_code == 404


def test_visible_repository_pages_answer(client, world):
    client.force_login(world["bob"])
    for path in ("/acme/api/", "/acme/api/branches/", "/acme/api/watchers/", "/acme/api/pull-requests/1"):
        assert client.get(path).status_code == 200, path


def test_hidden_pull_requests_absent_from_inbox_and_counts(client, world):
    client.force_login(world["bob"])
    inbox = client.get("/acme/pull-requests/?tab=all").content.decode()
    assert "Visible change" in inbox
    assert "Hidden infra change" not in inbox
    waiting = client.get("/acme/pull-requests/?tab=waiting").content.decode()
    assert "Visible change" in waiting and "Hidden infra change" not in waiting
    home = client.get("/")
    (acme,) = home.context["workspaces"]
    assert (acme.repository_count, acme.open_pr_count, acme.waiting_count) == (1, 1, 1)
    members = {m.account.display_name: m for m in client.get("/acme/members/").context["page"]}
    assert members["Alice Adams"].open_pr_count == 1
    assert members["Bob Brown"].waiting_count == 1
    repos = client.get("/acme/").content.decode()
    assert "infra" not in repos and "secret plans" not in repos


def test_hidden_repository_filter_is_refused_not_applied(client, world):
    client.force_login(world["bob"])
    response = client.get("/acme/pull-requests/?tab=all&repository=infra")
    assert response.status_code == 200
    assert "Hidden infra change" not in response.content.decode()
    assert "repository" in response.context["form"].errors


def test_person_outside_visible_workspaces_is_404(client, world):
    client.force_login(world["bob"])
    assert client.get(f"/-/people/{world['stranger'].account_id}/").status_code == 404
    page = client.get(f"/-/people/{world['alice'].account_id}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Visible change" in text and "Hidden infra change" not in text
    assert "acme/infra" not in text  # alice watches infra, which bob cannot see


def test_removed_repository_is_404(client, world):
    from django.utils import timezone

    world["api"].removed_at = timezone.now()
    world["api"].save()
    client.force_login(world["bob"])
    assert client.get("/acme/api/").status_code == 404
    assert "Visible change" not in client.get("/acme/pull-requests/?tab=all").content.decode()


def test_repository_access_without_workspace_access_is_404(client, world):
    from bitbucket_sync.models import WorkspaceAccess

    WorkspaceAccess.objects.filter(user=world["bob"]).delete()
    client.force_login(world["bob"])
    assert client.get("/acme/").status_code == 404
    assert client.get("/acme/api/").status_code == 404


def test_staff_see_no_more_than_their_credential(client, world):
    world["bob"].is_staff = True
    world["bob"].is_superuser = True
    world["bob"].save()
    client.force_login(world["bob"])
    assert client.get("/acme/infra/").status_code == 404


def test_inbox_hides_repositories_whichever_list_is_shorter(client, world):
    """Seeing few of many repositories (the inbox filters on what is visible) and most of them (it filters out
    what is hidden) give the same rule."""
    acme = world["acme"]
    extra = [f.repository(acme, f"more-{i}") for i in range(3)]
    for repo in extra:
        f.pull_request(repo, title=f"In {repo.slug}")
    client.force_login(world["bob"])
    titles = {pr.title for pr in client.get("/acme/pull-requests/?tab=all").context["page"]}
    assert titles == {"Visible change"}  # bob sees 1 of 5: filtered on the visible one
    f.grant(world["bob"], *extra)
    titles = {pr.title for pr in client.get("/acme/pull-requests/?tab=all").context["page"]}
    assert titles == {"Visible change", "In more-0", "In more-1", "In more-2"}  # 4 of 5: the hidden one left out
