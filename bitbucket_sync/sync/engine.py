"""The sync services: list Bitbucket, upsert what it says, prune only after a listing that completed.

A sync run is small steps, each a service here that knows nothing of Celery (tasks, the management command and
tests all call them):

1. ``begin_run``: claim the workspace's lock (a second sync of the same workspace is skipped and says so).
2. ``sync_workspace_listing``: the repository listing (renames keep their rows; repositories it no longer names are
   marked removed) and the member listing; projects too on a full sync. Sets how many repositories the run covers.
3. ``sync_repository`` per repository: pull requests by ordered polling from the ``updated_on`` high-water mark
   (all states, reviewers and participants in the same listing; below), the open-PR reconcile when due (below);
   the build statuses of open pull requests that are due (``statuses``: all on a
   full sync; a moved source commit or a running build otherwise); branches (and the default branch they name)
   only when the repository's ``updated_on`` moved or on a full sync, or, where the repository listing carries no
   ``updated_on`` (Data Center), when the pull requests changed or the reconcile ran; watchers on a full sync or
   when older than ``BBDASH_WATCHERS_INTERVAL_HOURS``; branch restrictions (the merge rules, repository admins
   only) on a full sync or when older than ``BBDASH_RESTRICTIONS_HOURS``. ``finish_repository`` counts it done
   exactly once, however often a crash or a retry made it run.
4. ``finish_run`` when the last repository is done: status, lock released.

A step that cannot go on now raises: ``SyncPaused`` (the credential's budget is spent), or the client's
``RateLimited`` (429) and ``Unavailable`` (5xx, timeouts). The caller asks ``policy.decide`` how long to wait and calls
the same step again, which resumes where the run stopped: repositories already done are not listed again, and a pull
request listing cut short goes on from the page it had reached. ``run_inline`` is that caller in one process (the
``bitbucket_sync`` command); ``bitbucket_sync.tasks`` are the Celery one, and queue runs (``request_sync``).
A 401 refusing the credential itself is no such wait: the client marks the credential refused as the answer comes
(``credentials.health``), the step fails, and every later step of the run stops in ``sync_client``
(``SyncCredentialRefused``) before sending anything.

Pull requests: correct whatever Bitbucket's listing can say
-----------------------------------------------------------

Cloud filters the listing by ``updated_on`` on the server. Data Center cannot (reference §11.1): its listing has no
"updated since" filter, whether ``order=NEWEST`` sorts by creation or by update is unconfirmed, and so is whether an
approval or a needs-work moves ``updatedDate`` (or ``version``). Three layers keep the mirror right under every
reading:

* **Ordered polling** (every incremental sync, ``sync_pull_requests``): the listing is read newest first, each page
  upserted, and the walk stops after a whole page in which no pull request differs from the mirror (state,
  ``updated_on``, source and destination commits, title, draft, the participants and their review states, and the
  rest an upsert compares; a pull request the mirror lacks is a change) and none is newer than the mark (the
  newest ``updated_on`` a completed walk saw). The second half keeps a walk going through pages an interrupted run
  (or a webhook delivery) already mirrored: they are newer than the mark, and what follows them may not be mirrored
  yet. One rule for every site: on Cloud the server's filter returns only pull requests newer than the mark, so the
  rule never stops a walk early and Cloud's requests are as before (an idle listing is one empty page); where the
  listing cannot be filtered (Data Center) it is read unfiltered, so a review on the first page is seen and
  compared, and an idle repository costs its first page and no more. What polling alone can miss there: a review
  further back that did not move ``updatedDate``, and, if ``NEWEST`` means newest *created*, an update to an older
  pull request behind the first unchanged page.
* **Open-PR reconcile** (``reconcile_open_pull_requests``), where the listing cannot be filtered by update (Data
  Center), every ``BBDASH_OPEN_PR_RECONCILE_MINUTES`` per repository (0: on every incremental sync): the ``OPEN``
  listing read in full and upserted with its participants (which catches reviews that move nothing), then each pull
  request the mirror has open and the listing did not name is read alone to learn how it closed (merged, declined).
  A 404 there proves nothing (the credential may have lost access): the row is left as it is and the fact logged.
  A full sync reads every pull request, so it counts as a reconcile. ``Repository.open_pull_requests_reconciled_at``
  says when it last ran.
* **Nightly full sync** (the ``full-sync-daily`` beat entry, every workspace of every site): everything again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import batched

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bitbucket_sync import ledger, sites, turns
from bitbucket_sync.client import (
    AppPasswordRemoved,
    AuthError,
    BitbucketClient,
    BitbucketError,
    BitbucketSchemaError,
    NotFound,
    NotRepositoryAdmin,
    Unavailable,
    Unsupported,
)
from bitbucket_sync.credentials import clients, health
from bitbucket_sync.models import (
    Credential,
    PullRequest,
    Repository,
    SyncRun,
    Workspace,
    WorkspaceAccess,
    WorkspaceMembership,
)
from bitbucket_sync.sync import locks, policy, statuses, tags, upserts
from bitbucket_sync.sync.policy import SyncPaused
from bitbucket_sync.sync.upserts import Stats

log = logging.getLogger("bitbucket_sync.sync")

BATCH = 100  # one page of the other listings
ACTIVE = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING, SyncRun.Status.PAUSED)


class NoSyncCredential(Exception):
    """The workspace has no sync credential (an admin picks one; `bitbucket_sync --as USER` sets a first one)."""


class SyncCredentialRefused(NoSyncCredential):
    """Bitbucket refused the run's credential (a 401 met by a sync, a page or an action, or the daily check): nothing
    is sent with it until it is replaced or found valid again (``credentials.health``)."""


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# -- clients and budget ------------------------------------------------------------------------------------------


def _workspace(run: SyncRun) -> Workspace:
    """``run.workspace`` for the type checker: the column is nullable, but every sync run is created for a workspace."""
    assert run.workspace is not None
    return run.workspace


def sync_client(run: SyncRun) -> BitbucketClient:
    """The run's credential (``bitbucket_sync --as``), else the workspace's sync credential."""
    credential = run.credential or _workspace(run).sync_credential
    if credential is None:
        raise NoSyncCredential(f"Workspace {_workspace(run).slug} has no sync credential; an admin must pick one.")
    # Read again: a 401 met by another task of this run (or by a page) marked it refused since the run was loaded.
    credential.refresh_from_db(fields=["status", "last_error", "last_checked_at", "is_active"])
    if health.is_refused(credential):
        raise SyncCredentialRefused(health.refusal_text(credential))
    return clients.client_for(credential, purpose="sync")


def refused_credential(run: SyncRun) -> str | None:
    """Why the run must stop now (its credential was refused while it ran), or None. One query."""
    credential_id = run.credential_id or _workspace(run).sync_credential_id
    credential = Credential.objects.filter(pk=credential_id).first() if credential_id else None
    return health.refusal_text(credential) if credential is not None and health.is_refused(credential) else None


# How well a credential can sync a workspace, best first (the automatic pick prefers the lower).
WORKSPACE_TOKEN, OWNER, PARTIAL, UNUSABLE = 0, 1, 2, 3


def sync_rank(credential: Credential, workspace: Workspace, *, administrator: bool | None = None) -> int:
    """``WORKSPACE_TOKEN``: an access token of this workspace (its own rate limit, sees every repository);
    ``OWNER``: a workspace owner's own credential (sees every repository); ``PARTIAL``: anyone else, who sees only the
    repositories they were granted; ``UNUSABLE``: revoked, replaced or refused by Bitbucket.

    ``administrator`` is what ``/user/workspaces`` just said about the credential's owner; without it the mirror is
    asked (their access rows, else the workspace's member listing), which costs no request."""
    if not credential.is_active or credential.status in (
        Credential.Status.INVALID,
        Credential.Status.EXPIRED,
        Credential.Status.REVOKED,
    ):
        return UNUSABLE
    if credential.kind == Credential.Kind.ACCESS_TOKEN:
        reach = credential.scope_name.split("/", 1)[0]
        whole = credential.scope_kind == Credential.ScopeKind.WORKSPACE and reach == workspace.key
        return WORKSPACE_TOKEN if whole else PARTIAL
    if credential.kind == Credential.Kind.HTTP_ACCESS_TOKEN and credential.scope_kind:
        # A Data Center project token of this very project (on its site) sees all of it, like a workspace token; a
        # repository token, or another project's, sees a part at most.
        whole = (
            credential.scope_kind == Credential.ScopeKind.PROJECT
            and credential.scope_name == workspace.key
            and (not workspace.api_url or sites.same_site(credential.api_url, workspace.api_url))
        )
        return WORKSPACE_TOKEN if whole else PARTIAL
    if administrator is None:
        administrator = _owned_by(credential, workspace)
    return OWNER if administrator else PARTIAL


def _owned_by(credential: Credential, workspace: Workspace) -> bool:
    if WorkspaceAccess.objects.filter(user_id=credential.owner_id, workspace=workspace, administrator=True).exists():
        return True
    return credential.account_id is not None and (
        WorkspaceMembership.objects.live()
        .filter(workspace=workspace, account_id=credential.account_id, permission="owner")
        .exists()
    )


def sees_whole_workspace(credential: Credential | None, workspace: Workspace) -> bool:
    """True when a listing with this credential names every repository of the workspace, so one it does not name
    is gone; a member's listing names only what they were granted, and pruning by it would hide the rest."""
    return credential is not None and sync_rank(credential, workspace) in (WORKSPACE_TOKEN, OWNER)


def budget_wait(credential: Credential) -> float | None:
    """Seconds until the credential may make another periodic-sync request, or None when it may now.

    Bitbucket allows about 1,000 requests an hour per user on ``/2.0/repositories/*`` (a rolling window);
    ``BBDASH_BUDGET_RESERVE_PERCENT`` of it stays free for people's own actions, so scheduled syncs stop at the rest
    and wait until the oldest requests leave the window.
    """
    reserve = min(max(_setting("BBDASH_BUDGET_RESERVE_PERCENT", 30), 0), 100)
    allowed = ledger.HOURLY_BUDGET * (100 - reserve) // 100
    used = ledger.requests_in_window(credential)
    if used < allowed:
        return None
    entries = ledger.charged().filter(credential=credential).order_by("at")
    # The window must shed (used - allowed + 1) requests before one more fits.
    frees_at = entries.values_list("at", flat=True)[used - allowed : used - allowed + 1].first()
    if frees_at is None:
        return 60.0
    return max(1.0, (frees_at + ledger.BUDGET_WINDOW - timezone.now()).total_seconds())


def check_budget(run: SyncRun) -> None:
    """Raise ``SyncPaused`` when the run's credential has spent its share of the hourly budget.

    Scheduled runs and "Sync now" alike: the sync credential's allowance is shared by everyone who acts with it. Only
    an operator's own ``bitbucket_sync`` command is left to spend all of it."""
    if run.trigger == SyncRun.Trigger.COMMAND or run.credential_id is None:
        return
    assert run.credential is not None  # its credential_id is set
    wait = budget_wait(run.credential)
    if wait is not None:
        reserve = _setting("BBDASH_BUDGET_RESERVE_PERCENT", 30)
        raise SyncPaused(wait, f"Hourly request budget used up (keeping {reserve}% free for people's actions)")


# -- runs --------------------------------------------------------------------------------------------------------


def begin_run(*, run: SyncRun) -> bool:
    """Claim the workspace for this run and mark it running; False (and the run marked skipped) when another run of
    the same workspace holds the lock."""
    if run.status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED, SyncRun.Status.SKIPPED):
        return False
    assert run.workspace_id is not None  # every sync run is created for a workspace
    if not locks.claim(workspace_id=run.workspace_id, run_id=run.pk):
        other = locks.holder(workspace_id=run.workspace_id)
        SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.QUEUED).update(
            status=SyncRun.Status.SKIPPED,
            finished_at=timezone.now(),
            message=f"Skipped: sync run #{other} of this workspace was already running.",
        )
        run.refresh_from_db()
        return False
    now = timezone.now()
    SyncRun.objects.filter(pk=run.pk, started_at__isnull=True).update(started_at=now)
    SyncRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(status=SyncRun.Status.RUNNING, paused_until=None)
    if run.credential_id is None and _workspace(run).sync_credential_id is not None:
        SyncRun.objects.filter(pk=run.pk).update(credential_id=_workspace(run).sync_credential_id)
    run.refresh_from_db()
    return True


def mark_paused(*, run: SyncRun, paused: policy.Pause) -> datetime:
    """The run says it is waiting, why and until when; its lock is held through the pause."""
    until = timezone.now() + timedelta(seconds=paused.seconds)
    SyncRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(
        status=SyncRun.Status.PAUSED,
        paused_until=until,
        message=f"{paused.reason}; resumes at {until:%H:%M:%S} UTC",
        rate_limit_pauses=F("rate_limit_pauses") + 1,
    )
    assert run.workspace_id is not None  # every sync run is created for a workspace
    locks.extend(workspace_id=run.workspace_id, run_id=run.pk, until=until + timedelta(seconds=locks.lock_seconds()))
    return until


def note_retry(*, run_id: int) -> None:
    """Count a step retried after Bitbucket was unavailable (pauses are counted apart, by ``mark_paused``)."""
    SyncRun.objects.filter(pk=run_id).update(failure_retries=F("failure_retries") + 1)


def mark_resumed(*, run: SyncRun) -> None:
    SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.PAUSED).update(
        status=SyncRun.Status.RUNNING, paused_until=None, message=""
    )


def add_error(*, run_id: int, where: str, message: str, repository_id: int | None = None) -> None:
    """Write an error on the run; `repository_id` says which repository it is about, so the sync page shows it only
    to people who may see that repository (its name and Bitbucket's message both name it)."""
    error: dict[str, str | int] = {"at": timezone.now().isoformat(), "where": where, "message": message[:1000]}
    if repository_id is not None:
        error["repository_id"] = repository_id
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run_id)
        run.errors = [*run.errors, error]
        run.save(update_fields=["errors"])


def add_progress(*, run_id: int, stats: Stats, requests: int, repositories_done: int = 0) -> None:
    """Fold a step's counts into the run, live: counters with F(), the per-kind stats under the row's lock."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=run_id)
        merged = Stats()
        for kind, counts in (run.stats or {}).items():
            merged[kind].add(upserts.Counts(**counts))
        merged.add(stats)
        SyncRun.objects.filter(pk=run_id).update(
            stats=merged.as_dict(),
            requests_made=F("requests_made") + requests,
            repositories_done=F("repositories_done") + repositories_done,
        )


@dataclass
class Counter:
    """Requests a client made during one step (the run's `requests_made`)."""

    client: BitbucketClient
    start: int = 0

    def __post_init__(self) -> None:
        self.start = self.client.request_count

    @property
    def made(self) -> int:
        return self.client.request_count - self.start


# -- step 2: the workspace -----------------------------------------------------------------------------------------


def sync_workspace_listing(*, run: SyncRun, client: BitbucketClient) -> list[int]:
    """Repositories, members (and projects on a full sync) of the run's workspace; returns the repositories still to
    do in this run. Prunes only after each listing completed."""
    check_budget(run)
    workspace = run.workspace
    assert workspace is not None  # every sync run is created for a workspace
    stats = Stats()
    counter = Counter(client)
    full = run.kind == SyncRun.Kind.FULL
    seen: set[str] = set()
    whole = False
    try:
        claim_site(workspace, client)
        if full or workspace.synced_at is None:
            # /user/workspaces only gives uuid and slug; the name and the rest come from the workspace itself.
            workspace, _ = upserts.upsert_workspace(client.get_workspace(workspace.key), api_url=client.base_url)
            run.workspace = workspace
        if full:
            upserts.upsert_projects(
                workspace=workspace, project_records=client.iter_projects(workspace.key), counts=stats["projects"]
            )
        known = _known_repository_values(workspace) if listing_is_unfiltered(workspace) else None
        for record in client.iter_repositories(workspace.key):
            seen.add(record.uuid)
            if known is not None and record.uuid in known:
                # Data Center's listing has no updated_on (the client gives the moment it was read): the mirror's is
                # kept rather than overwritten on every listing (its missing default branch: upserts keep that).
                record = replace(record, updated_on=known[record.uuid] or record.updated_on)
            _, what = upserts.upsert_repository_counted(workspace=workspace, record=record)
            if what:
                setattr(stats["repositories"], what, getattr(stats["repositories"], what) + 1)
            locks.heartbeat(workspace_id=workspace.pk, run_id=run.pk)
        sync_members(run=run, workspace=workspace, client=client, stats=stats)
        # After the member listing, whose roles say whether the credential's owner owns the workspace.
        whole = sees_whole_workspace(run.credential or workspace.sync_credential, workspace)
        if whole:
            stats["repositories"].removed += upserts.mark_repositories_removed(workspace=workspace, seen_uuids=seen)
    finally:
        add_progress(run_id=run.pk, stats=stats, requests=counter.made)
    live = Repository.objects.live().filter(workspace=workspace)
    if not whole:
        # The repositories a partial listing did not name stay as they were, and this run does not ask for them.
        live = live.filter(bitbucket_uuid__in=seen)
    total = live.count()
    SyncRun.objects.filter(pk=run.pk).update(
        repositories_total=total, repositories_done=live.filter(synced_in_run=run.pk).count()
    )
    return list(live.exclude(synced_in_run=run.pk).order_by("-updated_on").values_list("pk", flat=True))


def claim_site(workspace: Workspace, client: BitbucketClient) -> None:
    """A workspace belongs to the site it is first synced through; a run reading it through another site stops here
    (``sites.SiteMismatch``, reported on the run) before it asks Bitbucket anything or writes a row."""
    site = sites.normalise_api_url(client.base_url)
    Workspace.objects.filter(pk=workspace.pk, api_url="").update(api_url=site)
    workspace.api_url = Workspace.objects.values_list("api_url", flat=True).get(pk=workspace.pk)
    sites.require_same_site(row_site=workspace.api_url, api_url=site, what=f"Workspace {workspace.key}")


def listing_is_unfiltered(workspace: Workspace) -> bool:
    """True where Bitbucket's listings cannot be filtered by update and carry no repository ``updated_on`` (Data
    Center, reference §11.1): its pull requests need the open-PR reconcile, its branches another cadence."""
    return sites.site_kind(workspace.api_url) == "datacenter"


def _known_repository_values(workspace: Workspace) -> dict[str, datetime | None]:
    """The mirror's updated_on of each repository of the workspace, by uuid."""
    return dict(Repository.objects.filter(workspace=workspace).values_list("bitbucket_uuid", "updated_on"))


def sync_members(*, run: SyncRun, workspace: Workspace, client: BitbucketClient, stats: Stats) -> None:
    """The member listing, pruned after it completed. A credential Bitbucket refuses it to (a Data Center project's
    people need project admin; it answers 401) leaves the members unknown: the rows stay as they are, nothing is
    pruned or guessed, and ``Workspace.members_state`` says "forbidden" so pages can say why."""
    members: set[int] = set()
    try:
        for page in batched(_member_listing(run, client), BATCH):
            members |= upserts.upsert_memberships_page(workspace=workspace, member_records=page, stats=stats)
    except AppPasswordRemoved:
        raise
    except AuthError as exc:
        # The repository listing just answered with the same credential: this refusal is about the members.
        log.info("%s: members not readable with this credential (%s); left unknown", workspace.slug, exc)
        _set_members_state(workspace, "forbidden")
        return
    stats["members"].removed += upserts.mark_memberships_removed(workspace=workspace, seen_account_pks=members)
    _set_members_state(workspace, "read")


def _set_members_state(workspace: Workspace, state: str) -> None:
    if workspace.members_state != state:
        Workspace.objects.filter(pk=workspace.pk).update(members_state=state)
        workspace.members_state = state


def _member_listing(run: SyncRun, client: BitbucketClient):
    """Members with their role (``/workspaces/{ws}/permissions``, one request per 100 like ``/members``); access
    tokens may not read permissions, so they list plain members."""
    credential = run.credential or _workspace(run).sync_credential
    if credential is not None and credential.kind == Credential.Kind.ACCESS_TOKEN:
        return client.iter_members(_workspace(run).key)
    return client.iter_workspace_permissions(_workspace(run).key)


# -- step 3: one repository ----------------------------------------------------------------------------------------


def _watchers_due(repository: Repository, *, full: bool) -> bool:
    if full or repository.watchers_synced_at is None:
        return True
    interval = timedelta(hours=_setting("BBDASH_WATCHERS_INTERVAL_HOURS", 24))
    return repository.watchers_synced_at <= timezone.now() - interval


def _restrictions_due(repository: Repository, *, full: bool, run: SyncRun) -> bool:
    read_at = repository.restrictions_synced_at
    if read_at is not None and run.started_at is not None and read_at >= run.started_at:
        return False  # read by this run already: the step is being retried after a pause
    if full or read_at is None:
        return True
    interval = timedelta(hours=_setting("BBDASH_RESTRICTIONS_HOURS", 6))
    return read_at <= timezone.now() - interval


def sync_repository(*, run: SyncRun, repository: Repository, client: BitbucketClient) -> Stats:
    """Pull requests, the build statuses due, then branch restrictions, branches and watchers when due, of one
    repository; counted into the run as it goes."""
    check_budget(run)
    sites.require_same_site(
        row_site=repository.workspace.api_url, api_url=client.base_url, what=f"Workspace {repository.workspace.key}"
    )
    full = run.kind == SyncRun.Kind.FULL
    stats = Stats()
    counter = Counter(client)
    try:
        started = timezone.now()
        changed = sync_pull_requests(run=run, repository=repository, client=client, full=full, stats=stats)
        unfiltered = listing_is_unfiltered(repository.workspace)
        reconciled = False
        if full:
            _stamp_reconciled(repository, started)  # the full listing read every open pull request
        elif unfiltered and _reconcile_due(repository):
            reconcile_open_pull_requests(run=run, repository=repository, client=client, stats=stats)
            reconciled = True
        statuses.sync_statuses(
            run=run, repository=repository, client=client, full=full, stats=stats, budget=check_budget
        )
        # Before branches and watchers (which a full sync's retried step lists again): read once per run, a step
        # retried after a 429 does not pay for the rules again.
        if _restrictions_due(repository, full=full, run=run):
            sync_restrictions(repository=repository, client=client, stats=stats)
        if unfiltered:
            # No updated_on to watch: branches move with the pull requests' pushes, and on the reconcile's cadence.
            branches_due = full or repository.branches_synced_for is None or changed or reconciled
        else:
            branches_due = full or repository.branches_synced_for != repository.updated_on
        if branches_due:
            sync_branches(run=run, repository=repository, client=client, stats=stats)
        if _watchers_due(repository, full=full):
            sync_watchers(repository=repository, client=client, stats=stats)
    finally:
        add_progress(run_id=run.pk, stats=stats, requests=counter.made)
    return stats


def sync_pull_requests(
    *, run: SyncRun, repository: Repository, client: BitbucketClient, full: bool, stats: Stats
) -> bool:
    """Every pull request updated since the repository's high-water mark (all of them on a full sync), page by page,
    newest first; an incremental walk stops after a page that changed nothing in the mirror (ordered polling, in the
    module docstring). Returns whether any page changed the mirror.

    The mark only moves after the listing completed, and only to the newest ``updated_on`` the listing returned: a
    pull request updated while the listing was being read is newer still and is caught by the next sync.

    After each page is upserted the link to the next one is saved with the newest ``updated_on`` seen so far, so an
    attempt cut short (a 429, a crash) is resumed at the page where it stopped rather than at page one. The listing is
    sorted ``-updated_on``: a pull request updated in between moves to the front, which shifts the pages still to be
    read back by one and makes their first item one already read (harmless: upserts), but never skips an item that
    was behind the saved page. The one item the resumed listing misses is the one that moved in front of it, and its
    ``updated_on`` is newer than anything the listing saw, so the mark leaves it to the next sync.
    """
    ws, slug = repository.workspace.key, repository.slug
    since = None if full else repository.pull_requests_synced_through
    newest = since
    # A listing that cannot be filtered on the server is read whole page by page, so each page's reviews can be
    # compared with the mirror's (the client's own filter would hide a review that did not move updated_on).
    server_filter = None if listing_is_unfiltered(repository.workspace) else since
    start_url = _pull_request_resume_point(run=run, repository=repository, since=since, full=full)
    if start_url is not None:
        newest = upserts.newest([since, repository.pull_requests_resume_newest])
    try:
        pages = client.iter_pull_request_pages(ws, slug, updated_after=server_filter, start_url=start_url)
    except BitbucketSchemaError as exc:
        # The saved link no longer fits: the API address changed or the repository was renamed since it was saved.
        log.info("%s: saved pull request page not resumed (%s); listing from page one", repository.full_name, exc)
        start_url, newest = None, since
        pages = client.iter_pull_request_pages(ws, slug, updated_after=server_filter)
    changed = False
    for records, next_url in pages:
        page = Stats()
        upserts.upsert_pull_requests_page(repository=repository, pr_records=records, stats=page)
        stats.add(page)
        newest = upserts.newest([newest, *(r.updated_on for r in records)])
        page_changed = bool(page["pull_requests"]) or bool(page["participants"])
        changed = changed or page_changed
        covered = since is not None and all(r.updated_on <= since for r in records)
        if not full and covered and not page_changed:
            # A whole page the mirror already holds, all of it from before the mark: what follows is older still.
            break
        if next_url is not None:
            _save_pull_request_resume_point(
                repository=repository, url=next_url, since=since, newest=newest, run_id=run.pk
            )
        locks.heartbeat(workspace_id=repository.workspace_id, run_id=run.pk)
    if repository.pull_requests_resume_url:
        _save_pull_request_resume_point(repository=repository, url="", since=None, newest=None, run_id=None)
    if newest != repository.pull_requests_synced_through:
        Repository.objects.filter(pk=repository.pk).update(pull_requests_synced_through=newest)
        repository.pull_requests_synced_through = newest
    return changed


def _reconcile_due(repository: Repository) -> bool:
    minutes = _setting("BBDASH_OPEN_PR_RECONCILE_MINUTES", 15)
    at = repository.open_pull_requests_reconciled_at
    return minutes <= 0 or at is None or at <= timezone.now() - timedelta(minutes=minutes)


def _stamp_reconciled(repository: Repository, at: datetime) -> None:
    Repository.objects.filter(pk=repository.pk).update(open_pull_requests_reconciled_at=at)
    repository.open_pull_requests_reconciled_at = at


def reconcile_open_pull_requests(
    *, run: SyncRun, repository: Repository, client: BitbucketClient, stats: Stats
) -> bool:
    """The open-PR reconcile (module docstring): every open pull request listed and upserted with its participants;
    each one the mirror has open that the listing did not name read alone, to learn its new state. Returns whether
    the mirror changed. Stamped only once complete: a step cut short by a 429 does it again."""
    started = timezone.now()
    ws, slug = repository.workspace.key, repository.slug
    named: set[int] = set()
    mine = Stats()
    for page in batched(client.iter_pull_requests(ws, slug, states=("OPEN",)), BATCH):
        upserts.upsert_pull_requests_page(repository=repository, pr_records=page, stats=mine)
        named.update(r.id for r in page)
        locks.heartbeat(workspace_id=repository.workspace_id, run_id=run.pk)
    gone = (
        PullRequest.objects.filter(repository=repository, state=PullRequest.State.OPEN)
        .exclude(number__in=named)
        .order_by("number")
        .values_list("number", flat=True)
    )
    for number in list(gone):
        try:
            record = client.get_pull_request(ws, slug, number)
        except NotFound:
            # Deleted, or out of the credential's sight: nothing proves which, so the row stays as it is.
            log.warning("%s: open pull request #%s not found; left as it was", repository.full_name, number)
            continue
        upserts.upsert_pull_requests_page(repository=repository, pr_records=[record], stats=mine)
        locks.heartbeat(workspace_id=repository.workspace_id, run_id=run.pk)
    stats.add(mine)
    _stamp_reconciled(repository, started)
    return bool(mine["pull_requests"]) or bool(mine["participants"])


def _pull_request_resume_point(
    *, run: SyncRun, repository: Repository, since: datetime | None, full: bool
) -> str | None:
    """The saved link to read on from, when it belongs to this listing; a stale one is dropped.

    It must have been saved by a listing from the same mark (a mark moved since, or a full listing after an
    incremental one, is another listing), and a full sync resumes only its own: it exists to read everything again.
    """
    url = repository.pull_requests_resume_url
    if not url:
        return None
    if repository.pull_requests_resume_since == since and (not full or repository.pull_requests_resume_run == run.pk):
        return url
    _save_pull_request_resume_point(repository=repository, url="", since=None, newest=None, run_id=None)
    return None


def _save_pull_request_resume_point(
    *, repository: Repository, url: str, since: datetime | None, newest: datetime | None, run_id: int | None
) -> None:
    values = {
        "pull_requests_resume_url": url,
        "pull_requests_resume_since": since,
        "pull_requests_resume_newest": newest,
        "pull_requests_resume_run": run_id,
    }
    Repository.objects.filter(pk=repository.pk).update(**values)
    for name, value in values.items():
        setattr(repository, name, value)


def sync_branches(*, run: SyncRun, repository: Repository, client: BitbucketClient, stats: Stats) -> None:
    """Every branch; those the completed listing did not name are marked removed. A listing that marks the default
    branch (Data Center's ``isDefault``; its repository carries no main branch) names the repository's main branch."""
    listed_for = repository.updated_on
    if listing_is_unfiltered(repository.workspace):
        listed_for = timezone.now()  # no updated_on to follow: when they were listed
    seen: set[str] = set()
    default = None
    for page in batched(client.iter_branches(repository.workspace.key, repository.slug), BATCH):
        _, counts = upserts.upsert_branches_page(repository=repository, branch_records=page)
        stats["branches"].add(counts)
        seen.update(r.name for r in page)
        default = next((r.name for r in page if r.is_default), default)
        locks.heartbeat(workspace_id=repository.workspace_id, run_id=run.pk)
    if default and default != repository.main_branch:
        # Data Center names its default branch here (`isDefault`), not in its repository listing.
        Repository.objects.filter(pk=repository.pk).update(main_branch=default[:255])
        repository.main_branch = default[:255]
    stats["branches"].removed += upserts.mark_branches_removed(repository=repository, seen_names=seen)
    # Tags change with pushes, as branches do: listed on the same cadence (one more request, usually one page).
    tags.sync_tags(
        repository=repository,
        client=client,
        counts=stats["tags"],
        heartbeat=lambda: locks.heartbeat(workspace_id=repository.workspace_id, run_id=run.pk),
    )
    Repository.objects.filter(pk=repository.pk).update(branches_synced_for=listed_for)
    repository.branches_synced_for = listed_for


def sync_watchers(*, repository: Repository, client: BitbucketClient, stats: Stats) -> None:
    """Every watcher (they have no ``updated_on``, so they are re-listed on a slower cadence)."""
    seen: set[int] = set()
    try:
        for page in batched(client.iter_watchers(repository.workspace.key, repository.slug), BATCH):
            seen |= upserts.upsert_watchers_page(repository=repository, watcher_records=page, stats=stats)
    except Unsupported:
        return  # no watchers on this Bitbucket (Data Center): none are listed, none are removed
    stats["watchers"].removed += upserts.mark_watchers_removed(repository=repository, seen_account_pks=seen)
    now = timezone.now()
    Repository.objects.filter(pk=repository.pk).update(watchers_synced_at=now)
    repository.watchers_synced_at = now


def sync_restrictions(*, repository: Repository, client: BitbucketClient, stats: Stats) -> None:
    """Every branch restriction, replacing the rows after the listing completed; a credential that is not a
    repository admin leaves the rules unknown ("forbidden"), never guessed. Whose turn follows a change."""
    try:
        listed = list(client.iter_branch_restrictions(repository.workspace.key, repository.slug))
    except Unsupported:
        return  # this Bitbucket has no such rules to read through bbdash: unknown, as before
    except NotRepositoryAdmin:
        changed = upserts.forbid_branch_restrictions(repository=repository, counts=stats["branch_restrictions"])
    else:
        changed = upserts.replace_branch_restrictions(
            repository=repository, restriction_records=listed, counts=stats["branch_restrictions"]
        )
    if changed:
        open_prs = PullRequest.objects.filter(repository=repository, state=PullRequest.State.OPEN)
        turns.refresh_turns(open_prs.values_list("pk", flat=True))


def finish_repository(*, run_id: int, repository_id: int) -> bool:
    """Count the repository done in the run, exactly once; True when that made the run complete."""
    with transaction.atomic():
        if not Repository.objects.filter(pk=repository_id).exclude(synced_in_run=run_id).update(synced_in_run=run_id):
            return False  # a retried or duplicated task: it was already counted
        SyncRun.objects.filter(pk=run_id).update(repositories_done=F("repositories_done") + 1)
    return run_complete(run_id=run_id)


def run_complete(*, run_id: int) -> bool:
    return SyncRun.objects.filter(pk=run_id, status__in=ACTIVE, repositories_done__gte=F("repositories_total")).exists()


def record_repository_failure(*, run_id: int, repository: Repository, exc: Exception) -> bool:
    """A repository that cannot be synced now: the error is written on the run, nothing is pruned, its marks stay
    where they were (the next run lists it again), and it counts as done so the run can end."""
    if isinstance(exc, NotFound):
        message = "not found (deleted or access lost); the next repository listing will tell which"
    elif isinstance(exc, policy.GaveUp):
        message = f"{exc}; the next sync tries again"
    elif isinstance(exc, BitbucketError):
        message = str(exc)
    else:
        message = f"{type(exc).__name__}: {exc}"
    add_error(run_id=run_id, where=repository.full_name, message=message, repository_id=repository.pk)
    return finish_repository(run_id=run_id, repository_id=repository.pk)


def fail_listing(*, run: SyncRun, error: Exception) -> SyncRun | None:
    """End the run because its workspace listing failed: nothing was pruned and no repository is synced."""
    slug = _workspace(run).slug
    if isinstance(error, AuthError) and error.refuses_credential and (refused := refused_credential(run)):
        return finish_run(run_id=run.pk, failure=f"Listing {slug} stopped: {refused}")
    if isinstance(error, policy.GaveUp):
        failure = f"{error} while listing {slug}."
    elif isinstance(error, Unavailable):
        failure = f"Bitbucket unavailable while listing {slug}: {error}"
    else:
        failure = f"Listing {slug} failed: {error}"
    return finish_run(run_id=run.pk, failure=failure)


# -- step 4: the end -----------------------------------------------------------------------------------------------


def finish_run(*, run_id: int, failure: str | None = None) -> SyncRun | None:
    """End the run once (a conditional update picks the one caller that does it), release the lock and stamp the
    workspace; returns the run when this call ended it."""
    now = timezone.now()
    run = SyncRun.objects.get(pk=run_id)
    errors = len(run.errors)
    if failure is not None:
        status, message = SyncRun.Status.FAILED, failure
    elif errors:
        status, message = SyncRun.Status.FAILED, f"Finished with {errors} error(s); see below."
    else:
        status, message = SyncRun.Status.SUCCEEDED, ""
    if not SyncRun.objects.filter(pk=run_id, status__in=ACTIVE).update(
        status=status, finished_at=now, paused_until=None, message=message
    ):
        return None
    assert run.workspace_id is not None  # every sync run is created for a workspace
    if failure is None:
        stamp = {"synced_at": now}
        if run.kind == SyncRun.Kind.FULL and not errors:
            stamp["last_full_sync_at"] = now
        Workspace.objects.filter(pk=run.workspace_id).update(**stamp)
    locks.release(workspace_id=run.workspace_id, run_id=run_id)
    run.refresh_from_db()
    return run


def stalled_runs(*, older_than: timedelta | None = None) -> list[SyncRun]:
    """Runs whose worker died: active, with the workspace lock expired (or queued long ago and never started)."""
    now = timezone.now()
    stalled = []
    for run in SyncRun.objects.filter(status__in=ACTIVE, workspace__isnull=False).select_related("workspace"):
        ws = run.workspace
        assert ws is not None  # filtered above
        lock_dead = ws.sync_locked_by_run != run.pk or (ws.sync_lock_expires_at or now) < now
        if run.status == SyncRun.Status.QUEUED:
            if run.created_at < now - (older_than or timedelta(seconds=6 * locks.lock_seconds())) and lock_dead:
                stalled.append(run)
        elif lock_dead and ws.sync_locked_by_run in (None, run.pk):
            stalled.append(run)
        elif lock_dead:
            # Another run took the workspace after this one's lock expired: this one cannot go on.
            finish_run(run_id=run.pk, failure="Stopped: its worker stalled and another sync of the workspace began.")
    return stalled


def users_to_refresh(*, workspace: Workspace) -> list[int]:
    """Users whose access rows cover the workspace (those without an active credential any more lose them), and the
    owner of its sync credential."""
    ids = set(WorkspaceAccess.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    # No sync credential (None) matches no row, which is the answer; the stubs only allow a value for `pk`.
    owner = (
        Credential.objects.filter(pk=workspace.sync_credential_id)  # type: ignore[misc]
        .values_list("owner_id", flat=True)
        .first()
    )
    if owner is not None:
        ids.add(owner)
    return sorted(ids)


# -- inline runs (the management command) ------------------------------------------------------------------------


def run_inline(
    *,
    run: SyncRun,
    sleep: Callable[[float], None],
    on_pause: Callable[[SyncRun, policy.Pause], None] | None = None,
    max_unavailable: int = policy.UNAVAILABLE_RETRIES,
) -> SyncRun:
    """Do the whole run in this process, waiting out every pause and retrying failures as ``policy.decide`` says."""
    if not begin_run(run=run):
        return run
    try:
        client = sync_client(run)
    except NoSyncCredential as exc:
        return finish_run(run_id=run.pk, failure=str(exc)) or run

    def attempt[R](step: Callable[[], R]) -> R:
        pauses = failures = 0
        while True:
            try:
                return step()
            except (SyncPaused, BitbucketError) as exc:
                decision = policy.decide(
                    exc, pauses=pauses, failures=failures, max_pauses=None, max_failures=max_unavailable
                )
                if isinstance(decision, policy.Fail):
                    raise decision.error from None
                if isinstance(decision, policy.Pause):
                    pauses += 1
                    until = mark_paused(run=run, paused=decision)
                    if on_pause:
                        on_pause(run, decision)
                    sleep(max(0.0, (until - timezone.now()).total_seconds()))
                    mark_resumed(run=run)
                else:
                    failures += 1
                    note_retry(run_id=run.pk)
                    sleep(decision.seconds)

    try:
        pending = attempt(lambda: sync_workspace_listing(run=run, client=client))
    except BitbucketError as exc:
        return fail_listing(run=run, error=exc) or run
    for repository in Repository.objects.filter(pk__in=pending).select_related("workspace"):
        try:
            attempt(functools.partial(sync_repository, run=run, repository=repository, client=client))
        except BitbucketError as exc:
            record_repository_failure(run_id=run.pk, repository=repository, exc=exc)
            if isinstance(exc, AuthError) and (refused := refused_credential(run)):
                # Every request after this one would be refused too: the run ends here.
                return finish_run(run_id=run.pk, failure=refused) or SyncRun.objects.get(pk=run.pk)
            continue
        finish_repository(run_id=run.pk, repository_id=repository.pk)
    return finish_run(run_id=run.pk) or SyncRun.objects.get(pk=run.pk)
