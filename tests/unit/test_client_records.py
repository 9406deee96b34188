"""Records are built in one place: required fields enforced, unknown ones ignored, timestamps aware."""

from datetime import UTC, datetime

import pytest

from bitbucket_sync.client import BitbucketSchemaError
from bitbucket_sync.client.records import (
    Account,
    Activity,
    Branch,
    BuildStatus,
    Comment,
    DiffStat,
    Participant,
    Project,
    PullRequest,
    Repository,
    SourceEntry,
    WebhookSubscription,
    Workspace,
    WorkspaceMember,
    fields_param,
)

EP = "GET /test"


def test_unknown_fields_are_ignored_and_links_read():
    account = Account.from_json(
        {
            "type": "user",
            "uuid": "{u}",
            "account_id": "557058:x",
            "display_name": "Ada",
            "brand_new_field": {"nested": True},
            "links": {"avatar": {"href": "https://avatars.example.test/a.png"}},
        },
        endpoint=EP,
    )
    assert account == Account(
        uuid="{u}",
        type="user",
        display_name="Ada",
        account_id="557058:x",
        avatar_url="https://avatars.example.test/a.png",
    )


def test_timestamps_are_aware_whatever_the_spelling():
    base = {"uuid": "{w}", "slug": "acme"}
    with_offset = Workspace.from_json({**base, "created_on": "2013-11-08T01:11:03.222520+00:00"}, endpoint=EP)
    with_z = Workspace.from_json({**base, "created_on": "2015-10-05T01:11:48.096116Z"}, endpoint=EP)
    naive = Workspace.from_json({**base, "created_on": "2015-03-04T14:08:59"}, endpoint=EP)

    assert with_offset.created_on == datetime(2013, 11, 8, 1, 11, 3, 222520, tzinfo=UTC)
    assert with_z.created_on.tzinfo is not None
    assert naive.created_on == datetime(2015, 3, 4, 14, 8, 59, tzinfo=UTC)


def test_bad_timestamp_is_a_schema_error():
    with pytest.raises(BitbucketSchemaError, match="created_on"):
        Workspace.from_json({"uuid": "{w}", "slug": "acme", "created_on": "yesterday"}, endpoint=EP)


def test_not_an_object_is_a_schema_error():
    with pytest.raises(BitbucketSchemaError, match="expected an object"):
        Project.from_json(["not", "a", "dict"], endpoint=EP)


def test_repository_derives_slug_and_workspace_from_full_name():
    repo = Repository.from_json(
        {
            "uuid": "{r}",
            "full_name": "acme/web-app",
            "name": "Web App",
            "is_private": True,
            "updated_on": "2026-01-01T00:00:00+00:00",
            "mainbranch": {"type": "branch", "name": "main"},
            "project": {"key": "WEB", "uuid": "{p}"},
        },
        endpoint=EP,
    )
    assert (repo.slug, repo.workspace_slug, repo.name) == ("web-app", "acme", "Web App")
    assert repo.mainbranch == "main" and repo.project_key == "WEB"
    assert repo.description == "" and repo.language == ""


def test_repository_missing_required_field_names_it():
    with pytest.raises(BitbucketSchemaError) as info:
        Repository.from_json(
            {"uuid": "{r}", "full_name": "acme/web", "is_private": True}, endpoint="GET /repositories/acme"
        )
    assert "'updated_on'" in str(info.value) and info.value.endpoint == "GET /repositories/acme"


def test_nested_missing_field_names_the_full_path():
    with pytest.raises(BitbucketSchemaError, match=r"'participants\[1\]\.user'"):
        PullRequest.from_json(
            {
                "id": 1,
                "title": "t",
                "state": "OPEN",
                "source": {"branch": {"name": "a"}},
                "destination": {"branch": {"name": "b"}},
                "created_on": "2026-01-01T00:00:00+00:00",
                "updated_on": "2026-01-01T00:00:00+00:00",
                "participants": [
                    {"user": {"uuid": "{a}"}, "role": "REVIEWER", "approved": True},
                    {"role": "PARTICIPANT", "approved": False},
                ],
            },
            endpoint=EP,
        )


def test_pull_request_with_deleted_source_branch_and_summary_only_description():
    pr = PullRequest.from_json(
        {
            "id": 4,
            "title": "t",
            "summary": {"raw": "from summary", "markup": "markdown"},
            "state": "MERGED",
            "source": {"branch": {"name": "gone"}, "commit": None, "repository": None},
            "destination": {"branch": {"name": "main"}, "commit": {"hash": "abcdef012345"}},
            "merge_commit": {"hash": "0123456789abcdef"},
            "closed_by": {"uuid": "{c}", "display_name": "Cy"},
            "created_on": "2026-01-01T00:00:00+00:00",
            "updated_on": "2026-01-02T00:00:00+00:00",
        },
        endpoint=EP,
    )
    assert pr.description == "from summary"
    assert pr.source.commit is None and pr.source.repository is None
    assert pr.merge_commit == "0123456789abcdef" and pr.closed_by.display_name == "Cy"
    assert pr.reviewers is None and pr.draft is False


def test_boolean_is_not_accepted_as_an_id():
    with pytest.raises(BitbucketSchemaError, match="'id'"):
        Comment.from_json({"id": True, "created_on": "2026-01-01T00:00:00+00:00"}, endpoint=EP)


def test_branch_target_author_and_parents():
    branch = Branch.from_json(
        {
            "name": "main",
            "target": {
                "hash": "a" * 40,
                "date": "2026-01-01T00:00:00+00:00",
                "message": "Fix\n",
                "author": {"raw": "Ada <ada@example.test>", "user": {"uuid": "{u}", "display_name": "Ada"}},
                "parents": [{"hash": "b" * 40}],
            },
            "merge_strategies": ["merge_commit", "squash"],
            "default_merge_strategy": "squash",
        },
        endpoint=EP,
    )
    assert branch.target.author.raw == "Ada <ada@example.test>" and branch.target.author.user.uuid == "{u}"
    assert branch.target.parents == ("b" * 40,)
    assert branch.default_merge_strategy == "squash"


def test_participant_states():
    p = Participant.from_json(
        {"user": {"uuid": "{u}"}, "role": "REVIEWER", "approved": False, "state": "changes_requested"}, endpoint=EP
    )
    assert p.changes_requested and not p.approved and p.participated_on is None


def test_diffstat_added_and_removed():
    added = DiffStat.from_json({"status": "added", "lines_added": 3, "old": None, "new": {"path": "a"}}, endpoint=EP)
    removed = DiffStat.from_json({"status": "removed", "old": {"path": "b"}, "new": None}, endpoint=EP)
    assert (added.old_path, added.path, added.lines_removed) == (None, "a", 0)
    assert (removed.new_path, removed.path) == (None, "b")


def test_source_entry_attributes_as_string_or_list():
    assert SourceEntry.from_json(
        {"type": "commit_file", "path": "x", "attributes": "binary"}, endpoint=EP
    ).attributes == ("binary",)
    assert SourceEntry.from_json({"type": "commit_directory", "path": "d/e"}, endpoint=EP).name == "e"


def test_activity_kinds():
    comment = Activity.from_json(
        {"comment": {"id": 1, "content": {"raw": "hi"}, "created_on": "2026-01-01T00:00:00+00:00"}}, endpoint=EP
    )
    update = Activity.from_json(
        {"update": {"state": "OPEN", "title": "t", "date": "2026-01-01T00:00:00+00:00", "author": {"uuid": "{a}"}}},
        endpoint=EP,
    )
    approval = Activity.from_json(
        {"approval": {"date": "2026-01-01T00:00:00+00:00", "user": {"uuid": "{b}"}}}, endpoint=EP
    )
    changes = Activity.from_json({"changes_requested": {"date": "2026-01-01T00:00:00+00:00"}}, endpoint=EP)
    assert [a.kind for a in (comment, update, approval, changes)] == [
        "comment",
        "update",
        "approval",
        "changes_requested",
    ]
    assert comment.comment.content == "hi" and update.user.uuid == "{a}" and approval.user.uuid == "{b}"
    with pytest.raises(BitbucketSchemaError):
        Activity.from_json({"pull_request": {"id": 1}}, endpoint=EP)


def test_webhook_and_member():
    hook = WebhookSubscription.from_json(
        {
            "uuid": "{h}",
            "url": "https://hooks.example.test/bb",
            "events": ["repo:push"],
            "active": True,
            "created_at": "2026-01-01T00:00:00Z",
            "secret_set": True,
        },
        endpoint=EP,
    )
    member = WorkspaceMember.from_json({"user": {"uuid": "{u}"}, "workspace": {"slug": "acme"}}, endpoint=EP)
    assert hook.events == ("repo:push",) and hook.secret_set
    assert member.workspace_slug == "acme" and member.permission is None


def test_fields_param_shapes():
    assert fields_param(("a", "b.c"), paginated=False) == "a,b.c"
    assert fields_param(("a",), paginated=True) == "values.a,next,size"


def _status(**extra) -> dict:
    base = {
        "key": "ci-7",
        "type": "build",
        "state": "FAILED",
        "name": "Build #36",
        "description": "There was a failure building this commit.",
        "url": "https://ci.example.test/36",
        "created_on": "2024-11-22T10:23:20.512180+00:00",
        "updated_on": "2024-11-27T16:21:27.750703+00:00",
        "repository": {"type": "repository", "full_name": "acme/web", "uuid": "{r}"},
    }
    return {**base, **extra}


def test_build_status_shapes_of_the_commit_list_the_pr_list_and_a_webhook():
    full = "046d9a3c1532acf4cf08fe93235c00e4d673c1d2"
    commit_link = {"href": f"https://api.example.test/2.0/repositories/acme/web/commit/{full}"}
    # A commit's status (POST answer, commit list): the full hash, refname null.
    on_commit = BuildStatus.from_json(
        _status(refname=None, commit={"hash": full, "type": "commit"}, links={"commit": commit_link}), endpoint=EP
    )
    assert (on_commit.commit, on_commit.refname, on_commit.state) == (full, None, "FAILED")
    assert on_commit.created_on == datetime(2024, 11, 22, 10, 23, 20, 512180, tzinfo=UTC)
    # A pull request's list: the 12-character hash and the source branch as refname.
    in_pr = BuildStatus.from_json(
        _status(refname="feature/x", state="SUCCESSFUL", commit={"hash": full[:12], "type": "commit"}), endpoint=EP
    )
    assert (in_pr.commit, in_pr.refname, in_pr.state) == (full[:12], "feature/x", "SUCCESSFUL")
    # A webhook's commit_status as documented: no commit object, the hash only in links.commit.href; no refname.
    delivered = BuildStatus.from_json(_status(state="INPROGRESS", links={"commit": commit_link}), endpoint=EP)
    assert (delivered.commit, delivered.refname, delivered.name) == (full, None, "Build #36")


def test_build_status_without_commit_or_with_an_unknown_state_is_a_schema_error():
    with pytest.raises(BitbucketSchemaError, match="commit"):
        BuildStatus.from_json(_status(), endpoint=EP)
    with pytest.raises(BitbucketSchemaError, match="state"):
        BuildStatus.from_json(_status(state="GREEN", commit={"hash": "abc123abc123"}), endpoint=EP)
    with pytest.raises(BitbucketSchemaError, match="key"):
        BuildStatus.from_json({**_status(commit={"hash": "abc123abc123"}), "key": None}, endpoint=EP)
