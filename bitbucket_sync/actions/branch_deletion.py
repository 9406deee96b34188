"""Deleting branches, one or many (each its own audited Bitbucket call), and recreating one from its audit entry.

A deletion reads the branch first: its tip goes into the audit event (``details["tip"]``), so a branch deleted by
mistake can be made again where it was; a caller that saw the tip (the clean-up page) passes ``expected_tip`` and a
branch that moved since is left alone. Bitbucket refuses the main branch (400) and branches a ``delete`` restriction
protects (403); both come back as ``BranchProtected`` with Bitbucket's own words.
"""

from __future__ import annotations

from dataclasses import dataclass

from bitbucket_sync.client import AuthError, BadRequest, NotFound, records
from bitbucket_sync.models import AuditEvent, Repository
from bitbucket_sync.sync import upserts

from ._core import Action, ActionFailed, ActionRefused
from .branches import branch_name_problem


class BranchProtected(ActionFailed):
    """Bitbucket would not delete the branch (the main branch, or a branch restriction); ``message`` has its reason."""

    kind = "protected"


@dataclass(frozen=True)
class Deleted:
    name: str
    tip: str
    event: AuditEvent


def delete_branch(
    *,
    user,
    repository: Repository,
    name: str,
    expected_tip: str = "",
    open_pull_requests: tuple[int, ...] = (),
    batch: str = "",
) -> Deleted:
    """Delete branch ``name`` as ``user``; the audit event records its tip (and the open pull requests the user was
    shown). ``expected_tip``: keep the branch if it moved since; ``batch`` names the bulk deletion it is part of."""
    details: dict = {"repository_uuid": repository.bitbucket_uuid}
    if batch:
        details["batch"] = batch
    if open_pull_requests:
        details["open_pull_requests"] = list(open_pull_requests)
    with Action(user=user, action="branch.delete", repository=repository, target=name, details=details) as act:
        if problem := branch_name_problem(name):
            raise ActionFailed(problem, kind="invalid")
        if name == repository.main_branch:
            raise BranchProtected(f"{name} is the main branch of {repository.full_name}: Bitbucket never deletes it.")
        workspace, slug = repository.workspace.key, repository.slug
        try:
            branch: records.Branch = act.client.get_branch(workspace, slug, name)
        except NotFound:
            upserts.mark_branch_removed(repository=repository, name=name)
            raise ActionFailed(
                f"There is no branch {name} in {repository.full_name} any more.", kind="not_found"
            ) from None
        tip = branch.target.hash
        act.details["tip"] = tip
        if expected_tip and not records.same_commit(expected_tip, tip):
            raise ActionFailed(
                f"{name} moved to {tip[:12]} since you chose it (it was at {expected_tip[:12]}), so it was kept.",
                kind="moved",
            )
        try:
            act.client.delete_branch(workspace, slug, name)
        except (AuthError, BadRequest) as exc:
            # 403 from a `delete` restriction, 400 for the main branch; a missing scope stays a credential problem.
            if isinstance(exc, AuthError) and (exc.status != 403 or exc.required_scopes):
                raise
            raise BranchProtected(f"Bitbucket refused to delete {name}: {exc.message}", error=exc) from None
        upserts.mark_branch_removed(repository=repository, name=name)
        act.succeeded(f"Deleted branch {name} (its tip was {tip[:12]}).", commit=tip)
        assert act.event is not None
        return Deleted(name=name, tip=tip, event=act.event)


def recreatable(event: AuditEvent) -> bool:
    """Whether an audit event is a branch deletion that recorded where the branch was."""
    tip = (event.details or {}).get("tip")
    return (
        event.action == "branch.delete"
        and event.result == AuditEvent.Result.SUCCESS
        and isinstance(tip, str)
        and len(tip) == 40
        and all(c in "0123456789abcdef" for c in tip)
        and bool(event.target)
    )


def recreate_branch(*, user, repository: Repository, event: AuditEvent) -> str:
    """Make the branch of a deletion event again at its recorded tip, as ``user``. Idempotent: a branch already
    there at that tip is a success; one there at another commit is refused. Returns the branch name."""
    if not recreatable(event):
        raise ActionRefused("That audit entry is not a branch deletion bbdash can undo.", not_visible=True)
    name, tip = event.target, event.details["tip"]
    details = {"tip": tip, "deletion_event": event.pk}
    with Action(user=user, action="branch.recreate", repository=repository, target=name, details=details) as act:
        if problem := branch_name_problem(name):
            raise ActionFailed(problem, kind="invalid")
        workspace, slug = repository.workspace.key, repository.slug
        try:
            current = act.client.get_branch(workspace, slug, name)
        except NotFound:
            current = None
        if current is not None:
            if not records.same_commit(current.target.hash, tip):
                raise ActionFailed(
                    f"A branch called {name} already exists at {current.target.hash[:12]}; it was left as it is.",
                    kind="exists",
                )
            upserts.upsert_branch(repository=repository, record=current)
            act.succeeded(f"Branch {name} was already at {tip[:12]}.", commit=tip)
            return name
        record = act.client.create_branch(workspace, slug, name=name, target=tip)
        upserts.upsert_branch(repository=repository, record=record)
        act.succeeded(f"Recreated branch {name} at {tip[:12]}.", commit=tip)
        return name
