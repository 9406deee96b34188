"""The attention inbox across workspaces shows only what the viewer's own credential sees: no other user's pull
requests in any tab, count, filter choice or live poll, and saved views belong to their owner alone."""

import pytest

from bitbucket_sync.models import SavedView
from tests import factories as f

TABS = ("review", "returned", "ready", "waiting", "open")


@pytest.fixture
def two_users(db, browse_encryption_key):
    """`alice` sees workspace acme's `api` only; `bob` sees acme's `private` and all of workspace bobs. Each is due
    on, and the author of, pull requests in every repository."""
    alice, bob = f.user("alice"), f.user("bob")
    acme, bobs = f.workspace("acme"), f.workspace("bobs")
    me_a, me_b = f.account("Alice A"), f.account("Bob B")
    for ws in (acme, bobs):
        f.member(ws, me_a)
        f.member(ws, me_b)
    api, private, theirs = f.repository(acme, "api"), f.repository(acme, "private"), f.repository(bobs, "theirs")
    f.grant(alice, api)
    f.grant(bob, private, theirs)
    f.credential(alice, acct=me_a)
    f.credential(bob, acct=me_b)
    for repo in (api, private, theirs):
        for author, other in ((me_a, me_b), (me_b, me_a)):
            pr = f.pull_request(repo, author=author, title=f"SECRET-{repo.slug}-{author.display_name}")
            f.reviewer(pr, other)  # due: "needs my review" for the other one
            returned = f.pull_request(repo, author=author, title=f"SECRET-{repo.slug}-{author.display_name}-tasks")
            returned.task_count = 1
            returned.save()
            f.reviewer(returned, other, approved=True)
    return {"alice": alice, "bob": bob, "api": api}


def test_no_tab_or_count_shows_another_users_pull_requests(client, two_users):
    client.force_login(two_users["alice"])
    for tab in TABS:
        response = client.get(f"/-/inbox/?tab={tab}")
        body = response.content.decode()
        assert "SECRET-private" not in body and "SECRET-theirs" not in body, tab
        assert all(pr.repository_id == two_users["api"].pk for pr in response.context["page"]), tab
    counts = client.get("/").context["attention"]
    assert counts == {"review": 1, "returned": 1, "ready": 0}
    form = client.get("/-/inbox/").context["form"]
    assert [v for v, _ in form.fields["workspace"].choices] == ["", "acme"]
    assert form.repositories == ["acme/api"]  # what the repository box may name


def test_filters_naming_hidden_repositories_or_workspaces_show_nothing_of_them(client, two_users):
    client.force_login(two_users["alice"])
    for query in ("repository=acme/private", "repository=bobs/theirs", "workspace=bobs"):
        response = client.get(f"/-/inbox/?tab=open&{query}")
        assert "SECRET-private" not in response.content.decode() and "SECRET-theirs" not in response.content.decode()
        assert response.context["form"].errors  # an unknown value for this viewer, left out


def test_a_saved_view_of_another_user_is_neither_listed_nor_deletable(client, two_users):
    bobs_view = SavedView.objects.create(user=two_users["bob"], name="Bob's secret view", query="workspace=bobs")
    client.force_login(two_users["alice"])
    assert "Bob's secret view" not in client.get("/-/inbox/").content.decode()
    assert client.post(f"/-/inbox/views/{bobs_view.pk}/delete").status_code == 404
    assert SavedView.objects.filter(pk=bobs_view.pk).exists()
    # A view saved with a hidden workspace's filters keeps nothing of them, and opening it shows nothing of bob's.
    client.post("/-/inbox/views/", {"name": "try", "query": "tab=open&workspace=bobs&repository=bobs/theirs"})
    assert SavedView.objects.get(user=two_users["alice"]).query == "tab=open"


def test_saved_views_need_csrf(two_users):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(two_users["alice"])
    assert client.post("/-/inbox/views/", {"name": "x", "query": "tab=open"}).status_code == 403
    view = SavedView.objects.create(user=two_users["alice"], name="mine", query="")
    assert client.post(f"/-/inbox/views/{view.pk}/delete").status_code == 403
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_the_inbox_needs_a_login(client, two_users):
    response = client.get("/-/inbox/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/-/changes/?everywhere=1&since=t0").status_code == 302


def test_the_poll_across_workspaces_ignores_what_the_viewer_cannot_see(client, two_users):
    from datetime import timedelta

    from django.utils import timezone

    client.force_login(two_users["alice"])
    first = client.get("/-/changes/?everywhere=1&target=attention-table&since=t0")
    token = first.content.decode().split("since=")[1].split('"')[0]
    f.PullRequest.objects.exclude(repository=two_users["api"]).update(synced_at=timezone.now() + timedelta(hours=1))
    assert client.get(f"/-/changes/?everywhere=1&target=attention-table&since={token}").status_code == 204
