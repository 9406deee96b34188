"""Would a pull request's merge conflict: read from Bitbucket's merge preview, kept per pair of tips.

Bitbucket Cloud has no "can merge" endpoint; the pull request's diffstat (a redirect to the repository diffstat of
the merge preview) marks the files a merge would conflict on (``client.pull_request_conflicts``). A read holds for
one pair of tips, written ``<source12>..<destination12>`` in ``PullRequest.conflicts_checked_for``; when either tip
moves the answer is unknown again (``conflict_state`` ""), never left standing as "no conflicts":

* ``values_for_upsert`` is what a synced or delivered pull request's row gets (the upserts call it);
* ``destination_moved`` is called when a branch's tip moved, for the open pull requests that target it;
* ``check_conflicts`` reads the preview for one pull request (the PR page with the viewer's credential, the
  background pass after a sync with the sync credential: ``bitbucket_sync.sync.merge_preview``).

Everything that changes a conflict state calls ``turns.refresh_turns``.
"""

from __future__ import annotations

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Concat, Substr

from bitbucket_sync import turns
from bitbucket_sync.client import AuthError, BitbucketClient, NotFound
from bitbucket_sync.models import PullRequest, Repository

UNKNOWN, CLEAN, CONFLICTED = "", "clean", "conflicted"
MAX_PATHS = 200  # a page shows a few; a merge conflicting on thousands of files says so with the first ones


def pair_of(source_commit: str, destination_commit: str) -> str:
    """The pair of tips a conflict read is for, in Bitbucket's 12-character form (its PR listings give 12)."""
    if not source_commit or not destination_commit:
        return ""
    return f"{source_commit[:12]}..{destination_commit[:12]}"


def is_checked(pull_request: PullRequest) -> bool:
    """True when the merge preview was read (or found unreadable) for the pull request's current tips."""
    pair = pair_of(pull_request.source_commit, pull_request.destination_commit)
    return not pair or pull_request.conflicts_checked_for == pair


def values_for_upsert(row: PullRequest | None, *, source_commit: str, destination_commit: str) -> dict:
    """The conflict fields a synced pull request's row gets: kept while the tips are the pair they were read for,
    back to unknown when either moved."""
    if row is None:
        return {"conflict_state": UNKNOWN, "conflict_paths": []}
    if row.conflicts_checked_for == pair_of(source_commit, destination_commit):
        return {"conflict_state": row.conflict_state, "conflict_paths": row.conflict_paths}
    return {"conflict_state": UNKNOWN, "conflict_paths": []}


def destination_moved(*, repository: Repository, tips: dict[str, str]) -> list[int]:
    """Branches of the repository now point at ``tips`` (name -> full hash): the open pull requests into them take the
    new destination commit and their conflicts become unknown. Returns the pull requests changed."""
    if not tips:
        return []
    changed = []
    open_prs = PullRequest.objects.filter(
        repository=repository, state=PullRequest.State.OPEN, destination_branch__in=list(tips)
    ).only("pk", "destination_branch", "destination_commit")
    for pr in open_prs:
        tip = tips[pr.destination_branch]
        if pr.destination_commit and tip.startswith(pr.destination_commit):
            continue
        changed.append(pr.pk)
        PullRequest.objects.filter(pk=pr.pk).update(
            destination_commit=tip[:12], conflict_state=UNKNOWN, conflict_paths=[]
        )
    turns.refresh_turns(changed)
    return changed


def unchecked(queryset: QuerySet[PullRequest]) -> QuerySet[PullRequest]:
    """The open pull requests of ``queryset`` whose current pair of tips was not read yet (one query, any size)."""
    pair = Concat(Substr("source_commit", 1, 12), Value(".."), Substr("destination_commit", 1, 12))
    return (
        queryset.filter(state=PullRequest.State.OPEN)
        .exclude(Q(source_commit="") | Q(destination_commit=""))
        .annotate(current_pair=pair)
        .exclude(conflicts_checked_for=F("current_pair"))
    )


def check_conflicts(pull_request: PullRequest, client: BitbucketClient) -> str:
    """Read the merge preview of ``pull_request`` with ``client``, store the answer for its pair of tips and refresh
    whose turn it is; returns the state ("clean", "conflicted", or "" when this credential may not read it).

    The row is written only if its tips are still the pair that was asked about (a sync may have moved them
    meanwhile: that newer pair is left unknown for the next read)."""
    pair = pair_of(pull_request.source_commit, pull_request.destination_commit)
    if not pair:
        return UNKNOWN
    repository = pull_request.repository
    try:
        paths = client.pull_request_conflicts(repository.workspace.key, repository.slug, pull_request.number)
    except (NotFound, AuthError) as exc:
        if isinstance(exc, AuthError) and exc.status != 403:
            raise  # the credential itself failed (401): nothing is learnt about this pull request
        # Gone, or not for this credential: remembered for this pair so nobody asks again until a tip moves.
        state, paths = UNKNOWN, ()
    else:
        state = CONFLICTED if paths else CLEAN
    written = PullRequest.objects.filter(
        pk=pull_request.pk,
        source_commit=pull_request.source_commit,
        destination_commit=pull_request.destination_commit,
    ).update(conflict_state=state, conflict_paths=list(paths[:MAX_PATHS]), conflicts_checked_for=pair)
    if written:
        pull_request.conflict_state, pull_request.conflict_paths = state, list(paths[:MAX_PATHS])
        pull_request.conflicts_checked_for = pair
        turns.refresh_turns([pull_request.pk])
        pull_request.refresh_from_db(fields=["turn", "turn_since", "turn_reasons"])
    return state
