"""May this pull request merge: the PR page's readiness panel, the Merge button's note and each reviewer's state.

Everything here is read from the mirror and judged by `bitbucket_sync.turns` (the one place for the rules): this
module only adds what a page needs around each condition (the rows behind it, a link to its cause, words for its
state) and sorts the conditions into what Bitbucket will refuse and what is only advice.

The Code Insights reports are read live by another part of the page; whoever renders the panel may pass their
summary to the template as `insights_summary` (an object or dict with `failed`, `pending` and `passed` counts), and
the panel then shows a reports line linking to `#insights`. Without it there is no reports line at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bitbucket_sync import turns
from bitbucket_sync.models import Account, BuildStatus, Participant, PullRequest
from dashboard import rendering
from dashboard.selectors import sites

# Words for each state, so the page never says it with colour alone.
STATUS_WORDS = {turns.GREEN: "met", turns.RED: "not met", turns.PENDING: "in progress", turns.UNKNOWN: "unknown"}
BUILD_STATES: dict[str, tuple[str, str]] = {
    BuildStatus.State.SUCCESSFUL: (turns.GREEN, "passed"),
    BuildStatus.State.FAILED: (turns.RED, "failed"),
    BuildStatus.State.STOPPED: (turns.RED, "stopped"),
    BuildStatus.State.INPROGRESS: (turns.PENDING, "running"),
}
RULES_UNKNOWN = {
    "": "the merge rules have not been read yet",
    "forbidden": "the sync credential may not read branch restrictions (that needs repository admin)",
}


@dataclass(frozen=True)
class ConditionRow:
    """One line of the panel: a `turns.Condition` with words for its state and a link to its cause (an anchor on
    this page, or "" when there is nothing to point at)."""

    key: str
    label: str
    status: str
    detail: str
    blocking: bool
    link: str = ""

    @property
    def status_word(self) -> str:
        return STATUS_WORDS[self.status]


@dataclass(frozen=True)
class BuildRow:
    key: str
    name: str
    status: str  # green / red / pending, for the colour
    state_word: str
    description: str
    url: str  # as Bitbucket gave it: the template passes it through safe_url
    updated_on: datetime | None


@dataclass(frozen=True)
class ConflictRow:
    path: str
    link: str  # the file in the diff


@dataclass(frozen=True)
class MergeRights:
    """Who may merge into the destination branch (a `restrict_merges` rule), and whether the viewer may."""

    known: bool
    anyone: bool = False  # no rule: anyone with write access
    people: tuple[Account, ...] = ()
    unmatched: int = 0  # listed accounts the mirror does not know
    groups: tuple[str, ...] = ()
    viewer_listed: bool | None = None  # None: unknown (rules unknown, or maybe through a group)


@dataclass
class Readiness:
    open: bool
    conditions: list[ConditionRow]
    builds: list[BuildRow]
    # False when the statuses shown were read for an earlier source commit (or never read).
    builds_current: bool
    conflicts: list[ConflictRow]
    rules_known: bool
    rules_unknown_why: str
    merge_rights: MergeRights
    refusals: list[ConditionRow] = field(default_factory=list)  # Bitbucket will refuse the merge for these
    maybe_refusals: list[ConditionRow] = field(default_factory=list)  # would refuse, if they are not met: unknown
    advice: list[ConditionRow] = field(default_factory=list)  # not met, but Bitbucket lets the merge through
    unknown: list[ConditionRow] = field(default_factory=list)  # not known yet, and Bitbucket would not refuse for them

    @property
    def cannot_succeed(self) -> bool:
        """The changes conflict: no merge can go through until the source is updated."""
        return any(c.key == "conflicts" and c.status == turns.RED for c in self.conditions)

    @property
    def all_met(self) -> bool:
        return all(c.status == turns.GREEN for c in self.conditions)


# Where each condition's cause is shown: the reviewers list, the panel's own lists of builds, conflicting files and
# who may merge, and the tasks section.
LINKS = {
    "approvals": "#pr-reviewers",
    "default_reviewers": "#pr-reviewers",
    "builds": "#pr-builds",
    "tasks": "#tasks",
    "changes_requested": "#pr-reviewers",
    "conflicts": "#pr-conflicts",
    "merge_rights": "#pr-merge-rights",
}


def _link(condition: turns.Condition) -> str:
    if condition.key == "conflicts" and condition.status != turns.RED:
        return ""  # the conflicting files are listed only when there are some
    return LINKS.get(condition.key, "")


def _merge_rights(rules: turns.Rules | None, viewer: Account | None) -> MergeRights:
    if rules is None:
        return MergeRights(known=False)
    if rules.merge_users is None:
        return MergeRights(known=True, anyone=True)
    listed = set(rules.merge_users)
    people = tuple(Account.objects.filter(bitbucket_uuid__in=listed).order_by("display_name", "pk"))
    if viewer is not None and viewer.bitbucket_uuid in listed:
        viewer_listed: bool | None = True
    elif rules.merge_groups:
        viewer_listed = None  # the mirror does not know who is in a group
    else:
        viewer_listed = False
    return MergeRights(
        known=True,
        people=people,
        unmatched=len(listed - {p.bitbucket_uuid for p in people}),
        groups=tuple(rules.merge_groups),
        viewer_listed=viewer_listed,
    )


def _merge_rights_row(rights: MergeRights) -> ConditionRow:
    link = LINKS["merge_rights"]
    if not rights.known:
        return ConditionRow("merge_rights", "Who may merge", turns.UNKNOWN, "unknown", False, link)
    if rights.anyone:
        return ConditionRow("merge_rights", "Who may merge", turns.GREEN, "anyone with write access", False, link)
    if rights.viewer_listed:
        return ConditionRow("merge_rights", "Who may merge", turns.GREEN, "listed people; you are one", False, link)
    if rights.viewer_listed is None:
        detail = "listed people and groups; you may be in one of the groups"
        return ConditionRow("merge_rights", "Who may merge", turns.UNKNOWN, detail, True, link)
    # Branch permissions are not merge checks: Bitbucket refuses an unlisted person on every plan.
    return ConditionRow("merge_rights", "Who may merge", turns.RED, "listed people only; you are not one", True, link)


def pull_request_readiness(pull_request: PullRequest, *, viewer: Account | None, pr_url: str) -> Readiness:
    """The readiness panel of a pull request the viewer may see (from `pull_request_for_user`, with `repository`
    loaded); `viewer` is their Bitbucket account, `pr_url` the page's URL (conflicting files link into its diff).
    A fixed number of queries: the facts (four), the statuses, and the accounts allowed to merge when a rule lists
    some."""
    facts = turns.facts_for([pull_request])[pull_request.pk]
    # Data Center's word for a change request is "needs work" (its reviewers' status NEEDS_WORK).
    label = {"changes_requested": "Needs work"} if sites.is_datacenter(pull_request.workspace) else {}
    rows = [
        ConditionRow(c.key, label.get(c.key, c.label), c.status, c.detail, c.blocking, _link(c))
        for c in turns.merge_conditions(facts)
    ]
    if pull_request.draft and pull_request.state == PullRequest.State.OPEN:
        # Bitbucket's own page offers no merge for a draft; whether its API refuses one is not documented.
        rows.insert(
            0, ConditionRow("draft", "Draft", turns.RED, "still a draft: mark it ready for review first", False)
        )
    rights = _merge_rights(facts.rules, viewer)
    rows.append(_merge_rights_row(rights))

    statuses = list(BuildStatus.objects.filter(pull_request=pull_request).order_by("name", "key"))
    builds = []
    for s in statuses:
        status, word = BUILD_STATES.get(s.state, (turns.UNKNOWN, s.state.lower()))
        builds.append(BuildRow(s.key, s.name or s.key, status, word, s.description, s.url, s.updated_on))
    conflicts = [
        ConflictRow(str(path), f"{pr_url}/diff#{rendering.file_anchor(str(path))}")
        for path in (pull_request.conflict_paths or [])
        if path
    ]
    state = pull_request.repository.restrictions_state
    readiness = Readiness(
        open=pull_request.state == PullRequest.State.OPEN,
        conditions=rows,
        builds=builds,
        builds_current=facts.builds is not None,
        conflicts=conflicts if pull_request.conflict_state == "conflicted" else [],
        rules_known=facts.rules is not None,
        rules_unknown_why="" if facts.rules is not None else RULES_UNKNOWN.get(state, RULES_UNKNOWN[""]),
        merge_rights=rights,
    )
    for row in rows:
        if row.status == turns.GREEN:
            continue
        if row.blocking and row.status in (turns.RED, turns.PENDING):
            readiness.refusals.append(row)
        elif row.blocking:
            readiness.maybe_refusals.append(row)
        elif row.status == turns.UNKNOWN:
            readiness.unknown.append(row)
        else:
            readiness.advice.append(row)
    return readiness


@dataclass(frozen=True)
class ReviewState:
    key: str  # approved, changes_requested, needs_rereview, not_reviewed
    label: str

    @property
    def badge(self) -> str:
        """The badge's class (the stylesheet's colours for the review states)."""
        return {"approved": "approved", "changes_requested": "changes", "needs_rereview": "rereview"}.get(self.key, "")


def review_state(participant: Participant, *, source_commit: str, datacenter: bool = False) -> ReviewState:
    """A participant's review as the reviewers list shows it. A review given on an earlier source commit (commits were
    pushed after it) needs a re-review; a review whose commit is not recorded yet counts as current (the turn refresh
    records it the first time it sees the review)."""
    if participant.state and participant.reviewed_commit and participant.reviewed_commit != source_commit:
        earlier = (
            "approved"
            if participant.state == Participant.ReviewState.APPROVED
            else ("marked it needs work" if datacenter else "requested changes")
        )
        return ReviewState("needs_rereview", f"needs re-review ({earlier} on an earlier commit)")
    if participant.state == Participant.ReviewState.APPROVED or participant.approved:
        return ReviewState("approved", "approved")
    if participant.state == Participant.ReviewState.CHANGES_REQUESTED:
        return ReviewState("changes_requested", "needs work" if datacenter else "changes requested")
    return ReviewState("not_reviewed", "not reviewed yet")
