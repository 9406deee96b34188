"""The upsert services: records in, rows out, keyed by Bitbucket identity and idempotent."""

import pytest

from bitbucket_sync import sync
from bitbucket_sync.client import records
from bitbucket_sync.models import Branch, Participant, PullRequest, Repository, Workspace

EP = "test"


def account(uuid: str, name: str) -> dict:
    return {"type": "user", "uuid": uuid, "account_id": f"acc-{name}", "display_name": name.title(), "nickname": name}


ALICE = account("{a1}", "alice")
BOB = account("{b0}", "bob")
CAROL = account("{c0}", "carol")


def repo_record(uuid="{r1}", slug="web", updated="2026-01-02T00:00:00+00:00") -> records.Repository:
    return records.Repository.from_json(
        {
            "uuid": uuid,
            "full_name": f"acme/{slug}",
            "slug": slug,
            "name": slug.title(),
            "is_private": True,
            "updated_on": updated,
            "mainbranch": {"name": "main"},
            "project": {"uuid": "{p1}", "key": "WEB"},
        },
        endpoint=EP,
    )


def pr_record(number=1, *, title="Add login", updated="2026-01-03T00:00:00+00:00", **extra) -> records.PullRequest:
    data = {
        "id": number,
        "title": title,
        "state": "OPEN",
        "author": ALICE,
        "source": {"branch": {"name": "feature/login"}, "commit": {"hash": "abc123abc123"}},
        "destination": {"branch": {"name": "main"}, "commit": {"hash": "def456def456"}},
        "created_on": "2026-01-01T00:00:00+00:00",
        "updated_on": updated,
    }
    data.update(extra)
    return records.PullRequest.from_json(data, endpoint=EP)


@pytest.fixture
def workspace(db):
    return Workspace.objects.create(bitbucket_uuid="{w1}", slug="acme", name="Acme")


def test_upsert_account_twice_keeps_one_row(db):
    first = sync.upsert_account(records.Account.from_json(ALICE, endpoint=EP))
    renamed = sync.upsert_account(records.Account.from_json({**ALICE, "display_name": "Alice L."}, endpoint=EP))
    assert first.pk == renamed.pk
    assert renamed.display_name == "Alice L."
    assert renamed.account_id == "acc-alice"


def test_upsert_repository_renamed_keeps_its_row(workspace):
    original = sync.upsert_repository(workspace=workspace, record=repo_record(slug="web"))
    renamed = sync.upsert_repository(workspace=workspace, record=repo_record(slug="website"))
    assert original.pk == renamed.pk
    assert renamed.slug == "website"
    assert renamed.full_name == "acme/website"
    assert renamed.project.key == "WEB"


def test_upsert_repository_slug_taken_by_new_uuid_retires_the_old_row(workspace):
    old = sync.upsert_repository(workspace=workspace, record=repo_record(uuid="{old}", slug="web"))
    new = sync.upsert_repository(workspace=workspace, record=repo_record(uuid="{new}", slug="web"))
    old.refresh_from_db()
    assert old.removed_at is not None
    assert new.removed_at is None
    assert Repository.objects.filter(workspace=workspace, removed_at__isnull=True).get() == new


def test_upsert_pull_request_replaces_participants(workspace):
    repository = sync.upsert_repository(workspace=workspace, record=repo_record())
    pr = sync.upsert_pull_request(
        repository=repository,
        record=pr_record(
            reviewers=[BOB, CAROL],
            participants=[{"user": BOB, "role": "REVIEWER", "approved": True, "state": "approved"}],
        ),
    )
    people = {p.account.nickname: p for p in pr.participants.select_related("account")}
    assert set(people) == {"bob", "carol"}
    assert people["bob"].approved and people["bob"].state == "approved"
    assert people["carol"].role == "REVIEWER" and not people["carol"].approved

    again = sync.upsert_pull_request(
        repository=repository,
        record=pr_record(
            updated="2026-01-04T00:00:00+00:00",
            reviewers=[CAROL],
            participants=[{"user": CAROL, "role": "REVIEWER", "approved": False, "state": "changes_requested"}],
        ),
    )
    assert again.pk == pr.pk
    rows = list(Participant.objects.filter(pull_request=pr))
    assert [(p.account.nickname, p.state) for p in rows] == [("carol", "changes_requested")]


def test_upsert_pull_request_without_people_keeps_participants(workspace):
    repository = sync.upsert_repository(workspace=workspace, record=repo_record())
    sync.upsert_pull_request(repository=repository, record=pr_record(reviewers=[BOB], participants=[]))
    pr = sync.upsert_pull_request(repository=repository, record=pr_record(title="Renamed"))
    assert pr.title == "Renamed"
    assert pr.workspace_id == workspace.pk
    assert [p.account.nickname for p in pr.participants.all()] == ["bob"]


def test_upsert_pull_request_unchanged_writes_nothing(workspace, django_assert_num_queries):
    repository = sync.upsert_repository(workspace=workspace, record=repo_record())
    record = pr_record(reviewers=[BOB], participants=[])
    sync.upsert_pull_request(repository=repository, record=record)
    synced_at = PullRequest.objects.get().synced_at
    # account read, PR read, participant read: no writes
    with django_assert_num_queries(5):
        sync.upsert_pull_request(repository=repository, record=record)
    assert PullRequest.objects.get().synced_at == synced_at


def test_upsert_branch_then_mark_removed_then_revive(workspace):
    repository = sync.upsert_repository(workspace=workspace, record=repo_record())
    record = records.Branch.from_json(
        {"name": "feature/x", "target": {"hash": "a" * 40, "author": {"raw": "Alice <a@x>", "user": ALICE}}},
        endpoint=EP,
    )
    branch = sync.upsert_branch(repository=repository, record=record)
    assert branch.target_author.nickname == "alice"
    sync.mark_branch_removed(repository=repository, name="feature/x")
    assert Branch.objects.get(pk=branch.pk).removed_at is not None
    revived = sync.upsert_branch(repository=repository, record=record)
    assert revived.pk == branch.pk and revived.removed_at is None
