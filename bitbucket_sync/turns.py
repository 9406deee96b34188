"""May a pull request merge, and whose turn is it: the rules in one place.

`merge_conditions` lists what Bitbucket's merge checks and a team lead look at (approvals, default-reviewer
approvals, builds, tasks, changes requested, conflicts), each green, red, pending or unknown, and whether Bitbucket
would refuse the merge for it or only warn. `whose_turn` reads those conditions and the reviews and says who the pull
request waits on. Both are pure functions of `Facts`, so they are tested as tables; `refresh_turns` builds the facts
from the mirror and stores the answer on the rows (`PullRequest.turn`, `turn_since`, `turn_reasons`,
`Participant.needs_review`, `attention`, `reviewed_commit`), where the inbox filters on them with an index at any size.

Everything that changes a fact (a pull request synced or delivered by webhook, a build status, a conflict read, the
merge rules) calls `refresh_turns` with the pull requests it touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from bitbucket_sync.models import BranchRestriction, BuildStatus, Participant, PullRequest, Repository

GREEN, RED, PENDING, UNKNOWN = "green", "red", "pending", "unknown"

# Whose turn: the values of PullRequest.turn.
AUTHOR, REVIEWERS, READY, DRAFT, CLOSED = "author", "reviewers", "ready", "draft", "closed"

APPROVED = Participant.ReviewState.APPROVED
CHANGES_REQUESTED = Participant.ReviewState.CHANGES_REQUESTED


@dataclass(frozen=True)
class Review:
    """One participant as the rules see them: account pk, role, review state and the commit they reviewed."""

    account: int
    role: str = Participant.Role.REVIEWER
    state: str = ""
    reviewed_commit: str = ""


@dataclass(frozen=True)
class Rules:
    """The destination branch's merge rules (from branch restrictions). `enforced`: Bitbucket refuses a merge that
    fails them (Premium's `enforce_merge_checks`); otherwise they only warn."""

    required_approvals: int = 0
    required_default_reviewer_approvals: int = 0
    required_builds: int = 0
    tasks_resolved: bool = False
    no_changes_requested: bool = False
    enforced: bool = False
    # Account uuids (and group slugs) allowed to merge; None: anyone with write access.
    merge_users: tuple[str, ...] | None = None
    merge_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """What the mirror knows about one pull request. None/"" where it does not know (yet)."""

    state: str = PullRequest.State.OPEN
    draft: bool = False
    author: int | None = None
    source_commit: str = ""
    reviews: tuple[Review, ...] = ()
    # Each build status's state; None when the statuses were never read for the current source commit.
    builds: tuple[str, ...] | None = None
    task_count: int = 0
    conflict_state: str = ""
    # None: the merge rules are unknown (the sync credential may not read branch restrictions).
    rules: Rules | None = None
    # Account pks of the repository's default reviewers; None when unknown.
    default_reviewers: frozenset[int] | None = None


@dataclass(frozen=True)
class Condition:
    key: str
    label: str
    status: str
    detail: str
    # True: Bitbucket refuses the merge while this is not green; False: it is advice (a warning in Bitbucket's UI).
    blocking: bool = False


@dataclass(frozen=True)
class Turn:
    holder: str
    reasons: tuple[str, ...] = ()
    # Reviewers (account pks) whose review the pull request waits for.
    reviewers_due: frozenset[int] = field(default_factory=frozenset)


def build_summary(states: Iterable[str]) -> str:
    """One state for a set of build statuses, worst first: FAILED, STOPPED, INPROGRESS, SUCCESSFUL; "" for none."""
    present = set(states)
    for state in ("FAILED", "STOPPED", "INPROGRESS", "SUCCESSFUL"):
        if state in present:
            return state
    return ""


def _reviewed_current(review: Review, source_commit: str) -> bool:
    return bool(review.state) and bool(review.reviewed_commit) and review.reviewed_commit == source_commit


def merge_conditions(facts: Facts) -> list[Condition]:
    """Each condition of the merge, in the order the readiness panel shows them.

    - Approvals: the rule's number when the rules are known, else at least one (a review by someone other than the
      author is what every team asks for; it is advice, Bitbucket does not refuse without a rule).
    - Default-reviewer approvals: only when a rule asks for them; unknown without the default reviewers.
    - Builds: unknown until the statuses were read for the current source commit; red when one failed or was
      stopped, pending while one runs, green when all passed (and at least the rule's number did).
    - Tasks: red while any is open.
    - Changes requested: red while any participant requests changes.
    - Conflicts: unknown until the merge preview was read for the current pair of tips.
    """
    rules = facts.rules
    enforced = bool(rules and rules.enforced)
    conditions: list[Condition] = []

    approvals = sum(1 for r in facts.reviews if r.state == APPROVED and r.account != facts.author)
    needed = max(rules.required_approvals, 1) if rules else 1
    conditions.append(
        Condition(
            "approvals",
            "Approvals",
            GREEN if approvals >= needed else RED,
            f"{approvals} of {needed}" + ("" if rules else " (merge rules unknown)"),
            blocking=enforced and bool(rules and rules.required_approvals),
        )
    )
    if rules and rules.required_default_reviewer_approvals:
        n = rules.required_default_reviewer_approvals
        if facts.default_reviewers is None:
            conditions.append(
                Condition("default_reviewers", "Default reviewers", UNKNOWN, f"{n} needed; default reviewers unknown")
            )
        else:
            got = sum(1 for r in facts.reviews if r.state == APPROVED and r.account in facts.default_reviewers)
            conditions.append(
                Condition(
                    "default_reviewers",
                    "Default reviewers",
                    GREEN if got >= n else RED,
                    f"{got} of {n}",
                    blocking=enforced,
                )
            )

    required_builds = rules.required_builds if rules else 0
    builds_blocking = enforced and bool(required_builds)
    if facts.builds is None:
        conditions.append(Condition("builds", "Builds", UNKNOWN, "not read yet", blocking=builds_blocking))
    else:
        passed = facts.builds.count("SUCCESSFUL")
        failed = sum(1 for s in facts.builds if s in ("FAILED", "STOPPED"))
        running = facts.builds.count("INPROGRESS")
        if failed:
            status, detail = RED, f"{failed} failed or stopped of {len(facts.builds)}"
        elif running:
            status, detail = PENDING, f"{running} running, {passed} passed"
        elif passed < required_builds:
            status, detail = RED, f"{passed} passed of {required_builds} required"
        elif not facts.builds:
            status, detail = GREEN, "no builds"
        else:
            status, detail = GREEN, f"{passed} passed"
        conditions.append(Condition("builds", "Builds", status, detail, blocking=builds_blocking))

    conditions.append(
        Condition(
            "tasks",
            "Tasks",
            RED if facts.task_count else GREEN,
            f"{facts.task_count} open" if facts.task_count else "none open",
            blocking=enforced and bool(rules and rules.tasks_resolved),
        )
    )
    requesting = sum(1 for r in facts.reviews if r.state == CHANGES_REQUESTED)
    conditions.append(
        Condition(
            "changes_requested",
            "Changes requested",
            RED if requesting else GREEN,
            f"by {requesting}" if requesting else "none",
            blocking=enforced and bool(rules and rules.no_changes_requested),
        )
    )
    conflict_status = {"clean": GREEN, "conflicted": RED}.get(facts.conflict_state, UNKNOWN)
    conditions.append(
        Condition(
            "conflicts",
            "Conflicts",
            conflict_status,
            {GREEN: "none", RED: "the merge would conflict", UNKNOWN: "not checked for the current commits"}[
                conflict_status
            ],
            # Bitbucket cannot merge a conflicting pull request, rules or not.
            blocking=conflict_status == RED,
        )
    )
    return conditions


def whose_turn(facts: Facts) -> Turn:
    """Who the pull request waits on.

    - closed: merged, declined or superseded; nobody's turn.
    - draft: the author is still writing it; reviewers are not asked yet.
    - author ("returned to me"): someone requested changes, a build failed or was stopped, the merge would conflict,
      or tasks are open.
    - ready ("ready to merge"): every merge condition is green.
    - reviewers ("waiting on others"): anything else: approvals missing, builds running, or facts not known yet.

    Independently of the holder, a reviewer is due ("needs my review") on an open, non-draft pull request until they
    have approved or requested changes on its current source commit: commits pushed after their review ask for a
    re-review.
    """
    if facts.state != PullRequest.State.OPEN:
        return Turn(CLOSED)
    if facts.draft:
        return Turn(DRAFT, ("draft",))
    due = frozenset(
        r.account
        for r in facts.reviews
        if r.role == Participant.Role.REVIEWER
        and r.account != facts.author
        and not _reviewed_current(r, facts.source_commit)
    )
    conditions = {c.key: c for c in merge_conditions(facts)}
    returned = []
    if conditions["changes_requested"].status == RED:
        returned.append("changes requested")
    if conditions["builds"].status == RED and any(s in ("FAILED", "STOPPED") for s in facts.builds or ()):
        returned.append("build failed")
    if conditions["conflicts"].status == RED:
        returned.append("merge conflict")
    if facts.task_count:
        returned.append(f"{facts.task_count} open task" + ("s" if facts.task_count != 1 else ""))
    if returned:
        return Turn(AUTHOR, tuple(returned), due)
    waiting = [f"{c.label.lower()}: {c.detail}" for c in conditions.values() if c.status != GREEN]
    if not waiting:
        return Turn(READY, ("every condition green",), due)
    return Turn(REVIEWERS, tuple(waiting), due)


DUE, WAITING = "due", "waiting"


def reviewer_attention(turn: Turn, review: Review, author: int | None) -> str:
    """Where the pull request sits in a reviewer's inbox: DUE ("needs my review") while their review is due;
    WAITING ("waiting on others") when they are not due on an open, non-draft pull request someone else wrote; ""
    otherwise (closed, draft, or not a reviewer)."""
    if review.account in turn.reviewers_due:
        return DUE
    if (
        review.role == Participant.Role.REVIEWER
        and review.account != author
        and turn.holder in (AUTHOR, REVIEWERS, READY)
    ):
        return WAITING
    return ""


def turn_explanations() -> dict[str, str]:
    """The rules in words, by holder (`AUTHOR`, `READY`, ...) and "due" for the reviewer's part: read from
    `whose_turn`'s docstring, so the words the inbox shows on hover are the rules' own."""
    explanations: dict[str, str] = {}
    key = ""
    for raw in (whose_turn.__doc__ or "").splitlines():
        line = raw.strip()
        if line.startswith("- "):
            key, _, text = line[2:].partition(":")
            key = key.split(" ")[0]
            explanations[key] = text.strip()
        elif line.startswith("Independently"):
            key = "due"
            explanations[key] = line
        elif line and key:
            explanations[key] += " " + line
        else:
            key = ""
    return explanations


# -- from the mirror -----------------------------------------------------------------------------------------------


def _glob(pattern: str, branch: str) -> bool:
    """Bitbucket's branch pattern: `*` is any run of characters, everything else literal."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == branch
    if not branch.startswith(parts[0]) or not branch.endswith(parts[-1]):
        return False
    at = len(parts[0])
    end = len(branch) - len(parts[-1])
    for part in parts[1:-1]:
        found = branch.find(part, at, end)
        if found < 0:
            return False
        at = found + len(part)
    return at <= end


def rules_for(restrictions: Iterable[BranchRestriction], branch: str) -> Rules:
    """The rules that apply to `branch` from a repository's restrictions (glob patterns; branching-model rules are
    matched by their pattern when it is set). Several matching rules of one kind: the strictest wins."""
    approvals = default_approvals = builds = 0
    tasks = changes = enforced = False
    merge_users: list[str] | None = None
    merge_groups: list[str] = []
    for rule in restrictions:
        if not (rule.branch_match_kind == "glob" and _glob(rule.pattern, branch)):
            continue
        value = rule.value or 0
        match rule.kind:
            case "require_approvals_to_merge":
                approvals = max(approvals, value)
            case "require_default_reviewer_approvals_to_merge":
                default_approvals = max(default_approvals, value)
            case "require_passing_builds_to_merge":
                builds = max(builds, value or 1)
            case "require_tasks_to_be_completed":
                tasks = True
            case "require_no_changes_requested":
                changes = True
            case "enforce_merge_checks":
                enforced = True
            case "restrict_merges":
                merge_users = (merge_users or []) + [str(u) for u in rule.users]
                merge_groups += [str(g) for g in rule.groups]
    return Rules(
        required_approvals=approvals,
        required_default_reviewer_approvals=default_approvals,
        required_builds=builds,
        tasks_resolved=tasks,
        no_changes_requested=changes,
        enforced=enforced,
        merge_users=tuple(merge_users) if merge_users is not None else None,
        merge_groups=tuple(merge_groups),
    )


def facts_for(pull_requests: list[PullRequest]) -> dict[int, Facts]:
    """Facts for pull requests, by pk (three queries whatever their number: participants, statuses, rules)."""
    pks = [pr.pk for pr in pull_requests]
    reviews: dict[int, list[Review]] = defaultdict(list)
    for pr_id, account_id, role, state, reviewed in Participant.objects.filter(pull_request_id__in=pks).values_list(
        "pull_request_id", "account_id", "role", "state", "reviewed_commit"
    ):
        reviews[pr_id].append(Review(account_id, role, state, reviewed))
    builds: dict[int, list[str]] = defaultdict(list)
    for pr_id, state in BuildStatus.objects.filter(pull_request_id__in=pks).values_list("pull_request_id", "state"):
        builds[pr_id].append(state)
    repository_ids = {pr.repository_id for pr in pull_requests}
    known = set(
        Repository.objects.filter(pk__in=repository_ids, restrictions_state="read").values_list("pk", flat=True)
    )
    restrictions: dict[int, list[BranchRestriction]] = defaultdict(list)
    for rule in BranchRestriction.objects.filter(repository_id__in=known):
        restrictions[rule.repository_id].append(rule)
    out = {}
    for pr in pull_requests:
        out[pr.pk] = Facts(
            state=pr.state,
            draft=pr.draft,
            author=pr.author_id,
            source_commit=pr.source_commit,
            reviews=tuple(reviews[pr.pk]),
            builds=tuple(builds[pr.pk]) if pr.builds_known else None,
            task_count=pr.task_count,
            conflict_state=pr.conflict_state,
            rules=rules_for(restrictions[pr.repository_id], pr.destination_branch)
            if pr.repository_id in known
            else None,
        )
    return out


def refresh_turns(pull_request_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Recompute and store whose turn it is for these pull requests; returns how many rows changed.

    A review's commit is recorded the first time the review is seen (the PR's source commit then); a withdrawn review
    clears it. The turn's `turn_since` moves only when the holder changes (the first time: the PR's last update).
    """
    ids = sorted(set(pull_request_ids))
    if not ids:
        return 0
    now = now or timezone.now()
    changed = 0
    with transaction.atomic():
        rows = list(PullRequest.objects.filter(pk__in=ids))
        participants = list(Participant.objects.filter(pull_request_id__in=ids))
        by_pr: dict[int, list[Participant]] = defaultdict(list)
        for p in participants:
            by_pr[p.pull_request_id].append(p)
        source = {pr.pk: pr.source_commit for pr in rows}
        participants_changed = []
        for p in participants:
            reviewed = p.reviewed_commit
            if not p.state:
                reviewed = ""
            elif not reviewed:
                reviewed = source.get(p.pull_request_id, "")
            if reviewed != p.reviewed_commit:
                p.reviewed_commit = reviewed
                participants_changed.append(p)
        if participants_changed:
            # Stored first: `facts_for` reads the reviews (and the commit each was given on) from the table.
            Participant.objects.bulk_update(participants_changed, ["reviewed_commit"])
        facts = facts_for(rows)
        prs_changed = []
        # The first answer comes with the write that created the row (which set synced_at already).
        first = {pr.pk for pr in rows if not pr.turn}
        for pr in rows:
            turn = whose_turn(facts[pr.pk])
            reasons = list(turn.reasons)
            if pr.turn != turn.holder or pr.turn_reasons != reasons:
                if pr.turn != turn.holder:
                    pr.turn_since = now if pr.turn else pr.updated_on
                pr.turn = turn.holder
                pr.turn_reasons = reasons
                prs_changed.append(pr)
            for p in by_pr[pr.pk]:
                due = p.account_id in turn.reviewers_due
                attention = reviewer_attention(turn, Review(p.account_id, p.role), pr.author_id)
                if (p.needs_review, p.attention, p.pull_request_updated_on) != (due, attention, pr.updated_on):
                    p.needs_review, p.attention, p.pull_request_updated_on = due, attention, pr.updated_on
                    if p not in participants_changed:
                        participants_changed.append(p)
        changed = len(prs_changed) + len(participants_changed)
        # A page's live poll compares synced_at: whose turn changing is a change of the row it shows.
        touched = ({pr.pk for pr in prs_changed} | {p.pull_request_id for p in participants_changed}) - first
        listed = {pr.pk for pr in prs_changed}
        for pr in rows:
            if pr.pk in touched:
                pr.synced_at = now
                if pr.pk not in listed:
                    prs_changed.append(pr)
        if prs_changed:
            PullRequest.objects.bulk_update(prs_changed, ["turn", "turn_since", "turn_reasons", "synced_at"])
        if participants_changed:
            Participant.objects.bulk_update(
                participants_changed, ["reviewed_commit", "needs_review", "attention", "pull_request_updated_on"]
            )
        refresh_open_counts({pr.repository_id for pr in rows})
    return changed


def refresh_open_counts(repository_ids: Iterable[int]) -> None:
    """Store each repository's number of open pull requests (one UPDATE, counted from the (repository, state)
    index)."""
    ids = sorted(set(repository_ids))
    if not ids:
        return
    open_count = (
        PullRequest.objects.filter(repository=OuterRef("pk"), state=PullRequest.State.OPEN)
        .order_by()
        .values("repository")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Repository.objects.filter(pk__in=ids).update(
        open_pull_request_count=Coalesce(Subquery(open_count, output_field=IntegerField()), Value(0))
    )
