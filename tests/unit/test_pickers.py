"""Type-ahead pickers: the suggest endpoints (`/-/suggest/...`) answer a datalist's `<option>`s, best matches first and
at most twenty; a form checks a typed name against who and what the viewer may choose, and keeps the text on error."""

import re

import pytest

from bitbucket_sync.models import Repository
from dashboard.filters import AttentionFilterForm, PullRequestFilterForm
from dashboard.forms.writes import PullRequestForm
from dashboard.selectors.suggestions import SUGGESTION_LIMIT, people_in_scope
from tests import factories as f

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def site(db, browse_encryption_key):
    viewer = f.user("viewer")
    acme = f.workspace("acme")
    api = f.repository(acme, "api-server", name="API server")
    web = f.repository(acme, "web", name="Web frontend")
    f.grant(viewer, api, web)
    me = f.account("Vera Viewer", nickname="vera")
    f.member(acme, me)
    f.credential(viewer, acct=me)
    bob = f.account("Bob Brown", nickname="bob")
    bobby = f.account("Bobby Tables", nickname="bobby")
    rob = f.account("Rob Bobson", nickname="rob")
    for person in (bob, bobby, rob):
        f.member(acme, person)
    for name in ("main", "develop", "feature/login", "feature/logout", "fix/login-typo"):
        f.branch(api, name)
    return {"viewer": viewer, "acme": acme, "api": api, "web": web, "me": me, "bob": bob, "bobby": bobby, "rob": rob}


def _values(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'<option value="([^"]*)"', response.content.decode())


def test_people_suggest_puts_names_starting_with_the_text_first(client, site):
    client.force_login(site["viewer"])
    # "bob" starts Bob's and Bobby's names, and only a later word of Rob Bobson's.
    assert _values(client.get("/-/suggest/people/", {"q": "bob", "workspace": "acme"}, **HX)) == ["bob", "bobby", "rob"]


def test_people_suggest_reads_the_text_under_the_box_name(client, site):
    client.force_login(site["viewer"])
    assert _values(client.get("/-/suggest/people/", {"author": "tab"})) == ["bobby"]
    assert _values(client.get("/-/suggest/people/", {"q": ""})) == []  # nothing typed, nothing offered


def test_people_suggest_options_carry_uuid_and_account_id(client, site):
    client.force_login(site["viewer"])
    body = client.get("/-/suggest/people/", {"q": "tables"}).content.decode()
    assert f'data-uuid="{site["bobby"].bitbucket_uuid}"' in body
    assert f'data-account-id="{site["bobby"].account_id}"' in body and ">Bobby Tables</option>" in body


def test_people_suggest_for_reviewers_leaves_out_the_viewer(client, site):
    client.force_login(site["viewer"])
    assert _values(client.get("/-/suggest/people/", {"q": "v", "workspace": "acme"})) == ["vera"]
    assert _values(client.get("/-/suggest/people/", {"q": "v", "workspace": "acme", "exclude": "me"})) == []


def test_people_suggest_stops_at_the_cap(client, site):
    for n in range(SUGGESTION_LIMIT + 5):
        f.member(site["acme"], f.account(f"Zed Person {n:02d}", nickname=f"zed{n:02d}"))
    client.force_login(site["viewer"])
    values = _values(client.get("/-/suggest/people/", {"q": "zed"}))
    assert values == [f"zed{n:02d}" for n in range(SUGGESTION_LIMIT)]


@pytest.mark.parametrize(
    "query",
    [
        {"q": "x" * 101},  # longer than any name
        {"q": "bob", "author": "bob"},  # the text twice
        {"q": ["bob", "rob"]},
        {"q": "bob", "exclude": "everyone"},
        {"q": "bob", "exclude": "me"},  # "me" only means something in a workspace
    ],
)
def test_people_suggest_refuses_malformed_parameters(client, site, query):
    client.force_login(site["viewer"])
    assert client.get("/-/suggest/people/", query).status_code == 400


def test_suggest_endpoints_answer_get_only_and_need_a_login(client, site):
    assert client.get("/-/suggest/people/", {"q": "bob"}).status_code == 302
    client.force_login(site["viewer"])
    assert client.post("/-/suggest/people/", {"q": "bob"}).status_code == 405


def test_repository_suggest_by_slug_in_a_workspace_and_full_name_across(client, site):
    client.force_login(site["viewer"])
    assert _values(client.get("/-/suggest/repositories/", {"repository": "fro", "workspace": "acme"})) == ["web"]
    assert _values(client.get("/-/suggest/repositories/", {"q": "a"})) == ["acme/api-server", "acme/web"]
    assert client.get("/-/suggest/repositories/", {"q": "a", "workspace": "nope"}).status_code == 404


def test_branch_suggest_main_first_then_prefix_then_the_rest(client, site):
    client.force_login(site["viewer"])
    url = "/-/suggest/acme/api-server/branches/"
    assert _values(client.get(url, {"source": "login"})) == ["feature/login", "fix/login-typo"]
    assert _values(client.get(url, {"q": "fe"})) == ["feature/login", "feature/logout"]
    assert _values(client.get(url, {"destination": ""}))[:2] == ["main", "develop"]  # focus: the first ones
    assert client.get("/-/suggest/acme/nope/branches/", {"q": "m"}).status_code == 404
    assert client.get(url, {"q": "m", "target": "m"}).status_code == 400


# --- forms --------------------------------------------------------------------------------------------------------


def _pr_form(site, **data):
    people = list(people_in_scope(site["viewer"], workspace=site["acme"], exclude=site["me"]))
    values = {"idempotency_key": "k" * 32, "source": "develop", "destination": "main", "title": "T"} | data
    return PullRequestForm(values, branches=["main", "develop"], people=people)


def test_reviewer_typed_by_name_is_added_to_the_chosen_ones(site):
    form = _pr_form(site, reviewers=[site["bob"].bitbucket_uuid], add_reviewers="Bobby Tables, rob")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["reviewers"] == [p.bitbucket_uuid for p in (site["bob"], site["bobby"], site["rob"])]


def test_unknown_reviewer_is_an_error_with_the_text_kept(client, site):
    form = _pr_form(site, reviewers=[site["bob"].bitbucket_uuid], add_reviewers="bob, nobody-here")
    assert not form.is_valid()
    assert "Nobody here is called \u201cnobody-here\u201d" in str(form.errors["add_reviewers"])
    html = str(form["add_reviewers"])
    assert 'value="bob, nobody-here"' in html and 'list="id_add_reviewers-options"' in html
    assert [p.nickname for p in form.reviewer_chips()] == ["bob"]  # the chips chosen so far stay


def test_the_viewer_cannot_be_typed_in_as_a_reviewer(site):
    form = _pr_form(site, add_reviewers="vera")
    assert not form.is_valid() and "add_reviewers" in form.errors


def test_ambiguous_display_name_asks_for_the_nickname(site):
    f.member(site["acme"], f.account("Bob Brown", nickname="bob2"))
    form = _pr_form(site, add_reviewers="bob brown")
    assert not form.is_valid()
    assert "Several people are called" in str(form.errors["add_reviewers"])
    assert _pr_form(site, add_reviewers="bob2").is_valid()


def test_reviewer_uuid_not_among_the_candidates_is_refused(site):
    stranger = f.account("Stranger Danger", nickname="stranger")  # a member of no workspace here
    form = _pr_form(site, reviewers=[stranger.bitbucket_uuid])
    assert not form.is_valid() and "reviewers" in form.errors


def test_branch_not_in_the_repository_is_an_error_with_the_text_kept(site):
    form = _pr_form(site, source="feature/gone")
    assert not form.is_valid()
    assert "no branch \u201cfeature/gone\u201d" in str(form.errors["source"])
    assert 'value="feature/gone"' in str(form["source"])


def test_pull_request_page_renders_pickers_not_selects(client, site):
    client.force_login(site["viewer"])
    body = client.get("/acme/pull-requests/?tab=all&author=bob").content.decode()
    assert '<select name="author"' not in body and '<select name="repository"' not in body
    assert '<datalist id="id_author-options"></datalist>' in body  # filled as the user types, not up front
    assert 'hx-get="/-/suggest/people/?workspace=acme"' in body
    assert 'hx-get="/-/suggest/repositories/?workspace=acme"' in body


def test_person_filter_takes_an_account_id_or_a_nickname_and_shows_the_nickname(site):
    people = people_in_scope(site["viewer"], workspace=site["acme"])
    by_id = PullRequestFilterForm({"author": site["bob"].account_id}, people=people)
    assert by_id.cleaned_or_default()["author"] == site["bob"].account_id
    assert 'value="bob"' in str(by_id["author"])  # an old link's account id is shown as the nickname
    by_name = PullRequestFilterForm({"reviewer": "BOBBY"}, people=people)
    assert by_name.cleaned_or_default()["reviewer"] == site["bobby"].account_id
    unknown = PullRequestFilterForm({"author": "zelda"}, people=people)
    assert unknown.cleaned_or_default()["author"] == "" and "author" in unknown.errors
    assert 'value="zelda"' in str(unknown["author"])


def test_repository_filters_take_a_slug_or_a_name(site):
    repositories = Repository.objects.filter(workspace=site["acme"])
    assert (
        PullRequestFilterForm({"repository": "Web Frontend"}, repositories=repositories).cleaned_or_default()[
            "repository"
        ]
        == "web"
    )
    attention = AttentionFilterForm({"repository": "ACME/WEB"}, repositories=["acme/api-server", "acme/web"])
    assert attention.cleaned_or_default()["repository"] == "acme/web"
    assert attention.filter_query() == "repository=acme%2Fweb"
    assert "repository" in AttentionFilterForm({"repository": "acme/x"}, repositories=["acme/web"]).errors
