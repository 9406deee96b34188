"""Branch and file actions against the emulator over HTTP: Bitbucket, the mirror and the audit log agree."""

import pytest

from bitbucket_sync import actions
from bitbucket_sync.models import AuditEvent, Branch

pytestmark = pytest.mark.django_db


def _tip(act_world, slug, branch):
    repo = act_world.emulator.world.repository("acme", slug)
    return repo.branches.get(branch)


def test_create_branch_from_branch_updates_mirror_and_audit(act_world):
    alice = act_world.users["alice"]
    repo = act_world.repo("api-server")
    main_tip = _tip(act_world, "api-server", "main")

    branch = actions.create_branch(user=alice, repository=repo, name="feature/audit-trail", target="main")

    assert _tip(act_world, "api-server", "feature/audit-trail") == main_tip
    assert branch.target_hash == main_tip
    assert Branch.objects.get(repository=repo, name="feature/audit-trail").removed_at is None
    event = AuditEvent.objects.get(action="branch.create")
    assert (event.result, event.actor, event.target) == ("success", alice, "feature/audit-trail")
    assert event.credential_kind == "api_token"
    assert event.repository_full_name == "acme/api-server"


def test_create_branch_from_commit_hash(act_world):
    alice = act_world.users["alice"]
    repo = act_world.repo("api-server")
    commit = act_world.emulator.world.repository("acme", "api-server").commits[_tip(act_world, "api-server", "main")]
    older = commit.parents[0]

    actions.create_branch(user=alice, repository=repo, name="bugfix/from-old", target=older[:12])

    assert _tip(act_world, "api-server", "bugfix/from-old") == older


def test_create_branch_existing_name_says_so_plainly(act_world):
    alice = act_world.users["alice"]
    with pytest.raises(actions.ActionFailed) as failure:
        actions.create_branch(user=alice, repository=act_world.repo("api-server"), name="main", target="main")
    assert failure.value.kind == "exists"
    assert "already exists" in failure.value.message
    event = AuditEvent.objects.get(action="branch.create")
    assert event.result == "failure" and "already exists" in event.message


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("feature/with space", "space"),
        ("a..b", ".."),
        ("ends.lock", ".lock"),
        ("/lead", "start or end"),
        ("x~y", "'~'"),
        ("feature/.hidden", "start with '.'"),
        ("", "name"),
    ],
)
def test_branch_name_problem_follows_git_rules(name, words):
    problem = actions.branch_name_problem(name)
    assert problem is not None and words in problem


def test_branch_name_problem_accepts_prefixed_names():
    for name in ("feature/login-form", "release/2.4", "hotfix/JIRA-12_fix", "bugfix/x"):
        assert actions.branch_name_problem(name) is None


def test_create_branch_invalid_name_sends_nothing(act_world):
    act_world.reset_counts()
    with pytest.raises(actions.ActionFailed) as failure:
        actions.create_branch(
            user=act_world.users["alice"], repository=act_world.repo("api-server"), name="bad name", target="main"
        )
    assert failure.value.kind == "invalid"
    assert act_world.counts()["total"] == 0


def test_load_file_for_edit_gives_text_and_tip(act_world):
    loaded = actions.load_file_for_edit(
        user=act_world.users["alice"], repository=act_world.repo("api-server"), branch="main", path="README.md"
    )
    assert loaded.editable and loaded.exists
    assert loaded.text.startswith("# API Server")
    assert loaded.commit == _tip(act_world, "api-server", "main")


def test_load_file_for_edit_refuses_binary_and_large(act_world):
    alice = act_world.users["alice"]
    repo = act_world.repo("api-server")
    act_world.emulator.world.commit_files(
        "acme",
        "api-server",
        "main",
        "alice",
        {"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary", "big.txt": "x" * (actions.EDIT_MAX_BYTES + 10)},
    )
    binary = actions.load_file_for_edit(user=alice, repository=repo, branch="main", path="logo.png")
    assert not binary.editable and "binary" in binary.reason
    big = actions.load_file_for_edit(user=alice, repository=repo, branch="main", path="big.txt")
    assert not big.editable and "KiB" in big.reason


def test_commit_files_edit_add_delete_moves_branch_and_mirror(act_world):
    alice = act_world.users["alice"]
    repo = act_world.repo("api-server")
    parent = _tip(act_world, "api-server", "main")

    new_hash = actions.commit_files(
        user=alice,
        repository=repo,
        branch="main",
        message="Docs: tidy",
        parent=parent,
        files={"README.md": "# API Server\n\nTidied.\n", "docs/new.md": "new\n"},
        delete=[".gitignore"],
    )

    emu_repo = act_world.emulator.world.repository("acme", "api-server")
    assert emu_repo.branches["main"] == new_hash
    tree = emu_repo.commits[new_hash].tree
    assert tree["README.md"] == b"# API Server\n\nTidied.\n"
    assert tree["docs/new.md"] == b"new\n"
    assert ".gitignore" not in tree
    assert emu_repo.commits[new_hash].parents == [parent]
    assert Branch.objects.get(repository=repo, name="main").target_hash == new_hash
    event = AuditEvent.objects.get(action="file.commit")
    assert event.result == "success" and new_hash[:12] in event.message


def test_commit_files_stale_parent_refused_branch_untouched(act_world):
    alice = act_world.users["alice"]
    repo = act_world.repo("api-server")
    started_from = _tip(act_world, "api-server", "main")
    other = act_world.emulator.world.commit_files(
        "acme", "api-server", "main", "bob", {"CHANGELOG.md": "Bob was here\n"}, "Bob's change"
    )

    with pytest.raises(actions.BranchMoved) as moved:
        actions.commit_files(
            user=alice,
            repository=repo,
            branch="main",
            message="Mine",
            parent=started_from,
            files={"README.md": "my text\n"},
        )

    assert _tip(act_world, "api-server", "main") == other.hash
    assert moved.value.details["tip"] == other.hash
    assert "Bob was here" in moved.value.details["diff"]
    assert AuditEvent.objects.get(action="file.commit").result == "failure"


def test_commit_to_new_branch_and_open_pr_in_one_step(act_world):
    alice = act_world.users["alice"]
    bob = act_world.users["bob"]
    repo = act_world.repo("api-server")
    parent = _tip(act_world, "api-server", "main")
    bob_uuid = act_world.emulator.account("bob")["uuid"]

    pr = actions.commit_to_new_branch_and_open_pr(
        user=alice,
        repository=repo,
        new_branch="feature/readme",
        message="Better README",
        parent=parent,
        files={"README.md": "better\n"},
        title="Better README",
        description="Why: clearer.",
        destination="main",
        reviewers=[bob_uuid],
    )

    emu_repo = act_world.emulator.world.repository("acme", "api-server")
    assert emu_repo.branches["main"] == parent
    assert emu_repo.commits[emu_repo.branches["feature/readme"]].parents == [parent]
    assert pr.state == "OPEN" and pr.source_branch == "feature/readme" and pr.destination_branch == "main"
    assert list(pr.participants.values_list("account__bitbucket_uuid", flat=True)) == [bob_uuid]
    assert bob  # bob is a dashboard user too; the reviewer is his Bitbucket account
    assert list(AuditEvent.objects.order_by("at").values_list("action", "result")) == [
        ("file.commit", "success"),
        ("pull_request.open", "success"),
    ]


def test_commit_to_new_branch_keeps_commit_when_pull_request_fails(act_world):
    parent = _tip(act_world, "api-server", "main")

    with pytest.raises(actions.ActionFailed) as failure:
        actions.commit_to_new_branch_and_open_pr(
            user=act_world.users["alice"],
            repository=act_world.repo("api-server"),
            new_branch="feature/kept",
            message="Keep me",
            parent=parent,
            files={"README.md": "kept\n"},
            title="Keep me",
            destination="no-such-branch",
        )

    assert failure.value.kind == "partial"
    assert "committed on the new branch feature/kept" in failure.value.message
    assert "no-such-branch" in failure.value.message
    assert "feature/kept" in act_world.emulator.world.repository("acme", "api-server").branches
    assert list(AuditEvent.objects.order_by("at").values_list("action", "result")) == [
        ("file.commit", "success"),
        ("pull_request.open", "failure"),
    ]
