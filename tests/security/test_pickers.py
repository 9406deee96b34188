"""Pickers leak no one and nothing.

The holes: a type-ahead listing people of a workspace the viewer cannot see (or who left it), repositories their
credential does not reach, or branches of such a repository; a name typed by hand getting past the list's scope (a
filter or a reviewer naming an outsider); a display name from Bitbucket running as HTML in a datalist option.
"""

import pytest

from dashboard.forms.writes import PullRequestForm
from dashboard.selectors.suggestions import people_in_scope
from tests import factories as f
from tests.security.test_mentions import people_around


@pytest.fixture
def two_workspaces(db, browse_encryption_key):
    viewer = f.user("viewer")
    acme, globex = f.workspace("acme"), f.workspace("globex")
    api = f.repository(acme, "api")
    f.branch(api, "main")
    f.branch(api, "feature/open")
    f.grant(viewer, api)
    hidden_here = f.repository(acme, "secret-here")  # in a workspace the viewer sees, without access
    f.branch(hidden_here, "feature/secret-here")
    globex_repo = f.repository(globex, "secret-there")  # the viewer sees nothing of globex
    f.branch(globex_repo, "feature/secret-there")
    people = people_around(viewer, acme, globex, outsider="Oscar Secret", former="Olivia Secret")
    return {"viewer": viewer, "acme": acme} | people


def test_people_suggestions_never_list_outsiders_or_former_members(client, two_workspaces):
    client.force_login(two_workspaces["viewer"])
    for query in ({"q": "e"}, {"q": "e", "workspace": "acme"}, {"author": "secret"}):
        text = client.get("/-/suggest/people/", query).content.decode()
        assert "Oscar" not in text and two_workspaces["outsider"].bitbucket_uuid not in text, query
        assert "Olivia" not in text and two_workspaces["left"].bitbucket_uuid not in text, query
    assert "vera" in client.get("/-/suggest/people/", {"q": "e"}).content.decode()  # the list was really built
    assert client.get("/-/suggest/people/", {"q": "o", "workspace": "globex"}).status_code == 404


def test_repository_and_branch_suggestions_stay_inside_the_credentials_reach(client, two_workspaces):
    client.force_login(two_workspaces["viewer"])
    for query in ({"q": "secret"}, {"q": "s", "workspace": "acme"}, {"q": "e"}):
        text = client.get("/-/suggest/repositories/", query).content.decode()
        assert "secret" not in text, query
    assert "acme/api" in client.get("/-/suggest/repositories/", {"q": "api"}).content.decode()
    assert client.get("/-/suggest/repositories/", {"q": "s", "workspace": "globex"}).status_code == 404
    assert "feature/open" in client.get("/-/suggest/acme/api/branches/", {"q": "feature"}).content.decode()
    assert client.get("/-/suggest/acme/secret-here/branches/", {"q": "feature"}).status_code == 404
    assert client.get("/-/suggest/globex/secret-there/branches/", {"q": "feature"}).status_code == 404


def test_hostile_names_are_inert_in_options(client, two_workspaces):
    client.force_login(two_workspaces["viewer"])
    text = client.get("/-/suggest/people/", {"q": "script"}).content.decode()
    assert "<option" in text
    assert "<script" not in text and "<img" not in text and "<svg" not in text
    assert "&lt;script&gt;" in text and 'value="&quot;&gt;&lt;svg' in text


def test_a_typed_outsider_is_refused_by_filters_and_the_reviewer_box(client, two_workspaces):
    client.force_login(two_workspaces["viewer"])
    outsider = two_workspaces["outsider"]
    for query in (f"author={outsider.account_id}", "reviewer=oscar", "author=olivia"):
        response = client.get(f"/acme/pull-requests/?tab=all&{query}")
        assert response.context["form"].errors, query
        assert not response.context["filters"].get("author") and not response.context["filters"].get("reviewer")
        inbox = client.get(f"/-/inbox/?tab=open&{query}")
        assert inbox.context["form"].errors, query
    people = list(people_in_scope(two_workspaces["viewer"], workspace=two_workspaces["acme"]))
    data = {"idempotency_key": "k" * 32, "source": "feature/open", "destination": "main", "title": "T"}
    for typed in (
        {"add_reviewers": "oscar"},
        {"add_reviewers": "Olivia Secret"},
        {"reviewers": outsider.bitbucket_uuid},
    ):
        form = PullRequestForm(data | typed, branches=["main", "feature/open"], people=people)
        assert not form.is_valid(), typed
