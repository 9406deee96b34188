"""The words a filtered list carries for screen readers (`data-announce`, read out by static/js/busy.js): the size of
the result from the fragment itself, with or without a total, and each filter page's region carrying them."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.paginator import Paginator
from django.template import Context, Template
from django.utils import timezone

from dashboard.selectors.pagination import Window
from dashboard.templatetags.results import results_summary
from tests import factories as f

HX = {"HTTP_HX_REQUEST": "true"}


def _window(rows: int, *, number: int = 1, has_next: bool = False) -> Window:
    return Window(object_list=list(range(rows)), number=number, per_page=25, has_next=has_next)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (_window(12), "12 pull requests"),
        (_window(1), "1 pull request"),
        (_window(0), "No pull requests match"),
        (_window(25, has_next=True), "25 pull requests on page 1, more on the next page"),
        (_window(3, number=2), "3 pull requests on page 2"),
        (Paginator(list(range(120)), 50).get_page(2), "120 pull requests, page 2 of 3"),
        (Paginator(list(range(7)), 50).get_page(1), "7 pull requests"),
        (Paginator([], 50).get_page(1), "No pull requests match"),
    ],
)
def test_results_summary_counts_what_the_fragment_shows(page, expected):
    assert results_summary(page, "pull request", "pull requests") == expected


def test_results_summary_says_the_page_own_empty_words_escaped():
    rendered = Template(
        '{% load results %}<p data-announce="{% results_summary page "branch" "branches" empty=empty %}">'
    ).render(Context({"page": _window(0), "empty": 'No "main" <branches>'}))
    assert rendered == '<p data-announce="No &quot;main&quot; &lt;branches&gt;">'


@pytest.fixture
def world(db, settings):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    ws = f.workspace("acme")
    repo = f.repository(ws, "api")
    member = f.user("bob")
    f.grant(member, repo)
    for number in (1, 2, 3):
        f.pull_request(repo, number=number, title=f"Change {number}", synced_at=timezone.now() - timedelta(minutes=5))
    return {"ws": ws, "repo": repo, "member": member}


def test_filter_fragments_carry_their_result_for_announcement(client, world):
    client.force_login(world["member"])
    table = client.get("/acme/pull-requests/", {"tab": "all", "state": "OPEN"}, **HX).content.decode()
    assert table.count("pr-title") == 3
    assert 'id="pr-table" aria-label="Pull requests"\n         data-announce="3 pull requests"' in table
    none = client.get("/acme/pull-requests/", {"tab": "all", "q": "no such title"}, **HX).content.decode()
    assert 'data-announce="No pull requests match"' in none
    repositories = client.get("/acme/", **HX).content.decode()
    assert 'id="repo-table" aria-label="Repositories" data-announce="1 repository"' in repositories
    branches = client.get("/acme/api/branches/", {"q": "nope"}, **HX).content.decode()
    assert 'data-announce="No branches match"' in branches
    members = client.get("/acme/members/", **HX).content.decode()
    assert 'id="member-table"' in members and "data-announce=" in members
    audit = client.get("/-/audit/", **HX).content.decode()
    assert 'id="audit-table" aria-label="Audit events" data-announce="No events"' in audit
