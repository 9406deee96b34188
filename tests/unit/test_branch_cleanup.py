"""Which branches the clean-up page offers (mirror only), tag names, and the recreate rule of an audit entry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bitbucket_sync.actions import recreatable, tag_name_problem
from bitbucket_sync.models import AuditEvent, PullRequest
from dashboard.selectors import refs
from tests import factories as f

pytestmark = pytest.mark.django_db

TIP = "c" * 40


def _offered(repo, days=90):
    return {c.name: c.reason for c in refs.cleanup_candidates(repo, older_than_days=days)}


def test_cleanup_offers_merged_and_declined_branches_that_did_not_move(personas):
    repo = personas.repositories["api"]
    f.branch(repo, "main", target_date=timezone.now() - timedelta(days=999))
    f.branch(repo, "feature/merged", target_hash=TIP)
    f.pull_request(repo, source_branch="feature/merged", source_commit=TIP[:12], state=PullRequest.State.MERGED)
    f.branch(repo, "feature/declined", target_hash="d" * 40)
    f.pull_request(repo, source_branch="feature/declined", source_commit="d" * 12, state=PullRequest.State.DECLINED)
    f.branch(repo, "feature/moved", target_hash="e" * 40)
    f.pull_request(repo, source_branch="feature/moved", source_commit=TIP[:12], state=PullRequest.State.MERGED)
    f.branch(repo, "feature/open", target_hash=TIP, target_date=timezone.now() - timedelta(days=999))
    f.pull_request(repo, source_branch="feature/open", source_commit=TIP[:12], state=PullRequest.State.MERGED)
    f.pull_request(repo, source_branch="feature/open", source_commit=TIP[:12])  # open again: never offered
    f.branch(repo, "feature/fork", target_hash=TIP)
    f.pull_request(
        repo,
        source_branch="feature/fork",
        source_commit=TIP[:12],
        state=PullRequest.State.MERGED,
        source_repository_full_name="someone/fork",
    )
    assert _offered(repo) == {"feature/merged": "merged", "feature/declined": "declined"}


def test_cleanup_offers_old_branches_without_an_open_pull_request(personas):
    repo = personas.repositories["api"]
    old = timezone.now() - timedelta(days=40)
    f.branch(repo, "main", target_date=old)
    f.branch(repo, "spike/old", target_date=old)
    f.branch(repo, "spike/new", target_date=timezone.now() - timedelta(days=2))
    f.branch(repo, "spike/old-open", target_date=old)
    f.pull_request(repo, source_branch="spike/old-open")
    f.branch(repo, "spike/undated", target_date=None)
    assert _offered(repo, days=30) == {"spike/old": "stale"}
    assert _offered(repo, days=60) == {}


def test_cleanup_page_queries_do_not_grow_with_branches(personas, client, django_assert_max_num_queries):
    repo = personas.repositories["api"]
    for n in range(30):
        f.branch(repo, f"feature/{n}", target_hash=f"{n:040x}")
        f.pull_request(repo, source_branch=f"feature/{n}", source_commit=f"{n:040x}"[:12], state="MERGED")
    client.force_login(personas.users["bob"])
    with django_assert_max_num_queries(20):
        response = client.get("/acme/api/branches/cleanup")
    assert response.content.decode().count('name="branch"') == 30


@pytest.mark.parametrize(
    ("name", "ok"),
    [("v1.0", True), ("release/2026-09", True), ("a..b", False), ("has space", False), ("x.lock", False), ("", False)],
)
def test_tag_names_follow_gits_rules(name, ok):
    problem = tag_name_problem(name)
    assert (problem is None) is ok
    if problem:
        assert "branch" not in problem.lower()


def test_only_a_successful_deletion_with_a_full_tip_is_recreatable():
    def event(**fields):
        base = {"action": "branch.delete", "result": "success", "target": "x", "details": {"tip": TIP}}
        return AuditEvent(**(base | fields))

    assert recreatable(event())
    assert not recreatable(event(result="failure"))
    assert not recreatable(event(action="branch.create"))
    assert not recreatable(event(details={"tip": TIP[:12]}))
    assert not recreatable(event(details={"tip": "Z" * 40}))
    assert not recreatable(event(target=""))
