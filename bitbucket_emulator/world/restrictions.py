"""Branch restrictions: the rules a repository admin sets per branch (who may push or merge, which checks a merge
must pass), and the merge refusals they cause.

A rule matches branches by glob (`*` is any run of characters, everything else literal) or by the branching model's
branch type. Merge checks only warn unless an `enforce_merge_checks` rule (Premium) matches the target branch: then a
merge that fails one is refused with 400 and Bitbucket's message. `restrict_merges` refuses (403) anyone it does not
list, enforced or not. The checks live in `MERGE_CHECKS`, one function per kind (builds from statuses.py, open tasks
from tasks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import branching, statuses, tasks
from .objects import BranchRestriction, PullRequest, Repository, WorldError
from .state import World

KINDS = (
    "push",
    "force",
    "delete",
    "restrict_merges",
    "require_tasks_to_be_completed",
    "require_approvals_to_merge",
    "require_review_group_approvals_to_merge",
    "require_default_reviewer_approvals_to_merge",
    "require_no_changes_requested",
    "require_passing_builds_to_merge",
    "require_commits_behind",
    "reset_pullrequest_approvals_on_change",
    "smart_reset_pullrequest_approvals",
    "reset_pullrequest_changes_requested_on_change",
    "require_all_dependencies_merged",
    "enforce_merge_checks",
    "allow_auto_merge_when_builds_pass",
    "require_all_comments_resolved",
)
# Kinds whose `value` is a number (the others take none: a value there is a 400, as third parties found).
VALUE_KINDS = frozenset(
    {
        "require_approvals_to_merge",
        "require_default_reviewer_approvals_to_merge",
        "require_review_group_approvals_to_merge",
        "require_passing_builds_to_merge",
        "require_commits_behind",
    }
)
# Kinds that name who is exempt (push) or who may merge (restrict_merges).
LIST_KINDS = frozenset({"push", "restrict_merges"})
BRANCH_TYPES = ("feature", "bugfix", "release", "hotfix", "development", "production")
MATCH_KINDS = ("glob", "branching_model")

# With a typographic apostrophe, as Bitbucket writes it.
MERGE_CHECKS_REFUSAL = "You can\u2019t merge until you resolve all merge checks."


def glob_matches(pattern: str, branch: str) -> bool:
    """`*` is zero or more characters, everything else literal (`foo*` matches `foo` and `foobar`, not `barfoo`)."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == branch
    if not branch.startswith(parts[0]) or not branch.endswith(parts[-1]):
        return False
    at, end = len(parts[0]), len(branch) - len(parts[-1])
    for part in parts[1:-1]:
        found = branch.find(part, at, end)
        if found < 0:
            return False
        at = found + len(part)
    return at <= end


def applies(rule: BranchRestriction, repo: Repository, branch: str) -> bool:
    if rule.branch_match_kind == "branching_model":
        return rule.branch_type is not None and branching.branch_type_of(repo, branch) == rule.branch_type
    return glob_matches(rule.pattern, branch)


def rules_for(repo: Repository, branch: str, kind: str | None = None) -> list[BranchRestriction]:
    return [r for r in repo.restrictions if applies(r, repo, branch) and (kind is None or r.kind == kind)]


# ---- create and update -------------------------------------------------------------------------------------------


def _bad(field_name: str, message: str) -> WorldError:
    return WorldError(400, message, fields={field_name: [message]})


def _accounts(world: World, items: Any, what: str) -> list[str]:
    if not isinstance(items, list):
        raise _bad(what, f"{what} must be a list.")
    out = []
    for item in items:
        key = item.get("uuid") or item.get("account_id") if isinstance(item, dict) else None
        user = world.find_user(key) if isinstance(key, str) else None
        if user is None:
            raise _bad(what, f"Unknown user: {key}")
        out.append(user.uuid)
    return out


def _groups(items: Any) -> list[str]:
    if not isinstance(items, list):
        raise _bad("groups", "groups must be a list.")
    out = []
    for item in items:
        slug = item.get("slug") if isinstance(item, dict) else None
        if not isinstance(slug, str) or not slug:
            raise _bad("groups", "Each group must be an object with a slug.")
        out.append(slug)
    return out


def apply_body(world: World, repo: Repository, rule: BranchRestriction, body: dict, *, creating: bool) -> None:
    """Set the fields `body` sends (PUT is partial: what is not sent stays), then check the whole rule."""
    if "kind" in body:
        if body["kind"] not in KINDS:
            raise _bad("kind", f"'{body['kind']}' is not a valid kind.")
        rule.kind = body["kind"]
    elif creating:
        raise _bad("kind", "This field is required.")
    if "branch_match_kind" in body:
        if body["branch_match_kind"] not in MATCH_KINDS:
            raise _bad("branch_match_kind", f"'{body['branch_match_kind']}' is not a valid branch_match_kind.")
        rule.branch_match_kind = body["branch_match_kind"]
    if "pattern" in body:
        if not isinstance(body["pattern"], str):
            raise _bad("pattern", "pattern must be a string.")
        rule.pattern = body["pattern"]
    if "branch_type" in body:
        if body["branch_type"] is not None and body["branch_type"] not in BRANCH_TYPES:
            raise _bad("branch_type", f"'{body['branch_type']}' is not a valid branch_type.")
        rule.branch_type = body["branch_type"]
    if "value" in body:
        value = body["value"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise _bad("value", "value must be a non-negative integer.")
        rule.value = value
    if "users" in body:
        rule.users = _accounts(world, body["users"], "users")
    if "groups" in body:
        rule.groups = _groups(body["groups"])
    _check(repo, rule)


def _check(repo: Repository, rule: BranchRestriction) -> None:
    if rule.branch_match_kind == "glob":
        if not rule.pattern:
            raise _bad("pattern", "A pattern is required when branch_match_kind is glob.")
        rule.branch_type = None
    else:
        if rule.branch_type is None:
            raise _bad("branch_type", "A branch_type is required when branch_match_kind is branching_model.")
        rule.pattern = ""
    if rule.value is not None and rule.kind not in VALUE_KINDS:
        raise _bad("value", f"A restriction of kind {rule.kind} does not take a value.")
    if rule.kind in VALUE_KINDS and rule.value is None:
        raise _bad("value", f"A restriction of kind {rule.kind} needs a value.")
    if rule.kind not in LIST_KINDS:
        rule.users, rule.groups = [], []
    for other in repo.restrictions:
        if other.id == rule.id or other.kind != rule.kind or other.branch_match_kind != rule.branch_match_kind:
            continue
        if (rule.branch_match_kind == "glob" and other.pattern == rule.pattern) or (
            rule.branch_match_kind == "branching_model" and other.branch_type == rule.branch_type
        ):
            on = rule.pattern or rule.branch_type
            # The text of this 400 is not documented; this one names the duplicate.
            raise WorldError(400, f"A branch restriction of kind {rule.kind} already exists for {on}.")


def next_id(world: World) -> int:
    """Bitbucket's rule ids are one sequence across repositories."""
    taken = [r.id for repo in world.repositories.values() for r in repo.restrictions]
    return max(taken, default=17203841) + 1


def create(world: World, repo: Repository, body: dict) -> BranchRestriction:
    rule = BranchRestriction(id=next_id(world), kind="")
    apply_body(world, repo, rule, body, creating=True)
    repo.restrictions.append(rule)
    world.version += 1
    return rule


def find(repo: Repository, rule_id: int) -> BranchRestriction:
    for rule in repo.restrictions:
        if rule.id == rule_id:
            return rule
    raise WorldError(404, f"Branch restriction {rule_id} not found.")


# ---- merges ------------------------------------------------------------------------------------------------------

type Check = Callable[[World, Repository, PullRequest, int | None], bool]


def _approvals(world: World, repo: Repository, pr: PullRequest, value: int | None) -> bool:
    return sum(1 for p in pr.participants.values() if p.approved and p.user_uuid != pr.author_uuid) >= (value or 0)


def effective_default_reviewers(world: World, repo: Repository) -> set[str]:
    project = world.workspace_of(repo).projects.get(repo.project_key or "")
    return set(repo.default_reviewers) | set(project.default_reviewers if project else [])


def _default_reviewer_approvals(world: World, repo: Repository, pr: PullRequest, value: int | None) -> bool:
    defaults = effective_default_reviewers(world, repo)
    return sum(1 for p in pr.participants.values() if p.approved and p.user_uuid in defaults) >= (value or 0)


def _no_changes_requested(world: World, repo: Repository, pr: PullRequest, value: int | None) -> bool:
    return not any(p.state == "changes_requested" for p in pr.participants.values())


def _tasks_completed(world: World, repo: Repository, pr: PullRequest, value: int | None) -> bool:
    return tasks.open_count(pr) == 0


def _passing_builds(world: World, repo: Repository, pr: PullRequest, value: int | None) -> bool:
    """At least `value` successful builds on the source tip, none failed, stopped or running."""
    states = [status.state for status in statuses.for_pull_request(repo, pr)]
    if any(s != "SUCCESSFUL" for s in states):
        return False
    return len(states) >= (value or 1)


MERGE_CHECKS: dict[str, Check] = {
    "require_approvals_to_merge": _approvals,
    "require_default_reviewer_approvals_to_merge": _default_reviewer_approvals,
    "require_no_changes_requested": _no_changes_requested,
    "require_tasks_to_be_completed": _tasks_completed,
    "require_passing_builds_to_merge": _passing_builds,
}


def failing_checks(world: World, repo: Repository, pr: PullRequest) -> list[str]:
    """The kinds of the target branch's merge checks this pull request fails (enforced or not)."""
    return [
        rule.kind
        for rule in rules_for(repo, pr.dest_branch)
        if rule.kind in MERGE_CHECKS and not MERGE_CHECKS[rule.kind](world, repo, pr, rule.value)
    ]


def check_merge_allowed(world: World, repo: Repository, pr: PullRequest, actor_uuid: str | None) -> None:
    """Raise Bitbucket's refusal when the rules of the target branch forbid this merge by this user (a closed pull
    request is left to `World.check_mergeable`'s answer)."""
    if pr.state != "OPEN":
        return
    restricting = rules_for(repo, pr.dest_branch, "restrict_merges")
    if restricting and not any(actor_uuid in rule.users for rule in restricting):
        # Groups are not modelled by the emulator: only the listed users may merge.
        raise WorldError(403, f"You don't have permission to merge into {pr.dest_branch}.")
    if rules_for(repo, pr.dest_branch, "enforce_merge_checks") and failing_checks(world, repo, pr):
        raise WorldError(400, MERGE_CHECKS_REFUSAL)
