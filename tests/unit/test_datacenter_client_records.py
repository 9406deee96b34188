"""Data Center answers read into the client's records: the shapes code above the client reads for both backends."""

from datetime import UTC, datetime

import pytest
import responses

from bitbucket_sync.client import AccessToken, AuthError, BitbucketSchemaError, DataCenterClient, NotFound
from tests.fixtures import datacenter as dc

REPO = f"{dc.API}/projects/PRJ/repos/web"
CREATED = datetime(2018, 11, 8, 14, 25, 43, 31000, tzinfo=UTC)


@pytest.fixture
def client():
    return DataCenterClient(AccessToken("t"), base_url=dc.SERVER)


@responses.activate
def test_a_personal_project_is_a_workspace_keyed_by_its_tilde_key(client):
    responses.get(f"{dc.API}/projects/~jcitizen", json=dc.project("~JCITIZEN", 55))

    workspace = client.get_workspace("~jcitizen")

    assert (workspace.uuid, workspace.slug, workspace.name) == (f"{{project-55@{dc.TAG}}}", "~JCITIZEN", "Jane Citizen")
    assert workspace.is_private is True
    assert workspace.html_url == f"{dc.SERVER}/users/jcitizen"


@responses.activate
def test_a_project_is_its_own_workspace_and_sole_project(client):
    responses.get(f"{dc.API}/projects/PRJ", json=dc.project("PRJ", 7, public=True))

    (project,) = client.iter_projects("PRJ")

    assert (project.uuid, project.key, project.name, project.description) == (
        f"{{project-7@{dc.TAG}}}",
        "PRJ",
        "Project PRJ",
        "The PRJ project",
    )
    assert project.is_private is False


@responses.activate
def test_user_workspaces_say_which_projects_the_caller_administers(client):
    responses.get(f"{dc.API}/projects", json=dc.page([dc.project("OPS", 2)]))
    responses.get(f"{dc.API}/projects", json=dc.page([dc.project("OPS", 2), dc.project("PRJ", 7)]))

    access = [(a.workspace.slug, a.administrator) for a in client.iter_user_workspaces()]

    assert access == [("OPS", True), ("PRJ", False)]
    assert "permission=PROJECT_ADMIN" in responses.calls[0].request.url
    assert "permission" not in responses.calls[1].request.url


@responses.activate
def test_an_archived_repository_keeps_its_flag_and_gets_its_default_branch(client):
    responses.get(REPO, json=dc.repository(archived=True, description="Old site", public=True))
    responses.get(f"{REPO}/default-branch", json={"id": "refs/heads/trunk", "displayId": "trunk", "type": "BRANCH"})

    before = datetime.now(UTC)
    repository = client.get_repository("PRJ", "web")

    assert repository.archived is True
    assert (repository.uuid, repository.full_name, repository.slug, repository.workspace_slug) == (
        f"{{repository-12@{dc.TAG}}}",
        "PRJ/web",
        "web",
        "PRJ",
    )
    assert (repository.description, repository.is_private, repository.mainbranch) == ("Old site", False, "trunk")
    assert (repository.project_key, repository.project_uuid) == ("PRJ", f"{{project-7@{dc.TAG}}}")
    assert repository.html_url == f"{dc.SERVER}/projects/PRJ/repos/web/browse"
    # No timestamp on Data Center's repositories: the moment it was read.
    assert repository.updated_on >= before


@responses.activate
def test_an_empty_repository_without_a_default_branch_has_no_mainbranch(client):
    responses.get(REPO, json=dc.repository())
    responses.get(f"{REPO}/default-branch", status=204)

    assert client.get_repository("PRJ", "web").mainbranch is None


@responses.activate
def test_a_link_that_is_not_http_is_dropped(client):
    body = dc.repository()
    body["links"]["self"] = [{"href": "javascript:alert(1)"}]
    responses.get(f"{dc.API}/projects/PRJ/repos", json=dc.page([body]))

    (repository,) = client.iter_repositories("PRJ")

    assert repository.html_url is None and repository.archived is False


@responses.activate
def test_branches_say_which_is_the_default(client):
    responses.get(
        f"{REPO}/branches",
        json=dc.page([dc.branch("feature/BB-1", "f" * 40), dc.branch("main", "b" * 40, default=True)]),
    )

    branches = list(client.iter_branches("PRJ", "web"))

    assert [(b.name, b.target.hash, b.is_default) for b in branches] == [
        ("feature/BB-1", "f" * 40, False),
        ("main", "b" * 40, True),
    ]


@responses.activate
def test_one_branch_is_found_by_its_exact_name_in_the_filtered_listing(client):
    responses.get(
        f"{REPO}/branches", json=dc.page([dc.branch("feature/x-2", "2" * 40), dc.branch("feature/x", "1" * 40)])
    )

    found = client.get_branch("PRJ", "web", "feature/x")
    assert found.target.hash == "1" * 40
    assert "filterText=feature%2Fx" in responses.calls[0].request.url
    with pytest.raises(NotFound):
        client.get_branch("PRJ", "web", "feature/y")


@responses.activate
def test_tags_carry_the_peeled_commit_and_the_tag_object(client):
    responses.get(f"{REPO}/tags", json=dc.page([dc.tag("v1.0", "c" * 40, "a" * 40)]))

    (tag,) = client.iter_tags("PRJ", "web")

    assert (tag.name, tag.target.hash, tag.object_hash) == ("v1.0", "c" * 40, "a" * 40)


@responses.activate
def test_a_commit_has_its_author_date_parents_and_the_linked_user_when_there_is_one(client):
    linked = {
        "name": "jcitizen",
        "emailAddress": "jane@example.test",
        "id": 101,
        "displayName": "Jane Citizen",
        "slug": "jcitizen",
        "type": "NORMAL",
    }
    responses.get(f"{REPO}/commits/{'a' * 40}", json=dc.commit("a" * 40, parents=("b" * 40,), author=linked))
    responses.get(f"{REPO}/commits/{'b' * 40}", json=dc.commit("b" * 40))

    mapped = client.get_commit("PRJ", "web", "a" * 40)
    git_only = client.get_commit("PRJ", "web", "b" * 40)

    assert (mapped.hash, mapped.date, mapped.parents, mapped.message) == ("a" * 40, CREATED, ("b" * 40,), "Change")
    assert mapped.author.raw == "jcitizen <jane@example.test>" and mapped.author.user.uuid == f"{{user-101@{dc.TAG}}}"
    assert git_only.author.raw == "N F <nf@example.test>" and git_only.author.user is None


@responses.activate
def test_a_pull_request_with_a_needs_work_reviewer(client):
    bob = dc.user("bob", 102, display="Bob Brown")
    carol = dc.user("carol", 103, display="Carol Chen")
    body = dc.pull_request(
        7,
        state="MERGED",
        draft=True,
        reviewers=[
            dc.participant(bob, status="NEEDS_WORK", lastReviewedCommit="0" * 40),
            dc.participant(carol, status="APPROVED"),
        ],
        participants=[dc.participant(dc.user(), role="PARTICIPANT")],
        properties={
            "mergeCommit": {"id": "9" * 40, "displayId": "9" * 11},
            "commentCount": 4,
            "openTaskCount": 2,
            "resolvedTaskCount": 1,
        },
        closedDate=dc.CREATED_MS + 5000,
    )
    body.pop("description")
    responses.get(f"{REPO}/pull-requests/7", json=body)

    pr = client.get_pull_request("PRJ", "web", 7)

    assert (pr.id, pr.state, pr.draft, pr.description, pr.title) == (7, "MERGED", True, "", "Add one message more")
    assert (pr.created_on, pr.comment_count, pr.task_count, pr.merge_commit) == (CREATED, 4, 2, "9" * 40)
    assert pr.author.account_id == "admin"
    assert (pr.source.branch, pr.source.commit, pr.source.repository.full_name) == (
        "feature/BB-2",
        "046d9a3c1532acf4cf08fe93235c00e4d673c1d2",
        "PRJ/web",
    )
    assert (pr.destination.branch, pr.destination.repository.uuid) == ("main", f"{{repository-12@{dc.TAG}}}")
    assert [r.display_name for r in pr.reviewers] == ["Bob Brown", "Carol Chen"]
    states = [(p.user.nickname, p.role, p.approved, p.state, p.changes_requested) for p in pr.participants]
    assert states == [
        ("bob", "REVIEWER", False, "changes_requested", True),
        ("carol", "REVIEWER", True, "approved", False),
        ("jcitizen", "PARTICIPANT", False, None, False),
    ]
    assert pr.html_url == f"{dc.SERVER}/projects/PRJ/repos/web/pull-requests/7"


@responses.activate
def test_a_pull_request_without_its_required_fields_is_a_schema_error(client):
    body = dc.pull_request(7)
    del body["fromRef"]
    responses.get(f"{REPO}/pull-requests/7", json=body)

    with pytest.raises(BitbucketSchemaError) as info:
        client.get_pull_request("PRJ", "web", 7)
    assert "fromRef" in str(info.value)


@responses.activate
def test_activities_become_cloud_activity_kinds(client):
    feed = [
        dc.activity(16, "REVIEWED"),
        dc.activity(15, "APPROVED"),
        dc.activity(14, "COMMENTED", commentAction="ADDED", comment=dc.comment(2, "second")),
        dc.activity(13, "RESCOPED", fromHash="a" * 40, toHash="b" * 40),
        dc.activity(12, "MERGED", commit=dc.commit("9" * 40)),
        dc.activity(11, "UNAPPROVED"),
        dc.activity(10, "OPENED"),
    ]
    responses.get(f"{REPO}/pull-requests/3/activities", json=dc.page(feed))

    kinds = [
        (a.kind, a.state, a.comment.content if a.comment else None)
        for a in client.iter_pull_request_activity("PRJ", "web", 3)
    ]

    assert kinds == [
        ("changes_requested", None, None),
        ("approval", None, None),
        ("comment", None, "second"),
        ("update", None, None),
        ("update", "MERGED", None),
        ("unapproved", None, None),
        ("update", "OPEN", None),
    ]


@responses.activate
def test_comments_come_from_the_activities_threads_replies_and_anchors_included(client):
    resolver = dc.user("bob", 102, display="Bob Brown")
    inline = dc.comment(
        5,
        "nit",
        anchor={
            "fromHash": "a" * 40,
            "toHash": "b" * 40,
            "line": 12,
            "lineType": "ADDED",
            "fileType": "TO",
            "path": "src/app.py",
            "diffType": "EFFECTIVE",
            "orphaned": False,
        },
        threadResolved=True,
        threadResolver=resolver,
        threadResolvedDate=dc.CREATED_MS + 9000,
        replies=[dc.comment(6, "fixed", replies=[dc.comment(8, "thanks")])],
    )
    removed_line = dc.comment(
        7, "why?", anchor={"line": 3, "lineType": "REMOVED", "fileType": "FROM", "path": "old.py", "orphaned": True}
    )
    feed = [
        dc.activity(24, "COMMENTED", commentAction="ADDED", comment=dc.comment(8, "thanks")),  # a reply's own entry
        dc.activity(23, "COMMENTED", commentAction="ADDED", comment=removed_line),
        dc.activity(22, "COMMENTED", commentAction="REPLIED", comment=inline),
        dc.activity(21, "COMMENTED", commentAction="ADDED", comment=inline),
        dc.activity(20, "OPENED"),
    ]
    responses.get(f"{REPO}/pull-requests/3/activities", json=dc.page(feed))

    comments = list(client.iter_pull_request_comments("PRJ", "web", 3))

    assert [(c.id, c.parent_id, c.content) for c in comments] == [
        (5, None, "nit"),
        (6, 5, "fixed"),
        (8, 6, "thanks"),
        (7, None, "why?"),
    ]
    root, _, _, old_side = comments
    assert (root.inline_path, root.inline_to, root.inline_from, root.inline_outdated) == ("src/app.py", 12, None, False)
    assert root.resolved and root.resolution.user.nickname == "bob"
    assert (old_side.inline_path, old_side.inline_from, old_side.inline_to, old_side.inline_outdated) == (
        "old.py",
        3,
        None,
        True,
    )
    assert not old_side.resolved and comments[1].inline_path is None


@responses.activate
def test_project_members_are_read_from_its_user_permissions_with_cloud_roles(client):
    responses.get(
        f"{dc.API}/projects/PRJ/permissions/users",
        json=dc.page(
            [
                {"user": dc.user(), "permission": "PROJECT_ADMIN"},
                {"user": dc.user("bob", 102), "permission": "PROJECT_READ"},
            ]
        ),
    )

    members = [(m.user.nickname, m.permission) for m in client.iter_members("PRJ")]

    assert members == [("jcitizen", "owner"), ("bob", "member")]


@responses.activate
def test_project_members_need_a_project_admin(client):
    responses.get(
        f"{dc.API}/projects/PRJ/permissions/users",
        status=401,
        json=dc.errors(
            "You are not permitted to access this resource", "com.atlassian.bitbucket.AuthorisationException"
        ),
    )

    with pytest.raises(AuthError):
        list(client.iter_members("PRJ"))


@responses.activate
def test_a_commit_range_is_one_page_of_until_not_since(client):
    responses.get(f"{REPO}/commits", json=dc.page([dc.commit("a" * 40), dc.commit("b" * 40)], limit=2, next_start=2))

    page = client.commit_range_page("PRJ", "web", include=["feature/x"], exclude=["main"], pagelen=2)

    assert [c.hash for c in page.commits] == ["a" * 40, "b" * 40] and page.more is True
    assert len(responses.calls) == 1
    assert "until=feature%2Fx" in responses.calls[0].request.url and "since=main" in responses.calls[0].request.url
    with pytest.raises(ValueError):
        client.commit_range_page("PRJ", "web", include=["a", "b"])


@responses.activate
def test_pull_request_conflicts_are_the_changes_that_carry_a_conflict(client):
    def change(name, conflict=False):
        body = {
            "path": {"components": name.split("/"), "name": name.rsplit("/", 1)[-1], "toString": name},
            "type": "MODIFY",
            "nodeType": "FILE",
            "properties": {"gitChangeType": "MODIFY"},
        }
        if conflict:
            body["conflict"] = {"ourChange": {"type": "MODIFY"}, "theirChange": {"type": "MODIFY"}}
        return body

    changes = dc.page([change("README.md"), change("src/app.py", conflict=True)], next_start=2)
    changes.update({"fromHash": "a" * 40, "toHash": "b" * 40, "properties": {"changeScope": "ALL"}})
    responses.get(f"{REPO}/pull-requests/3/changes", json=changes)

    assert client.pull_request_conflicts("PRJ", "web", 3) == ("src/app.py",)
    assert len(responses.calls) == 1  # one page whatever it says: this listing ignores start


@responses.activate
def test_a_thread_is_read_from_the_newest_activity_that_carries_it(client):
    feed = [
        dc.activity(
            32, "COMMENTED", commentAction="REPLIED", comment=dc.comment(1, "root", replies=[dc.comment(2, "re")])
        ),
        dc.activity(31, "COMMENTED", commentAction="ADDED", comment=dc.comment(3, "later thread")),
        dc.activity(30, "COMMENTED", commentAction="ADDED", comment=dc.comment(1, "root")),
    ]
    responses.get(f"{REPO}/pull-requests/3/activities", json=dc.page(feed))

    comments = [(c.id, c.parent_id) for c in client.iter_pull_request_comments("PRJ", "web", 3)]

    assert comments == [(1, None), (2, 1), (3, None)]


@responses.activate
def test_tasks_are_the_blocker_comments(client):
    bob = dc.user("bob", 102, display="Bob Brown")
    responses.get(
        f"{REPO}/pull-requests/3/blocker-comments",
        json=dc.page(
            [
                dc.comment(40, "Add tests", severity="BLOCKER", state="OPEN", parent={"id": 5}),
                dc.comment(
                    41,
                    "Fix typo",
                    severity="BLOCKER",
                    state="RESOLVED",
                    resolver=bob,
                    resolvedDate=dc.CREATED_MS + 7000,
                ),
            ]
        ),
    )

    open_task, done = client.iter_pull_request_tasks("PRJ", "web", 3)

    assert (open_task.id, open_task.content, open_task.state, open_task.resolved, open_task.comment_id) == (
        40,
        "Add tests",
        "UNRESOLVED",
        False,
        5,
    )
    assert open_task.creator.nickname == "jcitizen"
    assert (done.state, done.resolved, done.resolved_by.nickname, done.comment_id) == ("RESOLVED", True, "bob", None)
    assert done.resolved_on == datetime(2018, 11, 8, 14, 25, 50, 31000, tzinfo=UTC)
