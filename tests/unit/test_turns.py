"""The merge conditions and whose-turn rules, as tables of facts (bitbucket_sync.turns)."""

import pytest

from bitbucket_sync.turns import (
    AUTHOR,
    CLOSED,
    DRAFT,
    GREEN,
    PENDING,
    READY,
    RED,
    REVIEWERS,
    UNKNOWN,
    Facts,
    Review,
    Rules,
    build_summary,
    merge_conditions,
    rules_for,
    whose_turn,
)

AUTHOR_PK, ANN, BEN = 1, 2, 3
TIP = "a" * 40
OLD = "b" * 40


def facts(**changes) -> Facts:
    """An open pull request approved by Ann on its tip, builds green, no tasks, no conflicts, rules unknown."""
    base = dict(
        author=AUTHOR_PK,
        source_commit=TIP,
        reviews=(Review(ANN, state="approved", reviewed_commit=TIP),),
        builds=("SUCCESSFUL",),
        conflict_state="clean",
    )
    base.update(changes)
    return Facts(**base)


@pytest.mark.parametrize(
    ("name", "changes", "holder", "due"),
    [
        ("everything green", {}, READY, set()),
        ("merged", {"state": "MERGED"}, CLOSED, set()),
        ("draft", {"draft": True, "reviews": (Review(ANN),)}, DRAFT, set()),
        ("nobody reviewed yet", {"reviews": (Review(ANN), Review(BEN))}, REVIEWERS, {ANN, BEN}),
        (
            "changes requested",
            {"reviews": (Review(ANN, state="changes_requested", reviewed_commit=TIP),)},
            AUTHOR,
            set(),
        ),
        ("build failed", {"builds": ("SUCCESSFUL", "FAILED")}, AUTHOR, set()),
        ("build stopped", {"builds": ("STOPPED",)}, AUTHOR, set()),
        ("build running", {"builds": ("INPROGRESS",)}, REVIEWERS, set()),
        ("builds never read", {"builds": None}, REVIEWERS, set()),
        ("conflict", {"conflict_state": "conflicted"}, AUTHOR, set()),
        ("conflicts unknown", {"conflict_state": ""}, REVIEWERS, set()),
        ("open tasks", {"task_count": 2}, AUTHOR, set()),
        ("pushed after the approval", {"reviews": (Review(ANN, state="approved", reviewed_commit=OLD),)}, READY, {ANN}),
        (
            "author approving their own PR",
            {"reviews": (Review(AUTHOR_PK, state="approved", reviewed_commit=TIP),)},
            REVIEWERS,
            set(),
        ),
        (
            "participant, not reviewer",
            {"reviews": (Review(ANN, state="approved", reviewed_commit=TIP), Review(BEN, role="PARTICIPANT"))},
            READY,
            set(),
        ),
        ("rule wants two approvals", {"rules": Rules(required_approvals=2)}, REVIEWERS, set()),
    ],
)
def test_whose_turn(name, changes, holder, due):
    turn = whose_turn(facts(**changes))
    assert turn.holder == holder, name
    assert set(turn.reviewers_due) == due, name


def test_conditions_say_green_red_pending_unknown_and_what_blocks():
    conditions = {c.key: c for c in merge_conditions(facts(builds=("INPROGRESS",), conflict_state="", task_count=1))}
    assert conditions["approvals"].status == GREEN and conditions["approvals"].detail.startswith("1 of 1")
    assert conditions["builds"].status == PENDING
    assert conditions["conflicts"].status == UNKNOWN
    assert conditions["tasks"].status == RED and not conditions["tasks"].blocking
    enforced = Rules(required_approvals=2, required_builds=1, tasks_resolved=True, enforced=True)
    conditions = {c.key: c for c in merge_conditions(facts(rules=enforced, task_count=1))}
    assert conditions["approvals"].detail == "1 of 2" and conditions["approvals"].blocking
    assert conditions["tasks"].blocking and conditions["builds"].blocking
    assert not conditions["changes_requested"].blocking


def test_default_reviewer_rule_is_unknown_without_the_default_reviewers():
    rules = Rules(required_default_reviewer_approvals=1)
    conditions = {c.key: c for c in merge_conditions(facts(rules=rules))}
    assert conditions["default_reviewers"].status == UNKNOWN
    conditions = {c.key: c for c in merge_conditions(facts(rules=rules, default_reviewers=frozenset({ANN})))}
    assert conditions["default_reviewers"].status == GREEN


def test_build_summary_is_the_worst_state():
    assert build_summary([]) == ""
    assert build_summary(["SUCCESSFUL", "INPROGRESS"]) == "INPROGRESS"
    assert build_summary(["SUCCESSFUL", "STOPPED", "INPROGRESS"]) == "STOPPED"
    assert build_summary(["FAILED", "STOPPED"]) == "FAILED"


class _Rule:
    def __init__(self, kind, pattern, value=None, users=(), match="glob"):
        self.kind, self.pattern, self.value, self.users, self.groups = kind, pattern, value, list(users), []
        self.branch_match_kind = match


def test_rules_for_matches_bitbucket_globs_and_keeps_the_strictest():
    rules = rules_for(
        [
            _Rule("require_approvals_to_merge", "main", 1),
            _Rule("require_approvals_to_merge", "ma*", 3),
            _Rule("require_approvals_to_merge", "release/*", 5),
            _Rule("require_passing_builds_to_merge", "*", 2),
            _Rule("enforce_merge_checks", "m*n"),
            _Rule("restrict_merges", "main", users=["{u1}"]),
        ],
        "main",
    )
    assert rules.required_approvals == 3 and rules.required_builds == 2 and rules.enforced
    assert rules.merge_users == ("{u1}",)
    assert rules_for([_Rule("require_approvals_to_merge", "foo*", 1)], "barfoo").required_approvals == 0
