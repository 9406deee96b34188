"""The mirror's QuerySet methods (`live()`, `visible_to(user)`) and the models' page URLs."""

import pytest
from django.utils import timezone

from bitbucket_sync.models import Branch, PullRequest, Repository, RepositoryWatcher, Workspace, WorkspaceMembership
from dashboard import selectors
from tests import factories as f


@pytest.fixture
def world(db):
    bob, dave = f.user("bob"), f.user("dave")
    acme, labs = f.workspace("acme"), f.workspace("labs")
    api, infra, gone = f.repository(acme, "api"), f.repository(acme, "infra"), f.repository(acme, "gone")
    experiments = f.repository(labs, "experiments")
    gone.removed_at = timezone.now()
    gone.save()
    f.grant(bob, api, gone, experiments)
    labs.removed_at = timezone.now()
    labs.save()
    return {"bob": bob, "dave": dave, "acme": acme, "labs": labs, "api": api, "infra": infra, "gone": gone}


def test_live_leaves_out_removed_rows(world):
    alice = f.account("Alice")
    f.branch(world["api"], "main")
    f.branch(world["api"], "old", removed_at=timezone.now())
    f.watcher(world["api"], alice)
    RepositoryWatcher.objects.update(removed_at=timezone.now())
    f.member(world["acme"], alice)
    assert set(Workspace.objects.live().values_list("slug", flat=True)) == {"acme"}
    assert set(Repository.objects.live().values_list("slug", flat=True)) == {"api", "infra", "experiments"}
    assert list(Branch.objects.live().values_list("name", flat=True)) == ["main"]
    assert not RepositoryWatcher.objects.live().exists()
    assert WorkspaceMembership.objects.live().count() == 1


def test_visible_to_follows_the_users_access_rows(world):
    bob, dave = world["bob"], world["dave"]
    assert set(Workspace.objects.visible_to(bob).values_list("slug", flat=True)) == {"acme", "labs"}
    assert set(Workspace.objects.live().visible_to(bob).values_list("slug", flat=True)) == {"acme"}
    # A repository of a removed workspace is hidden even with its access row; so is a removed one, once live().
    assert set(Repository.objects.visible_to(bob).values_list("slug", flat=True)) == {"api", "gone"}
    assert set(Repository.objects.live().visible_to(bob).values_list("slug", flat=True)) == {"api"}
    assert not Workspace.objects.visible_to(dave).exists()
    assert not Repository.objects.visible_to(dave).exists()


def test_pull_requests_visible_to_only_in_live_visible_repositories(world):
    author = f.account("Alice")
    seen = f.pull_request(world["api"], author=author)
    f.pull_request(world["infra"], author=author)
    f.pull_request(world["gone"], author=author)
    assert list(PullRequest.objects.visible_to(world["bob"])) == [seen]
    assert not PullRequest.objects.visible_to(world["dave"]).exists()


def test_get_absolute_url_names_each_page(world):
    api = world["api"]
    pr = f.pull_request(api, author=f.account("Alice", account_id="557058:alice"))
    branch = f.branch(api, "feature/login")
    assert world["acme"].get_absolute_url() == "/acme/"
    assert api.get_absolute_url() == "/acme/api/"
    assert pr.get_absolute_url() == f"/acme/api/pull-requests/{pr.number}"
    assert branch.get_absolute_url() == "/acme/api/src/feature/login/"
    assert pr.author.get_absolute_url() == "/-/people/557058:alice/"
    assert f.account("Team", account_id="").get_absolute_url() == ""


@pytest.mark.parametrize(("permission", "can_write"), [("read", False), ("write", True), ("admin", True)])
def test_repository_for_user_decides_can_write(world, permission, can_write):
    carol = f.user("carol")
    f.grant(carol, world["api"], permission=permission)
    repository = selectors.repository_for_user(carol, workspace=world["acme"], slug="api")
    assert repository.permission == permission and repository.can_write is can_write


def test_branch_page_offers_branch_actions_to_writers_only(client, world):
    f.branch(world["api"], "main")
    carol = f.user("carol")
    f.grant(carol, world["api"], permission="read")
    client.force_login(carol)
    assert "New branch" not in client.get("/acme/api/branches/").content.decode()
    client.force_login(world["bob"])
    assert "New branch" in client.get("/acme/api/branches/").content.decode()
