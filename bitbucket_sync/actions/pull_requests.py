"""Pull request actions: open, update, review, comment, merge (with 202 task polling) and decline."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from bitbucket_sync import browse, reviews, sync
from bitbucket_sync.client import (
    MERGE_STRATEGIES,
    AuthError,
    BadRequest,
    BitbucketError,
    MergePending,
    NotFound,
    records,
)
from bitbucket_sync.models import AuditEvent, PullRequest, Repository

from ._core import (
    DIFF_MAX_BYTES,
    Action,
    ActionFailed,
    ActionRefused,
    MergeConflicts,
    MergeRefused,
    SourceMoved,
    client_for_reading,
    plain_error,
)

STRATEGY_LABELS = {
    "merge_commit": "Merge commit",
    "squash": "Squash",
    "fast_forward": "Fast forward",
    "squash_fast_forward": "Squash, fast forward only",
    "rebase_fast_forward": "Rebase, fast forward",
    "rebase_merge": "Rebase, merge",
}
# Fast-forward strategies move the branch to existing (or rebased) commits: Bitbucket writes no message of its own.
STRATEGIES_WITHOUT_MESSAGE = frozenset({"fast_forward", "rebase_fast_forward"})


def _names(pull_request: PullRequest) -> tuple[str, str, int]:
    repository = pull_request.repository
    return repository.workspace.key, repository.slug, pull_request.number


def _store(repository: Repository, record: records.PullRequest) -> PullRequest:
    return sync.upsert_pull_request(repository=repository, record=record)


def _refresh(act: Action, pull_request: PullRequest) -> PullRequest:
    """Re-read the pull request (reviewers, participants, counts) into the mirror after a write that returns less."""
    workspace, slug, number = _names(pull_request)
    return _store(pull_request.repository, act.client.get_pull_request(workspace, slug, number))


# -- open and update --------------------------------------------------------------------------------------------


def open_pull_request(
    *,
    user,
    repository: Repository,
    source: str,
    destination: str,
    title: str,
    description: str = "",
    reviewers: Iterable[str] = (),
    close_source_branch: bool = False,
    draft: bool = False,
) -> PullRequest:
    """Open a pull request from ``source`` into ``destination`` (branches of ``repository``); ``reviewers`` are
    Bitbucket account uuids. The new pull request is in the mirror when this returns."""
    reviewers = list(reviewers)
    with Action(
        user=user,
        action="pull_request.open",
        repository=repository,
        target=f"{source} → {destination}",
        details={"source": source, "destination": destination, "reviewers": reviewers, "draft": draft},
    ) as act:
        if not title.strip():
            raise ActionFailed("Give the pull request a title.", kind="invalid")
        if source == destination:
            raise ActionFailed(
                "The source and destination branches are the same; pick two different branches.", kind="invalid"
            )
        workspace, slug = repository.workspace.key, repository.slug
        record = act.client.create_pull_request(
            workspace,
            slug,
            title=title.strip(),
            source_branch=source,
            destination_branch=destination,
            description=description,
            reviewers=reviewers,
            close_source_branch=close_source_branch,
            draft=draft,
        )
        pull_request = _store(repository, record)
        act.target = f"#{record.id} {source} → {destination}"
        act.succeeded(f"Opened pull request #{record.id}: {record.title}", number=record.id)
        return pull_request


def update_pull_request(
    *,
    user,
    pull_request: PullRequest,
    title: str,
    description: str,
    reviewers: Iterable[str],
    destination: str,
) -> PullRequest:
    """Change title, description, reviewers (the full list, as uuids) and destination of an open pull request."""
    reviewers = list(reviewers)
    with Action(
        user=user,
        action="pull_request.update",
        repository=pull_request.repository,
        target=f"#{pull_request.number}",
        details={"destination": destination, "reviewers": reviewers},
    ) as act:
        if not title.strip():
            raise ActionFailed("Give the pull request a title.", kind="invalid")
        workspace, slug, number = _names(pull_request)
        record = act.client.update_pull_request(
            workspace,
            slug,
            number,
            title=title.strip(),
            description=description,
            reviewers=reviewers,
            destination_branch=destination,
            close_source_branch=pull_request.close_source_branch,
        )
        pull_request = _store(pull_request.repository, record)
        act.succeeded(f"Updated pull request #{number}.")
        return pull_request


# -- reviews and comments ---------------------------------------------------------------------------------------


# The calls that give a review: the source commit the user saw when they gave it is what they reviewed.
REVIEW_CALLS = frozenset({"approve", "request_changes"})


def _review(user, pull_request: PullRequest, action: str, call: str, done: str) -> PullRequest:
    with Action(
        user=user, action=action, repository=pull_request.repository, target=f"#{pull_request.number}", need="read"
    ) as act:
        workspace, slug, number = _names(pull_request)
        # What the page showed (the mirror's commit when the user clicked); a push seen only by the re-read below
        # came after their review.
        seen = pull_request.source_commit
        getattr(act.client, call)(workspace, slug, number)
        pull_request = _refresh(act, pull_request)
        if call in REVIEW_CALLS and act.credential is not None:
            reviewed = seen or pull_request.source_commit
            reviews.record_review(pull_request=pull_request, account=act.credential.account, commit=reviewed)
            act.details["reviewed_commit"] = reviewed
        act.succeeded(f"{done} pull request #{number}.")
        return pull_request


def approve(*, user, pull_request: PullRequest) -> PullRequest:
    """Approve as the user (POST .../approve); the mirror's participants are re-read, and the approval is recorded
    as given on the pull request's current source commit."""
    return _review(user, pull_request, "pull_request.approve", "approve", "Approved")


def unapprove(*, user, pull_request: PullRequest) -> PullRequest:
    """Withdraw the user's approval."""
    return _review(user, pull_request, "pull_request.unapprove", "unapprove", "Withdrew approval of")


def request_changes(*, user, pull_request: PullRequest) -> PullRequest:
    """Request changes as the user, recorded as given on the pull request's current source commit."""
    return _review(
        user,
        pull_request,
        "pull_request.request_changes",
        "request_changes",
        "Requested changes on",
    )


def remove_request_changes(*, user, pull_request: PullRequest) -> PullRequest:
    """Withdraw the user's change request."""
    return _review(
        user,
        pull_request,
        "pull_request.remove_request_changes",
        "remove_request_changes",
        "Withdrew the change request on",
    )


def comment(*, user, pull_request: PullRequest, text: str, pending: bool = False) -> int:
    """Post a comment on the pull request (``pending``: a draft of the user's review, seen only by them until the
    review is published); returns Bitbucket's comment id. The credential's cached discussion is dropped, so the
    page's next read shows it."""
    with Action(
        user=user,
        action="pull_request.comment",
        repository=pull_request.repository,
        target=f"#{pull_request.number}",
        need="read",
        details={"pending": True} if pending else {},
    ) as act:
        if not text.strip():
            raise ActionFailed("Write something to comment.", kind="invalid")
        workspace, slug, number = _names(pull_request)
        posted = act.client.comment_pull_request(workspace, slug, number, content=text, pending=pending)
        browse.forget_pull_request_discussion(act.reader, pull_request=pull_request)
        if not pending:
            _refresh(act, pull_request)  # a draft moves nothing in the mirror (Bitbucket leaves `updated_on` alone)
        words = "Added a pending comment to your review of" if pending else "Commented on"
        act.succeeded(f"{words} pull request #{number}.", comment_id=posted.id)
        return posted.id


# -- decline ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeclineOutcome:
    """A declined pull request (in the mirror) and what became of the reason, in a sentence for the page."""

    pull_request: PullRequest
    note: str = ""


def decline_pull_request(*, user, pull_request: PullRequest, reason: str = "") -> DeclineOutcome:
    """Decline the pull request. Bitbucket's decline takes no reason, so a reason is posted as a comment, and only
    once Bitbucket has declined: a refused decline posts nothing, so trying again never posts the reason twice."""
    with Action(
        user=user,
        action="pull_request.decline",
        repository=pull_request.repository,
        target=f"#{pull_request.number}",
        details={"reason": reason},
    ) as act:
        workspace, slug, number = _names(pull_request)
        if pull_request.state != PullRequest.State.OPEN:
            raise ActionFailed(f"Pull request #{number} is already {pull_request.state.lower()}.", kind="invalid")
        record = act.client.decline_pull_request(workspace, slug, number)
        pull_request = _store(pull_request.repository, record)
        note = ""
        if reason.strip():
            try:
                act.client.comment_pull_request(workspace, slug, number, content=f"Declined: {reason.strip()}")
            except BitbucketError as exc:
                # Declined all the same: failing the action now would invite a retry of a decline that happened.
                note = f"Bitbucket refused to post the reason as a comment ({exc.message}); add it by hand."
            else:
                note = "Reason posted as a comment."
        act.succeeded(f"Declined pull request #{number}. {note}".strip())
        return DeclineOutcome(pull_request=pull_request, note=note)


# -- merge ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeOptions:
    """What the merge form offers: the strategies the destination branch allows, its default first."""

    strategies: tuple[str, ...]
    default: str
    messages: dict[str, str]


def default_merge_message(pull_request: PullRequest, strategy: str) -> str:
    """The commit message each strategy starts with, as Bitbucket words it."""
    if strategy in STRATEGIES_WITHOUT_MESSAGE:
        return ""
    if strategy in ("squash", "squash_fast_forward"):
        text = f"{pull_request.title} (pull request #{pull_request.number})"
        return f"{text}\n\n{pull_request.description}".rstrip() if pull_request.description else text
    return f"Merged in {pull_request.source_branch} (pull request #{pull_request.number})\n\n{pull_request.title}"


def merge_options(*, user, pull_request: PullRequest) -> MergeOptions:
    """Read the destination branch's allowed strategies with the user's credential (all six when it says none)."""
    client, _ = client_for_reading(user=user, repository=pull_request.repository)
    workspace, slug, _number = _names(pull_request)
    allowed: tuple[str, ...] = ()
    default = "merge_commit"
    with client:
        try:
            branch = client.get_branch(workspace, slug, pull_request.destination_branch)
            allowed = tuple(s for s in branch.merge_strategies if s in MERGE_STRATEGIES)
            default = branch.default_merge_strategy or default
        except BitbucketError:
            allowed = ()  # the form still works with all strategies; Bitbucket refuses a disallowed one plainly
    allowed = allowed or MERGE_STRATEGIES
    if default not in allowed:
        default = allowed[0]
    ordered = (default, *(s for s in allowed if s != default))
    return MergeOptions(
        strategies=ordered,
        default=default,
        messages={s: default_merge_message(pull_request, s) for s in ordered},
    )


@dataclass(frozen=True)
class MergeOutcome:
    """A merge either finished (``pull_request`` is MERGED in the mirror) or Bitbucket is still running it
    (``task_url`` to poll with ``merge_status``)."""

    pull_request: PullRequest
    task_url: str = ""
    checks: int = 0

    @property
    def pending(self) -> bool:
        return bool(self.task_url)


def _after_merge(act: Action, pull_request: PullRequest, record: records.PullRequest) -> PullRequest:
    """The merged pull request, its destination's new tip and its source (deleted or not) into the mirror."""
    repository = pull_request.repository
    workspace, slug = repository.workspace.key, repository.slug
    merged = _store(repository, record)
    client = act.client
    sync.upsert_branch(repository=repository, record=client.get_branch(workspace, slug, record.destination.branch))
    try:
        source = client.get_branch(workspace, slug, record.source.branch)
    except NotFound:
        sync.mark_branch_removed(repository=repository, name=record.source.branch)
    else:
        sync.upsert_branch(repository=repository, record=source)
    return merged


_CONFLICT_PATHS = re.compile(r":\s*(.+)$")


def _refused_by_rules(exc: BitbucketError) -> bool:
    """A merge refused by branch restrictions: 400 for enforced merge checks ("You can't merge until you resolve all
    merge checks.", with a typographic apostrophe), 403 from `restrict_merges` (its text is not documented). A 400
    naming fields or a fast-forward is about the request; a 403 naming a missing scope is about the credential."""
    if isinstance(exc, BadRequest):
        text = f"{exc.message} {exc.detail or ''}".lower()
        return not exc.fields and "fast-forward" not in text and "fast forward" not in text
    return isinstance(exc, AuthError) and exc.status == 403 and not exc.required_scopes


def _merge_failure(exc: BitbucketError, number: int) -> ActionFailed:
    text = " ".join(str(x) for x in (exc.message, exc.detail or "") if x)
    if isinstance(exc, BadRequest) and "conflict" in text.lower():
        match = _CONFLICT_PATHS.search(str(exc.detail or ""))
        paths = [p.strip() for p in match.group(1).split(",") if p.strip()] if match else []
        listed = f": {', '.join(paths)}" if paths else ""
        return MergeConflicts(
            f"Pull request #{number} has merge conflicts{listed}. Bitbucket cannot merge it until they are resolved "
            "on the source branch (merge the destination into it and fix those files).",
            error=exc,
            details={"paths": paths},
        )
    if _refused_by_rules(exc):
        return MergeRefused(
            f"Bitbucket refused to merge pull request #{number}: the destination branch's rules (the merge checks "
            f"it enforces, or who may merge) do not allow it yet. Bitbucket says: {exc.message}",
            error=exc,
            details={"bitbucket_message": exc.message},
        )
    if exc.status == 409:
        return ActionFailed(
            "A branch moved while Bitbucket was merging, so nothing was merged. Reload the pull request to see "
            "what changed, then merge again.",
            kind="moved",
            error=exc,
        )
    if exc.status == 555:
        return ActionFailed(
            f"Bitbucket timed out merging pull request #{number}. It may still finish on its side: reload to "
            "check, or try the merge again.",
            kind="timeout",
            error=exc,
        )
    return plain_error(exc, doing="merge the pull request")


def merge_pull_request(
    *,
    user,
    pull_request: PullRequest,
    strategy: str,
    expected_source_commit: str,
    message: str | None = None,
    close_source_branch: bool = False,
    wait_seconds: float = 0.0,
) -> MergeOutcome:
    """Merge with ``strategy`` if the source is still at ``expected_source_commit`` (what the page showed).

    The pull request is re-read first: a source that moved is refused (``SourceMoved``, with the diff of the new
    commits) and nothing is merged. The merge is asked for asynchronously (Bitbucket answers 202 and a task to
    poll); with ``wait_seconds`` the task is polled here that long, else the outcome is ``pending`` and the page polls
    ``merge_status``. A pending merge's audit event is written at once ("accepted, running") and completed with the
    outcome by ``merge_status``, so the log holds the merge even if nobody watches it end.
    """
    if strategy not in MERGE_STRATEGIES:
        raise ValueError(f"unknown merge strategy {strategy!r}")
    number = pull_request.number
    act = Action(
        user=user,
        action="pull_request.merge",
        repository=pull_request.repository,
        target=f"#{number}",
        details={
            "strategy": strategy,
            "close_source_branch": close_source_branch,
            "expected_source_commit": expected_source_commit,
        },
    )
    with act:
        workspace, slug, _ = _names(pull_request)
        client = act.client
        current = client.get_pull_request(workspace, slug, number)
        pull_request = _store(pull_request.repository, current)
        if current.state != "OPEN":
            raise ActionFailed(
                f"Pull request #{number} is already {current.state.lower()}; nothing was merged.", kind="invalid"
            )
        if not records.same_commit(current.source.commit, expected_source_commit):
            diff = ""
            if current.source.commit:
                try:
                    diff = client.get_diff(
                        workspace, slug, f"{current.source.commit}..{expected_source_commit}", max_bytes=DIFF_MAX_BYTES
                    )
                except BitbucketError:
                    diff = ""
            raise SourceMoved(
                f"The source branch {current.source.branch} moved since you opened this page (from "
                f"{expected_source_commit[:12]} to {(current.source.commit or 'deleted')[:12]}), so nothing was "
                "merged. Review the new commits below, then merge again.",
                details={
                    "expected": expected_source_commit,
                    "current": current.source.commit or "",
                    "diff": diff,
                },
            )
        if strategy in STRATEGIES_WITHOUT_MESSAGE:
            message = None
        try:
            record = client.merge_pull_request(
                workspace,
                slug,
                number,
                strategy=strategy,
                close_source_branch=close_source_branch,
                message=message or None,
                asynchronous=True,
                wait_seconds=wait_seconds,
                poll=time.sleep if wait_seconds > 0 else None,
            )
        except MergePending as pending:
            # Written now, so the merge is in the log even if nobody watches it end; merge_status completes it.
            act.succeeded(
                f"Bitbucket accepted the merge of #{number} ({STRATEGY_LABELS[strategy].lower()}) and is running it.",
                task=_task_id(pending.task_url),
                running=True,
            )
            return MergeOutcome(pull_request=pull_request, task_url=pending.task_url, checks=1)
        except BitbucketError as exc:
            raise _merge_failure(exc, number) from exc
        merged = _after_merge(act, pull_request, record)
        act.succeeded(_merged_words(record, strategy), merge_commit=record.merge_commit or "")
        return MergeOutcome(pull_request=merged)


def merge_status(*, user, pull_request: PullRequest, task_url: str, strategy: str = "") -> MergeOutcome:
    """Check a running merge's task once; when it ended, update the mirror and complete the merge's audit event."""
    number = pull_request.number
    task = _task_id(task_url)
    act = Action(
        user=user,
        action="pull_request.merge",
        repository=pull_request.repository,
        target=f"#{number}",
        details={"running": False},
        event=AuditEvent.objects.filter(
            action="pull_request.merge", repository_full_name=pull_request.repository.full_name, details__task=task
        ).first(),
    )
    if not strategy and act.event is not None:
        strategy = act.event.details.get("strategy", "")
    with act:
        try:
            record = act.client.wait_for_merge(task_url, wait_seconds=0, poll=None)
        except MergePending:
            act.defer()
            return MergeOutcome(pull_request=pull_request, task_url=task_url)
        except BitbucketError as exc:
            raise _merge_failure(exc, number) from exc
        merged = _after_merge(act, pull_request, record)
        act.succeeded(_merged_words(record, strategy), merge_commit=record.merge_commit or "")
        return MergeOutcome(pull_request=merged)


def _task_id(task_url: str) -> str:
    return task_url.rstrip("/").rsplit("/", 1)[-1]


def _merged_words(record: records.PullRequest, strategy: str) -> str:
    label = STRATEGY_LABELS.get(strategy, strategy) if strategy else "merge"
    commit = f" as {record.merge_commit[:12]}" if record.merge_commit else ""
    return f"Merged pull request #{record.id} ({label.lower()}){commit} into {record.destination.branch}."


# -- the new pull request form's prefill ------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultReviewers:
    """A repository's effective default reviewers for a new pull request by the user, or why none could be read.

    ``accounts`` never holds the user themselves (the author: Bitbucket refuses the author as a reviewer); ``problem``
    is a sentence for the form when Bitbucket could not be asked (the form then preselects nobody).
    """

    accounts: tuple[records.Account, ...] = ()
    problem: str = ""


def default_reviewers(*, user, repository: Repository) -> DefaultReviewers:
    """The repository's default reviewers, its project's included, read with the user's own credential.

    Bitbucket does not add them to a pull request opened through the API, so the form preselects them. Any failure
    (no credential, Bitbucket down, a missing scope) is returned as ``problem``: the form must still work.
    """
    try:
        client, credential = client_for_reading(user=user, repository=repository)
    except ActionRefused as refused:
        return DefaultReviewers(problem=refused.message)
    author = credential.account.bitbucket_uuid if credential.account is not None else None
    workspace, slug = repository.workspace.key, repository.slug
    accounts: dict[str, records.Account] = {}
    with client:
        try:
            for reviewer in client.iter_default_reviewers(workspace, slug):
                if reviewer.user.uuid != author:
                    accounts.setdefault(reviewer.user.uuid, reviewer.user)
        except BitbucketError as exc:
            return DefaultReviewers(problem=plain_error(exc, doing="list the default reviewers").message)
    return DefaultReviewers(accounts=tuple(accounts.values()))


def pull_request_draft(*, user, repository: Repository, source: str, destination: str) -> tuple[str, str]:
    """A title and description for a new pull request, from the commits on ``source`` not on ``destination``."""
    client, _ = client_for_reading(user=user, repository=repository)
    workspace, slug = repository.workspace.key, repository.slug
    commits = []
    with client:
        try:
            on_destination = set()
            for i, c in enumerate(client.iter_commits(workspace, slug, branch=destination)):
                on_destination.add(c.hash)
                if i >= 99:  # one page is enough to find where a topic branch left its destination
                    break
            for i, c in enumerate(client.iter_commits(workspace, slug, branch=source)):
                if c.hash in on_destination or i >= 50:
                    break
                commits.append(c)
        except BitbucketError:
            commits = []
    if len(commits) == 1:
        first, _, rest = commits[0].message.strip().partition("\n")
        return first.strip(), rest.strip()
    name = source.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ").strip()
    title = name[:1].upper() + name[1:] if name else source
    description = "\n".join(f"* {c.message.strip().splitlines()[0]}" for c in commits if c.message.strip())
    return title, description
