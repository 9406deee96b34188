"""Applying a recorded delivery to the mirror: a pull request event upserts that pull request, a push moves the
branches it names only when it starts at the mirror's tip (else the branch is read from Bitbucket), a build status
event updates the statuses of the open pull requests whose source commit it is for. A Data Center delivery is only
a pointer: the pull request or branches it names are read again (`_apply_datacenter`).

Nothing here trusts a payload for who may see what: a delivery only touches repositories the mirror already has in
the subscription's workspace."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from bitbucket_sync import sites, turns
from bitbucket_sync.client import BitbucketError, BitbucketSchemaError, NotFound, RateLimited, Unavailable, records
from bitbucket_sync.client.datacenter import convert as datacenter_convert
from bitbucket_sync.credentials import clients
from bitbucket_sync.models import Branch, PullRequest, Repository, WebhookDelivery, WebhookSubscription
from bitbucket_sync.sync import statuses, upserts
from bitbucket_sync.webhooks.health import note_gap
from bitbucket_sync.webhooks.receiving import prune_deliveries
from bitbucket_sync.webhooks.subscriptions import DATACENTER_EVENTS, EVENTS

logger = logging.getLogger(__name__)

STATUS_EVENTS = ("repo:commit_status_created", "repo:commit_status_updated")


@dataclass
class _Outcome:
    result: str
    message: str
    target: str = ""


def _ignored(message: str, target: str = "") -> _Outcome:
    return _Outcome(WebhookDelivery.Result.IGNORED, message, target)


def apply_delivery(*, delivery_id: int) -> WebhookDelivery | None:
    """Apply a recorded delivery to the mirror, once. Raises `RateLimited`/`Unavailable` (the task retries later);
    any other failure is written on the delivery."""
    delivery = WebhookDelivery.objects.select_related("workspace").filter(pk=delivery_id).first()
    if delivery is None or delivery.result != WebhookDelivery.Result.QUEUED:
        return delivery  # pruned, or applied by an earlier run of the same task
    try:
        outcome = _apply(delivery)
    except (RateLimited, Unavailable):
        raise
    except BitbucketError as exc:  # includes a payload that does not parse (BitbucketSchemaError)
        logger.warning("webhook delivery %s (%s) failed: %s", delivery.request_uuid, delivery.event, exc)
        outcome = _Outcome(WebhookDelivery.Result.FAILED, str(exc))
    if delivery.result == WebhookDelivery.Result.QUEUED:
        _finish(delivery, outcome)
    prune_deliveries(workspace_id=delivery.workspace_id)
    return delivery


def _finish(delivery: WebhookDelivery, outcome: _Outcome) -> None:
    """Write the outcome on the delivery; called inside the transaction that changed the mirror, if any, so the log
    never says "queued" about a change already visible."""
    delivery.result = outcome.result
    delivery.message = outcome.message
    delivery.target = outcome.target[:511]
    delivery.applied_at = timezone.now()
    if outcome.result != WebhookDelivery.Result.FAILED:
        delivery.payload = None
    delivery.save(update_fields=["result", "message", "target", "applied_at", "payload"])


def _apply(delivery: WebhookDelivery) -> _Outcome:
    payload = delivery.payload if isinstance(delivery.payload, dict) else {}
    event = delivery.event
    if sites.site_kind(delivery.workspace.api_url) == "datacenter":
        return _apply_datacenter(delivery, payload)
    if event not in EVENTS:
        logger.info("webhook event %s for %s ignored: bbdash does not apply it", event, delivery.workspace.key)
        return _ignored(f"bbdash does not apply {event} events")
    subscription = WebhookSubscription.objects.filter(workspace=delivery.workspace).first()
    repository = _repository(delivery, payload, subscription)
    if isinstance(repository, _Outcome):
        return repository
    if event == "repo:push":
        return _apply_push(delivery, payload, repository, subscription)
    if event in STATUS_EVENTS:
        return _apply_status(delivery, payload, repository)
    return _apply_pull_request(delivery, payload, repository, subscription)


def _repository(
    delivery: WebhookDelivery, payload: dict, subscription: WebhookSubscription | None
) -> Repository | _Outcome:
    data = payload.get("repository")
    uuid = data.get("uuid") if isinstance(data, dict) else None
    if not isinstance(uuid, str) or not uuid:
        raise BitbucketSchemaError("missing required field 'repository.uuid'", endpoint=_endpoint(delivery))
    return _mirrored_repository(delivery, uuid, subscription)


def _mirrored_repository(
    delivery: WebhookDelivery, uuid: str, subscription: WebhookSubscription | None
) -> Repository | _Outcome:
    """The mirror's live repository `uuid` of the delivery's workspace, or why the delivery is ignored."""
    repository = Repository.objects.filter(bitbucket_uuid=uuid).select_related("workspace").first()
    if repository is not None and repository.workspace_id != delivery.workspace_id:
        # Signed with this workspace's secret but naming another workspace's repository: never cross over.
        logger.warning("webhook delivery %s names a repository of another workspace", delivery.request_uuid)
        return _ignored("the repository belongs to another workspace")
    if repository is None or repository.removed_at is not None:
        if subscription is not None:
            note_gap(
                subscription,
                f"an event for {delivery.repository_full_name or uuid}, which the mirror lacks",
                repository_uuid=uuid,
            )
        return _ignored("the mirror does not have this repository yet; a sync will bring it")
    return repository


def _endpoint(delivery: WebhookDelivery) -> str:
    return f"webhook {delivery.event}"


def _apply_pull_request(
    delivery: WebhookDelivery, payload: dict, repository: Repository, subscription: WebhookSubscription | None
) -> _Outcome:
    record = records.PullRequest.from_json(payload.get("pullrequest"), endpoint=_endpoint(delivery))
    target = f"#{record.id}"
    existing = PullRequest.objects.filter(repository=repository, number=record.id).first()
    if existing is not None and existing.updated_on > record.updated_on:
        return _ignored(f"older than the mirror's pull request #{record.id} (delivered out of order)", target)
    if existing is None and delivery.event != "pullrequest:created" and subscription is not None:
        note_gap(
            subscription,
            f"an event for pull request {repository.full_name}#{record.id}, which the mirror lacks",
            repository_uuid=repository.bitbucket_uuid,
        )
    note = ""
    if record.reviewers is None or record.participants is None:
        # A condensed pull request (no reviewers/participants): read that one pull request in full.
        credential = repository.workspace.sync_credential
        if credential is not None:
            with clients.client_for(credential, purpose="webhook") as client:
                record = client.get_pull_request(repository.workspace.key, repository.slug, record.id)
            note = " (read in full from Bitbucket)"
        else:
            note = " (participants unchanged: the workspace has no sync credential to read them with)"
    with transaction.atomic():
        _, counts = upserts.upsert_pull_requests_page(repository=repository, pr_records=[record])
        verb = "created" if counts.created else ("updated" if counts.updated else "unchanged")
        outcome = _Outcome(
            WebhookDelivery.Result.APPLIED,
            f"Pull request {repository.full_name}#{record.id} {verb} ({record.state.lower()}){note}",
            target,
        )
        _finish(delivery, outcome)
    return outcome


def _status_pull_requests(repository: Repository, record: records.BuildStatus) -> list[PullRequest]:
    """The repository's open pull requests a status counts for: their source commit is the status's (12 or 40
    characters either side) and their source branch is its refname (any, when it has none)."""
    if len(record.commit) < 7:
        return []
    candidates = PullRequest.objects.filter(
        repository=repository, state=PullRequest.State.OPEN, source_commit__startswith=record.commit[:7]
    )
    return [
        pr
        for pr in candidates
        if records.same_commit(pr.source_commit, record.commit)
        and (not record.refname or record.refname == pr.source_branch)
    ]


def _read_statuses(repository: Repository, numbers: list[int]) -> dict[int, list[records.BuildStatus]] | None:
    """Each pull request's statuses as Bitbucket lists them now (one request each), with the workspace's sync
    credential; None when the workspace has none."""
    credential = repository.workspace.sync_credential
    if credential is None:
        return None
    with clients.client_for(credential, purpose="webhook") as client:
        return {
            n: list(client.iter_pull_request_statuses(repository.workspace.key, repository.slug, n)) for n in numbers
        }


def _apply_status(delivery: WebhookDelivery, payload: dict, repository: Repository) -> _Outcome:
    """A build status for the pull requests whose source tip it is on. When their statuses were read for that tip,
    the delivered one is upserted as it stands (no request); otherwise (a new tip) the pull request's statuses are
    read in full, once, so the mirror holds the whole list for the tip and the rules can use it."""
    record = records.BuildStatus.from_json(payload.get("commit_status"), endpoint=_endpoint(delivery))
    target = f"{record.key} on {record.commit[:12]}"
    pull_requests = _status_pull_requests(repository, record)
    if not pull_requests:
        return _ignored(f"no open pull request of {repository.full_name} has {record.commit[:12]} as its tip", target)
    unread = [pr for pr in pull_requests if pr.statuses_synced_for != pr.source_commit]
    listed = _read_statuses(repository, [pr.number for pr in unread]) if unread else {}
    done: list[str] = []
    changed: list[int] = []
    with transaction.atomic():
        for pr in pull_requests:
            if listed is not None and pr.number in listed:
                moved = statuses.store_statuses(pull_request=pr, status_records=listed[pr.number])
                how = "statuses read from Bitbucket"
            else:
                moved = statuses.apply_status(pull_request=pr, record=record)
                how = "applied" if moved else "unchanged"
            if moved:
                changed.append(pr.pk)
            done.append(f"#{pr.number} {how} ({pr.build_state or 'no builds'})")
        turns.refresh_turns(changed)
        outcome = _Outcome(
            WebhookDelivery.Result.APPLIED,
            f"Build status {record.key} {record.state.lower()} on {repository.full_name}: " + ", ".join(done),
            target,
        )
        _finish(delivery, outcome)
    return outcome


@dataclass(frozen=True)
class _BranchChange:
    """One branch of a push: `old` is the tip it moved from ("" when the push created it), `new` where it is now
    (None when the push deleted it)."""

    name: str
    old: str
    new: records.Branch | None


def _branch_changes(delivery: WebhookDelivery, payload: dict) -> list[_BranchChange]:
    push = payload.get("push")
    changes = push.get("changes") if isinstance(push, dict) else None
    if not isinstance(changes, list):
        raise BitbucketSchemaError("missing required field 'push.changes'", endpoint=_endpoint(delivery))
    found: list[_BranchChange] = []
    for change in changes:
        if not isinstance(change, dict):
            continue
        new, old = change.get("new"), change.get("old")
        if isinstance(new, dict) and new.get("type") == "branch":
            record = records.Branch.from_json(new, endpoint=_endpoint(delivery))
            found.append(_BranchChange(record.name, _target_hash(old), record))
        elif new is None and isinstance(old, dict) and old.get("type") == "branch" and isinstance(old.get("name"), str):
            found.append(_BranchChange(old["name"], _target_hash(old), None))
    return found


def _starts_at(change: _BranchChange, tip: str | None) -> bool:
    """Whether the mirror's tip (None: no live branch) is where `change` starts, or already where it ends. Only then
    is the payload applied as it stands: a signed body replayed under a new request UUID, or delivered late, starts
    elsewhere and must not move the branch back or delete it."""
    if tip is None:
        # A creation, or a deletion of what the mirror no longer has (nothing to do).
        return not change.old or change.new is None
    if change.new is not None and records.same_commit(tip, change.new.target.hash):
        return True  # already there: polled first, or applied before
    return bool(change.old) and records.same_commit(tip, change.old)


def _live_tips(repository: Repository, names: list[str]) -> dict[str, str]:
    rows = Branch.objects.select_for_update().live().filter(repository=repository, name__in=names)
    return dict(rows.values_list("name", "target_hash"))


def _read_branches(repository: Repository, names: list[str]) -> dict[str, records.Branch | None] | None:
    """Where each branch is on Bitbucket now (None: Bitbucket has no such branch), one request each with the
    workspace's sync credential; None when the workspace has no sync credential."""
    credential = repository.workspace.sync_credential
    if credential is None:
        return None
    found: dict[str, records.Branch | None] = {}
    with clients.client_for(credential, purpose="webhook") as client:
        for name in names:
            try:
                found[name] = client.get_branch(repository.workspace.key, repository.slug, name)
            except NotFound:
                found[name] = None
    return found


def _apply_push(
    delivery: WebhookDelivery, payload: dict, repository: Repository, subscription: WebhookSubscription | None
) -> _Outcome:
    changes = _branch_changes(delivery, payload)
    if not changes:
        # Tags are re-listed with the branches (a push moves the repository's `updated_on`): cheap, and a replayed
        # tag delivery cannot bring back a tag deleted since.
        return _ignored("the push named no branch (tags are re-listed with the branches)")
    names = [change.name for change in changes]
    done: list[str] = []
    unsure: list[_BranchChange] = []
    with transaction.atomic():
        tips = _live_tips(repository, names)
        for change in changes:
            if not _starts_at(change, tips.get(change.name)):
                unsure.append(change)
            elif change.new is None:
                upserts.mark_branch_removed(repository=repository, name=change.name)
                done.append(f"{change.name} deleted")
            else:
                upserts.upsert_branch(repository=repository, record=change.new)
                done.append(f"{change.name} → {change.new.target.hash[:12]}")
        if not unsure:
            return _push_applied(delivery, repository, done, names)
    # Read outside any transaction: no row stays locked while Bitbucket answers.
    current = _read_branches(repository, [change.name for change in unsure])
    with transaction.atomic():
        tips = _live_tips(repository, [change.name for change in unsure])
        for change in unsure:
            tip = tips.get(change.name)
            if current is None:
                done.append(f"{change.name} kept (not pushed from the mirror's tip; no sync credential to check it)")
                if subscription is not None:
                    note_gap(
                        subscription,
                        f"a push to {repository.full_name}:{change.name} that could not be checked",
                        repository_uuid=repository.bitbucket_uuid,
                    )
                continue
            record = current[change.name]
            now = record.target.hash if record is not None else None
            unchanged = tip == now or bool(tip and now and records.same_commit(tip, now))
            if record is None:
                upserts.mark_branch_removed(repository=repository, name=change.name)
                done.append(f"{change.name} deleted (read from Bitbucket)")
            else:
                upserts.upsert_branch(repository=repository, record=record)
                verb = "kept at" if unchanged else "→"
                done.append(f"{change.name} {verb} {record.target.hash[:12]} (read from Bitbucket)")
            if subscription is not None and not unchanged:
                # The mirror was not where Bitbucket is, nor where this push started: a delivery was lost.
                note_gap(
                    subscription,
                    f"a push to {repository.full_name}:{change.name} from a tip the mirror lacks",
                    repository_uuid=repository.bitbucket_uuid,
                )
        return _push_applied(delivery, repository, done, names)


def _push_applied(delivery: WebhookDelivery, repository: Repository, done: list[str], names: list[str]) -> _Outcome:
    outcome = _Outcome(WebhookDelivery.Result.APPLIED, f"{repository.full_name}: " + ", ".join(done), ", ".join(names))
    _finish(delivery, outcome)
    return outcome


def _target_hash(ref: Any) -> str:
    if isinstance(ref, dict) and isinstance(ref.get("target"), dict):
        value = ref["target"].get("hash")
        return value if isinstance(value, str) else ""
    return ""


# -- Bitbucket Data Center ------------------------------------------------------------------------------------------
# A Data Center delivery only says what changed: the pull request is read again in full (`GET {PR}`, participants
# included) and the pushed branches are read one by one (`GET {R}/branches?filterText=`), with the workspace's sync
# credential. The payload names the repository and the pull request id, nothing more is taken from it.


def _apply_datacenter(delivery: WebhookDelivery, payload: dict) -> _Outcome:
    event = delivery.event
    if event not in DATACENTER_EVENTS:
        logger.info("webhook event %s for %s ignored: bbdash does not apply it", event, delivery.workspace.key)
        return _ignored(f"bbdash does not apply {event} events")
    subscription = WebhookSubscription.objects.filter(workspace=delivery.workspace).first()
    endpoint = _endpoint(delivery)
    if event == "repo:refs_changed":
        data = payload.get("repository")
    else:
        pull_request = payload.get("pullRequest")
        to_ref = pull_request.get("toRef") if isinstance(pull_request, dict) else None
        data = to_ref.get("repository") if isinstance(to_ref, dict) else None
    named = datacenter_convert.repository(
        data, endpoint=endpoint, site=datacenter_convert.site_tag(delivery.workspace.api_url)
    )
    repository = _mirrored_repository(delivery, named.uuid, subscription)
    if isinstance(repository, _Outcome):
        return repository
    credential = repository.workspace.sync_credential
    if credential is None:
        if subscription is not None:
            note_gap(
                subscription,
                f"an event for {repository.full_name} that could not be read (no sync credential)",
                repository_uuid=repository.bitbucket_uuid,
            )
        return _ignored("the workspace has no sync credential to read the change with; the next sync brings it")
    if event == "repo:refs_changed":
        return _apply_refs_changed(delivery, payload, repository)
    number = payload["pullRequest"].get("id")
    if not isinstance(number, int) or isinstance(number, bool):
        raise BitbucketSchemaError("missing required field 'pullRequest.id'", endpoint=endpoint)
    return _apply_datacenter_pull_request(delivery, repository, number, subscription)


def _apply_datacenter_pull_request(
    delivery: WebhookDelivery, repository: Repository, number: int, subscription: WebhookSubscription | None
) -> _Outcome:
    target = f"#{number}"
    credential = repository.workspace.sync_credential
    assert credential is not None
    try:
        with clients.client_for(credential, purpose="webhook") as client:
            record = client.get_pull_request(repository.workspace.key, repository.slug, number)
    except NotFound:
        return _ignored(f"Bitbucket no longer shows pull request {repository.full_name}#{number}", target)
    existing = PullRequest.objects.filter(repository=repository, number=number).first()
    if existing is None and delivery.event != "pr:opened" and subscription is not None:
        note_gap(
            subscription,
            f"an event for pull request {repository.full_name}#{number}, which the mirror lacks",
            repository_uuid=repository.bitbucket_uuid,
        )
    with transaction.atomic():
        _, counts = upserts.upsert_pull_requests_page(repository=repository, pr_records=[record])
        verb = "created" if counts.created else ("updated" if counts.updated else "unchanged")
        outcome = _Outcome(
            WebhookDelivery.Result.APPLIED,
            f"Pull request {repository.full_name}#{number} {verb} ({record.state.lower()}, read from Bitbucket)",
            target,
        )
        _finish(delivery, outcome)
    return outcome


def _pushed_branches(delivery: WebhookDelivery, payload: dict) -> list[str]:
    """The branch names a `repo:refs_changed` names (tags are re-listed by the next sync)."""
    changes = payload.get("changes")
    if not isinstance(changes, list):
        raise BitbucketSchemaError("missing required field 'changes'", endpoint=_endpoint(delivery))
    names: list[str] = []
    for change in changes:
        if not isinstance(change, dict):
            continue
        ref = change.get("ref")
        ref_id = change.get("refId") or (ref.get("id") if isinstance(ref, dict) else None)
        if isinstance(ref_id, str) and ref_id.startswith("refs/heads/") and len(ref_id) > len("refs/heads/"):
            name = ref_id.removeprefix("refs/heads/")
            if name not in names:
                names.append(name)
    return names


def _apply_refs_changed(delivery: WebhookDelivery, payload: dict, repository: Repository) -> _Outcome:
    """Each named branch as Bitbucket has it now (deleted when it has none), and the repository's branches and tags
    re-listed by its next sync."""
    names = _pushed_branches(delivery, payload)
    # The next sync lists the branches and tags again (a push may have moved tags this delivery does not apply).
    Repository.objects.filter(pk=repository.pk).update(branches_synced_for=None)
    if not names:
        return _ignored("the push named no branch (tags are re-listed by the next sync)")
    current = _read_branches(repository, names)
    assert current is not None  # the caller checked the sync credential
    done: list[str] = []
    with transaction.atomic():
        for name in names:
            record = current[name]
            if record is None:
                upserts.mark_branch_removed(repository=repository, name=name)
                done.append(f"{name} deleted")
            else:
                upserts.upsert_branch(repository=repository, record=record)
                done.append(f"{name} → {record.target.hash[:12]}")
        return _push_applied(delivery, repository, [f"{d} (read from Bitbucket)" for d in done], names)
