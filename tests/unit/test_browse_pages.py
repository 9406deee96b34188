"""The browse pages over the mirror: fragments for htmx, filters in the URL, and a constant number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bitbucket_sync.models import SyncRun
from dashboard import selectors
from tests import factories as f

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def site(db, browse_encryption_key):
    viewer = f.user("viewer")
    ws = f.workspace("acme")
    me, other, third = f.account("Me Myself"), f.account("Olga Other"), f.account("Tom Third")
    for a in (me, other, third):
        f.member(ws, a)
    api = f.repository(ws, "api", description="Order API", language="python")
    web = f.repository(ws, "web", description="Storefront", language="javascript")
    f.grant(viewer, api, web)
    credential = f.credential(viewer, acct=me)
    return {
        "credential": credential,
        "viewer": viewer,
        "ws": ws,
        "me": me,
        "other": other,
        "third": third,
        "api": api,
        "web": web,
    }


def _titles(response) -> list[str]:
    return [pr.title for pr in response.context["page"]]


def test_inbox_htmx_request_returns_only_the_table(client, site):
    f.pull_request(site["api"], author=site["other"], title="Only one")
    client.force_login(site["viewer"])
    response = client.get("/acme/pull-requests/?tab=all", **HX)
    body = response.content.decode().strip()
    assert body.startswith('<section id="pr-table"')
    assert "<html" not in body and "Only one" in body
    assert "HX-Request" in response["Vary"]
    full = client.get("/acme/pull-requests/?tab=all")
    assert "<html" in full.content.decode() and "HX-Request" in full["Vary"]


def test_inbox_history_restore_gets_the_whole_page(client, site):
    client.force_login(site["viewer"])
    response = client.get("/acme/pull-requests/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_inbox_tabs_waiting_mine_open_closed(client, site):
    me, other = site["me"], site["other"]
    waiting = f.pull_request(site["api"], author=other, title="Needs my review")
    f.reviewer(waiting, me)
    approved = f.pull_request(site["api"], author=other, title="I approved it")
    f.reviewer(approved, me, approved=True)
    f.reviewer(f.pull_request(site["web"], author=other, title="Someone else reviews"), site["third"])
    f.pull_request(site["web"], author=me, title="My own")
    f.pull_request(site["web"], author=other, title="Merged one", state="MERGED")
    f.pull_request(site["web"], author=other, title="Declined one", state="DECLINED")
    client.force_login(site["viewer"])
    assert _titles(client.get("/acme/pull-requests/?tab=waiting")) == ["Needs my review"]
    assert _titles(client.get("/acme/pull-requests/?tab=mine")) == ["My own"]
    assert set(_titles(client.get("/acme/pull-requests/"))) == {
        "Needs my review",
        "I approved it",
        "Someone else reviews",
        "My own",
    }
    assert set(_titles(client.get("/acme/pull-requests/?tab=closed"))) == {"Merged one", "Declined one"}


def test_inbox_waiting_tab_is_empty_without_linked_account(client, site):
    from bitbucket_sync.models import Credential

    Credential.objects.filter(owner=site["viewer"]).update(account=None)
    f.reviewer(f.pull_request(site["api"], author=site["other"]), site["me"])
    client.force_login(site["viewer"])
    response = client.get("/acme/pull-requests/?tab=waiting")
    assert _titles(response) == []
    assert "not linked to a Bitbucket account" in response.content.decode()


def test_inbox_filters_combine_and_live_in_the_url(client, site):
    me, other, third = site["me"], site["other"], site["third"]
    target = f.pull_request(
        site["api"], author=other, title="Add cache layer", description="uses redis", destination_branch="develop"
    )
    f.reviewer(target, third)
    f.pull_request(site["api"], author=other, title="Add cache docs", destination_branch="main")
    f.pull_request(site["web"], author=other, title="Add cache UI", destination_branch="develop")
    f.pull_request(site["api"], author=me, title="Add cache tests", destination_branch="develop")
    f.pull_request(site["api"], author=other, title="Draft cache", destination_branch="develop", draft=True)
    client.force_login(site["viewer"])
    query = f"?tab=all&repository=api&author={other.account_id}&destination=develop&q=cache&draft=no"
    assert _titles(client.get("/acme/pull-requests/" + query)) == ["Add cache layer"]
    assert _titles(client.get(f"/acme/pull-requests/?tab=all&reviewer={third.account_id}")) == ["Add cache layer"]
    assert _titles(client.get("/acme/pull-requests/?tab=all&q=REDIS")) == ["Add cache layer"]
    assert _titles(client.get("/acme/pull-requests/?tab=all&draft=yes")) == ["Draft cache"]
    assert _titles(client.get("/acme/pull-requests/?tab=all&state=MERGED")) == []


def test_inbox_sorts_by_created_and_repository(client, site):
    now = timezone.now()
    f.pull_request(site["web"], title="Old but fresh", created_on=now - timedelta(days=9), updated_on=now)
    f.pull_request(
        site["api"], title="New but stale", created_on=now - timedelta(days=1), updated_on=now - timedelta(days=1)
    )
    client.force_login(site["viewer"])
    assert _titles(client.get("/acme/pull-requests/?tab=all")) == ["Old but fresh", "New but stale"]
    assert _titles(client.get("/acme/pull-requests/?tab=all&sort=created")) == ["New but stale", "Old but fresh"]
    assert _titles(client.get("/acme/pull-requests/?tab=all&sort=repository")) == ["New but stale", "Old but fresh"]


def test_inbox_bad_filter_is_reported_and_the_rest_still_applies(client, site):
    f.pull_request(site["api"], title="Alpha")
    f.pull_request(site["api"], title="Beta")
    client.force_login(site["viewer"])
    response = client.get("/acme/pull-requests/?tab=all&repository=gone&q=alpha&sort=sideways&page=zebra")
    assert response.status_code == 200
    assert _titles(response) == ["Alpha"]
    errors = response.context["form"].errors
    assert set(errors) == {"repository", "sort"}
    assert "Select a valid choice" in response.content.decode()
    assert 'value="alpha"' in response.content.decode()  # what the user typed stays in the form


def test_inbox_pagination_keeps_filters(client, site):
    for i in range(30):
        f.pull_request(site["api"], title=f"Change {i:02d}", updated_on=timezone.now() - timedelta(minutes=i))
    client.force_login(site["viewer"])
    first = client.get("/acme/pull-requests/?tab=all&q=Change", **HX)
    assert len(first.context["page"]) == 25
    assert first.context["page"].has_next
    assert "?tab=all&amp;q=Change&amp;page=2" in first.content.decode()
    second = client.get("/acme/pull-requests/?tab=all&q=Change&page=2", **HX)
    assert _titles(second) == [f"Change {i:02d}" for i in range(25, 30)]
    assert not second.context["page"].has_next


def test_repository_list_search_filter_and_sort(client, site):
    f.pull_request(site["web"], title="one")
    f.pull_request(site["web"], title="two")
    f.pull_request(site["api"], title="three")
    client.force_login(site["viewer"])

    def slugs(query):
        return [r.slug for r in client.get("/acme/" + query).context["page"]]

    assert slugs("") == ["api", "web"]
    assert slugs("?q=storefront") == ["web"]
    assert slugs("?language=python") == ["api"]
    assert slugs("?sort=open_prs") == ["web", "api"]
    rows = {r.slug: r.open_pr_count for r in client.get("/acme/").context["page"]}
    assert rows == {"api": 1, "web": 2}
    fragment = client.get("/acme/?q=api", **HX).content.decode().strip()
    assert fragment.startswith('<section id="repo-table"')


def test_repository_pages_show_branches_prs_and_watchers(client, site):
    api = site["api"]
    f.branch(api, "main")
    f.branch(api, "feature/login")
    f.pull_request(api, title="Login form", source_branch="feature/login")
    f.watcher(api, site["other"])
    client.force_login(site["viewer"])
    branches = client.get("/acme/api/branches/")
    names = [b.name for b in branches.context["page"]]
    assert names[0] == "main"
    login = next(b for b in branches.context["page"] if b.name == "feature/login")
    assert (login.pr_number, login.pr_state) == (1, "OPEN")
    # Ahead/behind is read live per viewer (the mirror's columns are not shown): the cell asks once on screen.
    assert 'hx-get="/acme/api/branches/ahead-behind?branch=feature%2Flogin"' in branches.content.decode()
    body = branches.content.decode()
    assert ">?<" not in body[body.index("<table") : body.index("</table>")]  # no cell of the branch table says "?"
    watchers = client.get("/acme/api/watchers/").content.decode()
    assert f"/-/people/{site['other'].account_id}/" in watchers
    overview = client.get("/acme/api/").content.decode()
    assert "Login form" in overview and "Order API" in overview


def test_pull_request_detail_accepts_bitbucket_suffixes(client, site):
    f.pull_request(site["api"], title="Suffixes")
    client.force_login(site["viewer"])
    for path in ("1", "1/", "1/overview", "1/some-title-slug"):
        response = client.get(f"/acme/api/pull-requests/{path}")
        assert response.status_code == 200, path
        assert response.context["section"] is None
    assert client.get("/acme/api/pull-requests/1/some-title-slug/diff").context["section"] == "pr-diff"
    assert client.get("/acme/api/pull-requests/2").status_code == 404


def test_pull_request_sections_without_credential_say_why(client, site):
    from bitbucket_sync.models import Credential

    f.pull_request(site["api"])
    Credential.objects.filter(owner=site["viewer"]).delete()
    client.force_login(site["viewer"])
    response = client.get("/acme/api/pull-requests/1/diff", **HX)
    assert response.status_code == 200
    body = response.content.decode().strip()
    assert body.startswith('<section id="pr-diff"')
    assert "no active Bitbucket credential" in body
    page = client.get("/acme/api/src/main/")
    assert page.status_code == 200 and "no active Bitbucket credential" in page.content.decode()


def test_members_and_person_pages(client, site):
    other, me = site["other"], site["me"]
    pr = f.pull_request(site["api"], author=other, title="Olga's change")
    f.reviewer(pr, me)
    f.watcher(site["web"], other)
    client.force_login(site["viewer"])
    members = {m.account.display_name: m for m in client.get("/acme/members/").context["page"]}
    assert members["Olga Other"].open_pr_count == 1 and members["Me Myself"].waiting_count == 1
    person = client.get(f"/-/people/{other.account_id}/")
    assert [p.title for p in person.context["open_pull_requests"]] == ["Olga's change"]
    assert [r.slug for r in person.context["watching"]] == ["web"]
    mine = client.get(f"/-/people/{me.account_id}/")
    assert [p.title for p in mine.context["waiting_reviews"]] == ["Olga's change"]


def test_freshness_and_paused_banner_on_list_pages(client, site):
    until = timezone.now() + timedelta(minutes=20)
    run = f.sync_run(site["ws"], status=SyncRun.Status.PAUSED, paused_until=until)
    # A paused run holds its workspace's lock through the pause (engine.mark_paused): its worker is not lost.
    f.hold_lock(site["ws"], run, until=until + timedelta(minutes=5))
    client.force_login(site["viewer"])
    for path in ("/acme/", "/acme/pull-requests/", "/acme/members/", "/acme/api/branches/", "/acme/api/watchers/"):
        text = client.get(path).content.decode()
        assert "Synced" in text, path
        assert "paused by Bitbucket's rate limit" in text, path


def test_sync_status_polls_while_running_and_stops_when_done(client, site):
    run = f.sync_run(site["ws"], status=SyncRun.Status.RUNNING, repositories_total=4, repositories_done=1)
    client.force_login(site["viewer"])
    page = client.get("/-/sync/").content.decode()
    assert 'hx-trigger="poll" data-poll="2"' in page and "1 of 4 repositories" in page
    running = client.get("/-/sync/acme/", **HX)
    assert running.status_code == 200 and 'data-poll="2"' in running.content.decode()
    run.status, run.repositories_done, run.finished_at = SyncRun.Status.SUCCEEDED, 4, timezone.now()
    run.errors = [{"where": "acme/web", "message": "Bitbucket was unavailable; will retry"}]
    run.save()
    done = client.get("/-/sync/acme/", **HX)
    assert done.status_code == 286  # htmx stops polling
    body = done.content.decode()
    assert "data-poll" not in body and "Succeeded" in body and "Bitbucket was unavailable" in body
    assert client.get("/-/sync/acme/").status_code == 302  # no JavaScript: the whole page


def test_sync_status_shows_budget_against_hourly_allowance(client, site):
    from bitbucket_sync.models import Credential, RequestLedgerEntry

    credential = Credential.objects.get(owner=site["viewer"])
    site["ws"].sync_credential = credential
    site["ws"].save()
    now = timezone.now()
    RequestLedgerEntry.objects.bulk_create(
        [RequestLedgerEntry(credential=credential, at=now, method="GET", family="repositories", path="/x")] * 7
        + [RequestLedgerEntry(credential=credential, at=now - timedelta(hours=2), method="GET", family="repositories")]
    )
    client.force_login(site["viewer"])
    text = client.get("/-/sync/").content.decode()
    assert "7 of 1000 requests used in the last hour" in text
    assert "Sync credential: 7 of 1000 requests" in text


def test_split_ref_and_path_prefers_the_longest_branch(site):
    api = site["api"]
    f.branch(api, "feature")
    f.branch(api, "feature/login")
    location = selectors.split_ref_and_path(api, "feature/login/src/app.py")
    assert (location.ref, location.path, location.is_branch) == ("feature/login", "src/app.py", True)
    location = selectors.split_ref_and_path(api, "0123abcd4567/docs/")
    assert (location.ref, location.path, location.is_branch) == ("0123abcd4567", "docs", False)
    assert selectors.split_ref_and_path(api, "").ref == "main"
    assert selectors.split_ref_and_path(api, "main/").path == ""


# --- queries: the same count for 3 rows and for 30 -----------------------------------------------------------------


def _populate(site, n: int) -> None:
    ws = site["ws"]
    people = [f.account(f"Person {i}") for i in range(3)]
    for person in people:
        f.member(ws, person)
    for i in range(n):
        repo = f.repository(ws, f"r{n}-{i}")
        f.grant(site["viewer"], repo)
        f.branch(site["api"], f"b{n}-{i}", target_author=people[i % 3])
        f.watcher(site["api"], people[i % 3]) if i < 3 else None
        pr = f.pull_request(repo if i % 2 else site["api"], author=people[i % 3], title=f"pr {i}")
        f.reviewer(pr, site["me"])
        f.reviewer(pr, people[(i + 1) % 3], approved=True)
        f.sync_run(ws)
        if i % 3 == 0:  # more workspaces for the home and sync pages, each with a run and a sync credential
            extra = f.workspace(f"w{n}-{i}", sync_credential=site["credential"])
            f.grant(site["viewer"], f.repository(extra), workspaces=[extra])
            f.sync_run(extra, status=SyncRun.Status.RUNNING)


LIST_PAGES = [
    "/",
    "/acme/",
    "/acme/?sort=open_prs",
    "/acme/pull-requests/?tab=all",
    "/acme/pull-requests/?tab=waiting",
    "/acme/api/pull-requests/",
    "/acme/api/",
    "/acme/api/branches/",
    "/acme/api/watchers/",
    "/acme/members/",
    "/-/sync/",
]


def _count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", LIST_PAGES)
def test_list_pages_run_constant_queries(client, site, path, django_assert_num_queries):
    client.force_login(site["viewer"])
    _populate(site, 3)
    client.get(path)  # warm the session
    few = _count_queries(client, path)
    _populate(site, 30)
    with django_assert_num_queries(few):
        response = client.get(path)
    assert response.status_code == 200
