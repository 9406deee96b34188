"""Every browse page on a Data Center mirror (tests/fixtures/datacenter_world.py), as a user who holds only a Data
Center credential: the pages answer, in Data Center's words, with links back to Data Center's own web paths; what
the Data Center client cannot read yet is a note that cost no request; nothing that would write is offered, and a
write URL answers a refusal before anything is sent."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, get_resolver, reverse

from bitbucket_sync.browse import NOT_YET_ON_DATACENTER
from bitbucket_sync.models import Workspace
from dashboard.selectors.sites import ARCHIVED, DATACENTER_READ_ONLY

pytestmark = pytest.mark.django_db


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url, follow=True)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def test_project_inbox_lists_its_pull_requests_with_data_center_words(datacenter_world, datacenter_alice):
    body = page(datacenter_alice, reverse("pull_request_list", args=[datacenter_world.handle]) + "?tab=open")
    assert "Raise the rate limit to 500" in body
    # Rows link to the dashboard's own page, by the project's handle (not by Data Center's PLAT/repo name).
    assert f'href="/{datacenter_world.handle}/api-gateway/pull-requests/2"' in body
    assert "needs work" in body
    assert "changes requested" not in body
    assert "<title>Pull requests · PLAT · bbdash</title>" in body


def test_cross_workspace_inbox_opens_data_center_pull_requests(datacenter_world, datacenter_alice):
    body = page(datacenter_alice, reverse("attention_inbox") + "?tab=open")
    assert "Raise the rate limit to 500" in body
    assert "Add tmux config" in body  # alice's personal project too
    assert f'href="/{datacenter_world.handle}/api-gateway/pull-requests/2"' in body
    assert f'href="/{datacenter_world.project("~alice").slug}/dotfiles/pull-requests/1"' in body


def test_repository_overview_links_back_to_data_center_and_offers_no_action(datacenter_world, datacenter_alice):
    body = page(datacenter_alice, reverse("repository_detail", args=[datacenter_world.handle, "api-gateway"]))
    assert f'href="{datacenter_world.site}/projects/PLAT/repos/api-gateway/browse"' in body
    assert DATACENTER_READ_ONLY in body
    assert "New pull request" not in body
    assert "New branch" not in body
    # Breadcrumbs name the project by its key, with its server.
    assert re.search(r">\s*PLAT <span class=\"site-label", body)
    assert datacenter_world.label.replace("~", "/") in body


def test_archived_repository_has_a_badge(datacenter_world, datacenter_alice):
    body = page(datacenter_alice, reverse("repository_detail", args=[datacenter_world.handle, "legacy-scripts"]))
    assert 'class="badge archived"' in body
    listing = page(datacenter_alice, reverse("workspace_detail", args=[datacenter_world.handle]))
    assert re.search(r"legacy-scripts</a>\s*.*badge archived", listing)


def test_branches_page_lists_branches_without_write_actions(datacenter_world, datacenter_alice):
    body = page(datacenter_alice, reverse("branch_list", args=[datacenter_world.handle, "api-gateway"]))
    for name in ("feature/rate-limits", "bugfix/timeout", "feature/health"):
        assert name in body
    assert "Clean up" not in body
    assert DATACENTER_READ_ONLY in body


def test_source_browser_lists_the_root_directory(datacenter_world, datacenter_alice):
    body = page(datacenter_alice, reverse("source_root", args=[datacenter_world.handle, "api-gateway"]))
    assert "README.md" in body
    assert "src" in body
    assert 'class="banner error"' not in body


def test_source_file_reads_or_says_data_center_cannot_yet(datacenter_world, datacenter_alice):
    body = page(
        datacenter_alice, reverse("source_detail", args=[datacenter_world.handle, "api-gateway", "main/src/limits.py"])
    )
    assert "LIMIT" in body or NOT_YET_ON_DATACENTER in body
    assert 'class="banner error"' not in body


def test_pull_request_page_reads_in_data_center_words_and_offers_no_action(datacenter_world, datacenter_alice):
    body = page(datacenter_alice, reverse("pull_request_detail", args=[datacenter_world.handle, "api-gateway", 2]))
    assert "Raise the rate limit to 500" in body
    assert f'href="{datacenter_world.site}/projects/PLAT/repos/api-gateway/pull-requests/2' in body
    assert "needs work" in body and "Needs work" in body
    assert "changes requested" not in body.lower()
    assert DATACENTER_READ_ONLY in body
    for action in (">Merge<", ">Decline<", ">Approve<", ">Request changes<", ">Comment<", "Your review"):
        assert action not in body, action
    assert "data-composer-url" not in body


def test_pull_request_discussion_shows_threads_without_reply_forms(datacenter_world, datacenter_alice):
    body = page(
        datacenter_alice, reverse("pull_request_section", args=[datacenter_world.handle, "api-gateway", 2, "activity"])
    )
    assert "Is 500 safe for the auth service?" in body
    assert "Yes, it was load tested at 800." in body
    assert "Add a changelog entry" in body
    assert "thread-reply" not in body
    assert ">Resolve<" not in body


def test_pull_request_diff_and_commit_log_read_from_data_center(datacenter_world, datacenter_alice):
    diff = page(
        datacenter_alice, reverse("pull_request_section", args=[datacenter_world.handle, "api-gateway", 2, "diff"])
    )
    assert "src/limits.py" in diff
    assert "lines not counted" in diff  # Data Center's changes carry no line counts: never shown as +0 -0
    assert 'class="banner error"' not in diff and NOT_YET_ON_DATACENTER not in diff
    log = page(datacenter_alice, reverse("commit_list_ref", args=[datacenter_world.handle, "api-gateway", "main"]))
    assert "Initial commit" in log  # the root of main, at the end of its first page
    assert "Merge pull request #1 in PLAT/api-gateway" in log
    assert NOT_YET_ON_DATACENTER not in log


def test_a_read_data_center_cannot_make_costs_no_request(datacenter_world, datacenter_alice):
    """Code Insights reports are a read the Data Center client does not make yet: the panel says so, and Bitbucket
    is not asked for it."""
    datacenter_world.reset_counts()
    body = page(datacenter_alice, reverse("pull_request_reports", args=[datacenter_world.handle, "api-gateway", 2]))
    assert NOT_YET_ON_DATACENTER in body
    assert 'class="banner error"' not in body
    assert datacenter_world.counts()["total"] == 0


def test_members_page_lists_the_project_members(datacenter_world, datacenter_alice):
    body = page(datacenter_alice, reverse("member_list", args=[datacenter_world.handle]))
    for name in ("Alice Anders", "Bob Berg", "Carol Chen"):
        assert name in body


def test_members_page_says_members_are_unknown_when_the_sync_could_not_read_them(datacenter_world, datacenter_alice):
    Workspace.objects.filter(slug=datacenter_world.handle).update(members_state="forbidden")
    try:
        body = page(datacenter_alice, reverse("member_list", args=[datacenter_world.handle]))
    finally:
        Workspace.objects.filter(slug=datacenter_world.handle).update(members_state="read")
    assert "Members unknown" in body and "takes project admin" in body


def test_sync_status_and_person_pages(datacenter_world, datacenter_alice):
    sync = page(datacenter_alice, reverse("sync_list"))
    assert "Platform" in sync
    # A handle holds `@`, `:`, `.` and `~`: no htmx target may be a CSS selector built from it.
    assert not re.search(r'hx-target="#[^"]*@', sync)
    assert "Platform" in page(datacenter_alice, reverse("sync_detail", args=[datacenter_world.handle]))
    account = datacenter_world.credentials["alice"].account
    assert "Alice Anders" in page(datacenter_alice, reverse("person_detail", args=[account.account_id]))


def test_home_names_the_project_by_key_and_server(datacenter_world, datacenter_alice):
    body = page(datacenter_alice, reverse("home"))
    assert "Platform" in body
    assert datacenter_world.label.replace("~", "/") in body


# -- writes --------------------------------------------------------------------------------------------------------


def _write_views() -> list[URLPattern]:
    return [
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLPattern) and getattr(p.callback, "acts_on_bitbucket", False)
    ]


def test_every_write_url_is_guarded():
    names = {p.name for p in _write_views()}
    expected = {
        "branch_create",
        "branch_delete",
        "branch_cleanup",
        "branch_cleanup_confirm",
        "tag_delete",
        "file_edit",
        "file_delete",
        "pull_request_create",
        "pull_request_update",
        "pull_request_review",
        "pull_request_comment",
        "pull_request_review_publish",
        "pull_request_review_discard",
        "pull_request_merge",
        "pull_request_decline",
        "pull_request_task_create",
        "pull_request_task_resolve",
        "pull_request_task_reopen",
        "pull_request_comment_new",
        "pull_request_comment_reply",
        "pull_request_comment_edit",
        "pull_request_comment_delete",
        "pull_request_comment_resolve",
        "pull_request_comment_reopen",
        "pull_request_comment_task",
    }
    assert expected <= names
    # Live updates register a webhook, which the sync of a Data Center project uses too: staff may turn them on.
    assert "webhook_subscription_toggle" not in names


def _kwargs(pattern: URLPattern, handle: str) -> dict:
    values = {"workspace_slug": handle, "repo_slug": "api-gateway", "number": 2, "comment_id": 1, "task_id": 1}
    return {name: values[name] for name in pattern.pattern.converters}


def test_writes_on_data_center_are_refused_before_anything_is_sent(datacenter_world, datacenter_alice):
    datacenter_world.reset_counts()
    for pattern in _write_views():
        url = reverse(pattern.name, kwargs=_kwargs(pattern, datacenter_world.handle))
        response = datacenter_alice.post(url, {"text": "hello", "verdict": "approve", "idempotency_key": "k" * 32})
        assert response.status_code == 403, (url, response.status_code)
        assert DATACENTER_READ_ONLY in response.content.decode(), url
    tags = datacenter_alice.post(
        reverse("tag_list", args=[datacenter_world.handle, "api-gateway"]), {"name": "v2", "target": "main"}
    )
    assert tags.status_code == 403
    assert DATACENTER_READ_ONLY in tags.content.decode()
    assert datacenter_world.counts()["total"] == 0


def test_write_refusal_is_a_404_for_what_the_user_cannot_see(datacenter_world):
    bob = datacenter_world.signed_in("bob")
    personal = datacenter_world.project("~alice").slug
    response = bob.post(reverse("pull_request_merge", args=[personal, "dotfiles", 1]), {})
    assert response.status_code == 404


def test_archived_cloud_repository_is_read_only(demo_world):
    repository = demo_world.repo("api-server")
    repository.archived = True
    repository.save(update_fields=["archived"])
    alice = demo_world.signed_in("alice")
    body = page(alice, reverse("repository_detail", args=["acme", "api-server"]))
    assert 'class="badge archived"' in body
    assert ARCHIVED in body
    assert "New pull request" not in body
    demo_world.reset_counts()
    response = alice.post(reverse("branch_create", args=["acme", "api-server"]), {"name": "x", "source": "main"})
    assert response.status_code == 403
    assert ARCHIVED in response.content.decode()
    assert demo_world.counts()["total"] == 0
    # A Cloud repository that is not archived still offers its actions.
    assert "New pull request" in page(alice, reverse("repository_detail", args=["acme", "web-frontend"]))


def test_links_to_files_and_commits_use_data_center_web_paths(datacenter_world):
    from dashboard.selectors import sites

    repository = datacenter_world.repo("api-gateway")
    base = f"{datacenter_world.site}/projects/PLAT/repos/api-gateway"
    assert sites.bitbucket_url(repository, "source", "abc123", "src/a b.py") == f"{base}/browse/src/a%20b.py?at=abc123"
    assert sites.bitbucket_url(repository, "raw", "abc123", "README.md") == f"{base}/raw/README.md?at=abc123"
    assert sites.bitbucket_url(repository, "commit", "abc123") == f"{base}/commits/abc123"


def test_links_to_files_and_commits_on_cloud_keep_clouds_paths(demo_world):
    from dashboard.selectors import sites

    repository = demo_world.repo("api-server")
    base = repository.html_url.rstrip("/")
    assert sites.bitbucket_url(repository, "source", "abc123", "src/a b.py") == f"{base}/src/abc123/src/a%20b.py"
    assert sites.bitbucket_url(repository, "commit", "abc123") == f"{base}/commits/abc123"
