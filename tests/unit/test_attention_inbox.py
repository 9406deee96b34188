"""The attention inbox (/-/inbox/): each tab's members for the situations a pull request can be in, through the
selector and the page; filters in the URL, saved views, htmx fragments and a constant number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bitbucket_sync import turns
from bitbucket_sync.models import BuildStatus, Participant, SavedView
from dashboard import selectors
from tests import factories as f

HX = {"HTTP_HX_REQUEST": "true"}
TABS = ("review", "returned", "ready", "waiting", "open")


@pytest.fixture
def team(db, browse_encryption_key):
    viewer = f.user("viewer")
    acme, beta = f.workspace("acme"), f.workspace("beta")
    me, olga, tom = f.account("Me Myself"), f.account("Olga Other"), f.account("Tom Third")
    for ws in (acme, beta):
        for a in (me, olga, tom):
            f.member(ws, a)
    api, web, lib = f.repository(acme, "api"), f.repository(acme, "web"), f.repository(beta, "lib")
    secret = f.repository(acme, "secret")  # the viewer's credential does not see it
    f.grant(viewer, api, web, lib)
    f.credential(viewer, acct=me)
    return {"viewer": viewer, "me": me, "olga": olga, "tom": tom, "api": api, "web": web, "lib": lib, "secret": secret}


def _review(pr, who, state="", *, on=None):
    """A reviewer with a review given on commit `on` (default: the current source commit)."""
    Participant.objects.create(
        pull_request=pr,
        account=who,
        role=Participant.Role.REVIEWER,
        approved=state == "approved",
        state=state,
        reviewed_commit=(on or pr.source_commit) if state else "",
    )


def _builds(pr, *states):
    for i, state in enumerate(states):
        BuildStatus.objects.create(pull_request=pr, key=f"ci-{i}", state=state)
    pr.statuses_synced_for = pr.source_commit
    pr.build_state = turns.build_summary(states)
    pr.save()


def _situations(t) -> dict[str, str]:
    """A dozen pull requests, one per situation; returns {title: situation}. `me` is the viewer's account."""
    me, olga, tom = t["me"], t["olga"], t["tom"]

    def pr(title, repo, author, **fields):
        return f.pull_request(t[repo], author=author, title=title, **fields)

    draft = pr("draft", "api", olga, draft=True)
    _review(draft, me)
    _review(pr("fresh with reviewers", "web", olga), me)
    older = pr("approved on an older commit", "lib", olga, source_commit="b" * 12)
    _review(older, me, "approved", on="a" * 12)
    _review(pr("changes requested", "api", me, conflict_state="clean"), olga, "changes_requested")
    failed = pr("failed build", "api", me, conflict_state="clean")
    _review(failed, olga, "approved")
    _builds(failed, "SUCCESSFUL", "FAILED")
    running = pr("running build", "web", me, conflict_state="clean")
    _review(running, olga, "approved")
    _builds(running, "INPROGRESS")
    conflict = pr("conflict", "lib", me, conflict_state="conflicted")
    _review(conflict, olga, "approved")
    _builds(conflict, "SUCCESSFUL")
    unknown = pr("unknown conflict", "lib", me, conflict_state="")
    _review(unknown, olga, "approved")
    _builds(unknown, "SUCCESSFUL")
    tasks = pr("open tasks", "api", me, conflict_state="clean", task_count=2)
    _review(tasks, olga, "approved")
    _builds(tasks, "SUCCESSFUL")
    green = pr("all green", "web", me, conflict_state="clean")
    _review(green, olga, "approved")
    _builds(green, "SUCCESSFUL")
    merged = pr("merged", "api", me, state="MERGED")
    _review(merged, olga, "approved")
    _review(pr("hidden repository", "secret", olga), me)
    reviewed = pr("I approved, another reviewer has not", "web", olga, conflict_state="clean")
    _review(reviewed, me, "approved")
    _review(reviewed, tom)
    turns.refresh_turns(f.PullRequest.objects.values_list("pk", flat=True))


# situation: the tabs it belongs to (All open is every open pull request the viewer sees).
EXPECTED = {
    "draft": {"open"},
    "fresh with reviewers": {"review", "open"},
    "approved on an older commit": {"review", "open"},
    "changes requested": {"returned", "open"},
    "failed build": {"returned", "open"},
    "running build": {"waiting", "open"},
    "conflict": {"returned", "open"},
    "unknown conflict": {"waiting", "open"},
    "open tasks": {"returned", "open"},
    "all green": {"ready", "open"},
    "merged": set(),
    "hidden repository": set(),
    "I approved, another reviewer has not": {"waiting", "open"},
}


def _tab_titles(t, tab, **filters) -> set[str]:
    scope = selectors.attention_scope(t["viewer"])
    rows = selectors.attention_rows(me=t["me"], scope=scope, filters={"tab": tab, **filters})
    return set(rows.values_list("title", flat=True))


def test_each_tab_holds_the_situations_the_rules_give_it(team):
    _situations(team)
    for tab in TABS:
        expected = {title for title, tabs in EXPECTED.items() if tab in tabs}
        assert _tab_titles(team, tab) == expected, tab


@pytest.mark.parametrize("tab", TABS)
def test_the_page_lists_each_tab_as_the_selector_does(client, team, tab):
    _situations(team)
    client.force_login(team["viewer"])
    response = client.get(f"/-/inbox/?tab={tab}")
    assert response.status_code == 200
    assert {pr.title for pr in response.context["page"]} == {t for t, tabs in EXPECTED.items() if tab in tabs}
    assert "hidden repository" not in response.content.decode()


def test_counts_on_the_home_page_and_the_tabs_link_to_the_inbox(client, team):
    _situations(team)
    client.force_login(team["viewer"])
    home = client.get("/")
    assert home.context["attention"] == {"review": 2, "returned": 4, "ready": 1}
    body = home.content.decode()
    for tab in ("review", "returned", "ready"):
        assert f'href="/-/inbox/?tab={tab}"' in body
    inbox = client.get("/-/inbox/")
    assert [count for *_, count in inbox.context["tabs"]] == [2, 4, 1, None, None]


def test_rows_show_turn_reasons_and_the_rule_on_hover(client, team):
    _situations(team)
    client.force_login(team["viewer"])
    body = client.get("/-/inbox/?tab=returned").content.decode()
    assert "changes requested. Rule: someone requested changes, a build failed" in body
    assert "merge conflict" in body and "unknown" in body
    tabs = client.get("/-/inbox/?tab=waiting").content.decode()
    assert 'title="a reviewer is due' not in tabs  # the rules are the docstring's sentences, capitalised as written
    assert 'title="Independently of the holder, a reviewer is due' in tabs
    row = client.get("/-/inbox/?tab=waiting").context["page"].object_list
    unknown = next(pr for pr in row if pr.title == "unknown conflict")
    assert "conflicts: not checked for the current commits" in unknown.turn_help
    assert unknown.approvals == 1 and len(unknown.reviewer_list) == 1


def test_filters_live_in_the_url(client, team):
    _situations(team)
    client.force_login(team["viewer"])

    def titles(query):
        return {pr.title for pr in client.get(f"/-/inbox/?{query}").context["page"]}

    assert titles("tab=returned&workspace=beta") == {"conflict"}
    assert titles("tab=returned&repository=acme/api") == {"changes requested", "failed build", "open tasks"}
    assert titles("tab=open&author=" + team["olga"].account_id) == {
        "draft",
        "fresh with reviewers",
        "approved on an older commit",
        "I approved, another reviewer has not",
    }
    assert titles("tab=open&reviewer=" + team["tom"].account_id) == {"I approved, another reviewer has not"}
    assert titles("tab=returned&build=FAILED") == {"failed build"}
    assert titles("tab=waiting&build=INPROGRESS") == {"running build"}
    assert titles("tab=open&build=none") == {
        "draft",
        "fresh with reviewers",
        "approved on an older commit",
        "changes requested",
        "I approved, another reviewer has not",
    }
    # Waiting more than N days: on turn_since.
    f.PullRequest.objects.filter(title="conflict").update(turn_since=timezone.now() - timedelta(days=10))
    f.PullRequest.objects.filter(title="failed build").update(turn_since=timezone.now() - timedelta(days=1))
    assert titles("tab=returned&age=5") == {"conflict"}
    # An unknown value is reported and left out; the other filters still apply.
    response = client.get("/-/inbox/?tab=returned&workspace=nope&build=FAILED")
    assert response.context["form"].errors.keys() == {"workspace"}
    assert {pr.title for pr in response.context["page"]} == {"failed build"}


def test_htmx_gets_the_table_alone(client, team):
    _situations(team)
    client.force_login(team["viewer"])
    response = client.get("/-/inbox/?tab=ready", **HX)
    body = response.content.decode().strip()
    assert '<section id="attention-table"' in body and "<html" not in body and "all green" in body
    assert "HX-Request" in response["Vary"]
    page = client.get("/-/inbox/?tab=ready").content.decode()
    assert "<html" in page and 'hx-target="#attention-table"' in page and "data-omit-empty" in page
    assert "everywhere=1" in page  # the live poller watches every workspace the viewer sees


def test_a_refreshed_table_brings_the_tabs_with_their_counts_out_of_band(client, team):
    """A live refresh (or a filter) swaps the table only: the tabs' counts and links must follow, not stay as the page
    was first rendered."""
    _situations(team)
    client.force_login(team["viewer"])
    full = client.get("/-/inbox/?tab=returned").content.decode()
    assert full.count('id="inbox-tabs"') == 1 and "hx-swap-oob" not in full.split('id="inbox-tabs"')[1][:40]
    returned_before = selectors.attention_counts(me=team["me"], scope=selectors.attention_scope(team["viewer"]))[
        "returned"
    ]
    green = f.PullRequest.objects.get(title="all green")
    BuildStatus.objects.create(pull_request=green, key="nightly", state="FAILED")  # back with its author
    turns.refresh_turns([green.pk])

    body = client.get("/-/inbox/?tab=returned&repository=acme/web", **HX).content.decode()
    tabs = body.split('<section id="attention-table"')[0]
    assert '<nav id="inbox-tabs"' in tabs and 'hx-swap-oob="true"' in tabs
    assert f'Returned to me <span class="count">{returned_before + 1}</span>' in tabs
    assert "?tab=ready&amp;repository=acme%2Fweb" in tabs  # the links keep the filters now in the address bar


def test_the_poll_across_workspaces_answers_a_change(client, team):
    _situations(team)
    client.force_login(team["viewer"])
    first = client.get("/-/changes/?everywhere=1&target=attention-table&since=t0")
    assert first.status_code == 200 and first["HX-Trigger"] == "mirror-changed"
    token = first.content.decode().split("since=")[1].split('"')[0]
    assert client.get(f"/-/changes/?everywhere=1&target=attention-table&since={token}").status_code == 204
    # A change in a repository the viewer cannot see is no change for them.
    f.PullRequest.objects.filter(title="hidden repository").update(synced_at=timezone.now() + timedelta(hours=1))
    assert client.get(f"/-/changes/?everywhere=1&target=attention-table&since={token}").status_code == 204
    f.PullRequest.objects.filter(title="conflict").update(synced_at=timezone.now() + timedelta(hours=1))
    assert client.get(f"/-/changes/?everywhere=1&target=attention-table&since={token}").status_code == 200


def test_a_turn_change_is_a_change_the_poll_sees(team):
    pr = f.pull_request(team["web"], author=team["olga"])
    f.reviewer(pr, team["me"])
    before = f.PullRequest.objects.get(pk=pr.pk).synced_at
    Participant.objects.filter(pull_request=pr).update(state="approved", approved=True)
    turns.refresh_turns([pr.pk])
    assert f.PullRequest.objects.get(pk=pr.pk).synced_at != before


def test_saved_views_are_created_replaced_and_deleted_by_their_owner(client, team):
    client.force_login(team["viewer"])
    response = client.post(
        "/-/inbox/views/", {"name": "Beta returns", "query": "tab=returned&workspace=beta&bogus=1&build=nope"}
    )
    view = SavedView.objects.get(user=team["viewer"])
    # Only filters the form accepts are kept, in the form's order.
    assert view.query == "tab=returned&workspace=beta"
    assert response.status_code == 302 and response["Location"] == "/-/inbox/?tab=returned&workspace=beta"
    client.post("/-/inbox/views/", {"name": "Beta returns", "query": "tab=ready"})
    assert list(SavedView.objects.values_list("name", "query")) == [("Beta returns", "tab=ready")]
    page = client.get("/-/inbox/").content.decode()
    assert 'href="/-/inbox/?tab=ready">Beta returns</a>' in page
    assert client.post("/-/inbox/views/", {"name": " ", "query": "tab=ready"}).status_code == 400
    assert client.get("/-/inbox/views/").status_code == 405
    assert client.post(f"/-/inbox/views/{view.pk}/delete").status_code == 302
    assert not SavedView.objects.exists()
    assert client.post(f"/-/inbox/views/{view.pk}/delete").status_code == 404


def test_nav_links_to_the_inbox(client, team):
    client.force_login(team["viewer"])
    assert 'href="/-/inbox/"' in client.get("/").content.decode()
    assert 'aria-current="page" title="Pull requests waiting on you' in client.get("/-/inbox/").content.decode()


def _populate(t, n):
    for i in range(n):
        mine = f.pull_request(t["api"], author=t["me"], conflict_state="clean")
        _review(mine, t["olga"], "changes_requested" if i % 2 else "approved")
        _builds(mine, "SUCCESSFUL")
        theirs = f.pull_request(t["lib"], author=t["olga"])
        _review(theirs, t["me"], "approved" if i % 3 == 0 else "")
        _review(theirs, t["tom"])
    turns.refresh_turns(f.PullRequest.objects.values_list("pk", flat=True))


@pytest.mark.parametrize("query", [f"tab={tab}" for tab in TABS] + ["tab=open&reviewer=x&author=y&age=1&build=none"])
def test_every_tab_runs_a_constant_number_of_queries(client, team, query, django_assert_num_queries):
    client.force_login(team["viewer"])
    SavedView.objects.create(user=team["viewer"], name="mine", query="tab=ready")
    _populate(team, 2)
    client.get("/-/inbox/")  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(f"/-/inbox/?{query}")
    _populate(team, 20)
    with django_assert_num_queries(len(few)):
        response = client.get(f"/-/inbox/?{query}")
    assert response.status_code == 200


def test_home_page_runs_a_constant_number_of_queries(client, team, django_assert_num_queries):
    client.force_login(team["viewer"])
    _populate(team, 2)
    client.get("/")
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    _populate(team, 20)
    with django_assert_num_queries(len(few)):
        assert client.get("/").status_code == 200


def test_pages_of_waiting_merge_my_pull_requests_and_my_reviews_newest_first(client, team):
    """ "Waiting on others" is read from two indexes (my pull requests, my reviews); its pages are in update order."""
    me, olga, tom = team["me"], team["olga"], team["tom"]
    now = timezone.now()
    for i in range(30):
        mine = f.pull_request(team["api"], author=me, updated_on=now - timedelta(hours=2 * i), title=f"mine {i}")
        _review(mine, olga)  # no review yet: the reviewers' turn
        theirs = f.pull_request(team["lib"], author=olga, updated_on=now - timedelta(hours=2 * i + 1), title=f"t {i}")
        _review(theirs, me, "approved")
        _review(theirs, tom)
    turns.refresh_turns(f.PullRequest.objects.values_list("pk", flat=True))
    expected = list(
        selectors.attention_rows(
            me=me, scope=selectors.attention_scope(team["viewer"]), filters={"tab": "waiting"}
        ).values_list("title", flat=True)
    )
    assert len(expected) == 60 and expected[:3] == ["mine 0", "t 0", "mine 1"]
    client.force_login(team["viewer"])
    pages = [client.get(f"/-/inbox/?tab=waiting&page={n}").context["page"] for n in (1, 2, 3)]
    assert [pr.title for page in pages for pr in page] == expected
    assert [page.has_next for page in pages] == [True, True, False]
    filtered = client.get(f"/-/inbox/?tab=waiting&repository=acme/lib&author={olga.account_id}").context["page"]
    assert [pr.title for pr in filtered][:2] == ["t 0", "t 1"]


def test_a_reviewers_inbox_state_follows_the_pull_request(team):
    me, olga = team["me"], team["olga"]
    pr = f.pull_request(team["web"], author=olga)
    _review(pr, me)
    turns.refresh_turns([pr.pk])
    mine = Participant.objects.get(pull_request=pr, account=me)
    assert (mine.attention, mine.needs_review, mine.pull_request_updated_on) == ("due", True, pr.updated_on)
    Participant.objects.filter(pk=mine.pk).update(state="approved", approved=True)
    turns.refresh_turns([pr.pk])
    assert Participant.objects.get(pk=mine.pk).attention == "waiting"
    f.PullRequest.objects.filter(pk=pr.pk).update(draft=True)
    turns.refresh_turns([pr.pk])
    assert Participant.objects.get(pk=mine.pk).attention == ""


def test_repositories_keep_their_open_count_with_every_write(team):
    pr = f.pull_request(team["web"], author=team["olga"])
    f.pull_request(team["web"], author=team["olga"])
    team["web"].refresh_from_db()
    assert team["web"].open_pull_request_count == 2
    f.PullRequest.objects.filter(pk=pr.pk).update(state="MERGED")
    turns.refresh_turns([pr.pk])
    team["web"].refresh_from_db()
    assert team["web"].open_pull_request_count == 1


def test_the_build_column_tells_no_builds_from_builds_not_read(client, team):
    me = team["me"]
    read = f.pull_request(team["api"], author=me, title="read, no builds")
    _builds(read)
    f.pull_request(team["web"], author=me, title="never read")
    client.force_login(team["viewer"])
    rows = {
        pr.title: pr for pr in client.get("/-/inbox/?tab=open").context["page"].object_list if pr.author_id == me.pk
    }
    assert rows["read, no builds"].builds_known and not rows["never read"].builds_known
    body = client.get("/-/inbox/?tab=open").content.decode()

    def row(title: str) -> str:
        rest = body[body.index(title) :]
        return rest[: rest.index("</tr>")]

    # Conflicts are unknown for both, so "none" can only be the build cell's.
    assert "<td>none</td>" in row("read, no builds")
    assert "<td>none</td>" not in row("never read")
