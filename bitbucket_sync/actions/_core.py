"""What every action shares: the permission check, the acting user's client, error wording and the audit event.

An action runs in three steps: ``Action(...)`` checks the user's access to the repository (nothing is sent to
Bitbucket when it fails, and the refusal is audited); ``action.client`` speaks as the user's own active credential,
remembering Bitbucket's request id of the last request; ``action.succeeded(...)`` / a raised error write the one
audit event. Use it as a context manager so an error of any kind is translated and audited exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bitbucket_sync import audit
from bitbucket_sync.browse import LiveReader
from bitbucket_sync.client import (
    AuthError,
    BadRequest,
    BitbucketClient,
    BitbucketError,
    BitbucketSchemaError,
    Conflict,
    Gone,
    NotFound,
    RateLimited,
    RequestRecord,
    Unavailable,
)
from bitbucket_sync.credentials import clients, health
from bitbucket_sync.models import AuditEvent, Credential, Repository, RepositoryAccess

# A diff longer than this is cut in the page (the full one is on Bitbucket); the rest is not even downloaded.
DIFF_MAX_BYTES = 200_000


class ActionRefused(Exception):
    """The dashboard refused the action before sending anything to Bitbucket (no access, no credential)."""

    def __init__(self, message: str, *, not_visible: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # True when the user may not even see the repository: views answer 404, not 403.
        self.not_visible = not_visible


class ActionFailed(Exception):
    """Bitbucket (or the check before sending) said no; ``message`` says why in plain words.

    ``kind`` names the case for the page (``exists``, ``moved``, ``conflicts``, ``timeout``, ``credential``,
    ``rate_limited``, ``not_found``, ``invalid``, ``unavailable``, ``error``); ``details`` carries what the page shows
    next to the message (a diff, conflicting paths, new commits); ``error`` is the client's error, if any.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        error: BitbucketError | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if kind:
            self.kind = kind
        self.error = error
        self.details = details or {}

    @property
    def request_id(self) -> str:
        return (self.error.request_id if self.error else "") or ""


class BranchMoved(ActionFailed):
    """A commit's ``parents`` is no longer the branch tip (409): someone committed since the user started.

    ``details``: ``tip`` (the branch's tip now), ``parent`` (where the user started), ``diff`` (what changed since).
    """

    kind = "moved"


class SourceMoved(ActionFailed):
    """The pull request's source moved after the merge page was loaded; nothing was merged.

    ``details``: ``expected``, ``current`` (source commits), ``diff`` (what the new commits change).
    """

    kind = "moved"


class MergeConflicts(ActionFailed):
    """Bitbucket cannot merge without a person resolving conflicts; ``details["paths"]`` names the files."""

    kind = "conflicts"


class MergeRefused(ActionFailed):
    """Bitbucket refused the merge by the destination branch's rules: merge checks it enforces (400) or who may merge
    (403). ``details["bitbucket_message"]`` is Bitbucket's own words, shown as they are."""

    kind = "refused"


def plain_error(error: BitbucketError, *, doing: str) -> ActionFailed:
    """Bitbucket's error in words a person can act on. ``doing`` completes "Bitbucket refused to ..."."""
    if isinstance(error, RateLimited):
        wait = f" Try again in about {max(1, round(error.retry_after / 60))} minute(s)." if error.retry_after else ""
        return ActionFailed(
            f"Bitbucket's hourly request allowance for your credential is used up, so it did not {doing}.{wait}",
            kind="rate_limited",
            error=error,
        )
    if isinstance(error, AuthError):
        if error.refuses_credential:
            # ``credentials.health`` marked it refused as the answer came: the banner on every page says so too.
            text = (
                f"Bitbucket refused your credential (401: {error.message}), so it did not {doing}. It may have "
                "expired or been revoked; bbdash has marked it invalid and uses it for nothing until it is replaced "
                "on your credential page (or by an admin)."
            )
        elif error.required_scopes:
            text = f"Your credential lacks the scope {', '.join(error.required_scopes)}, so Bitbucket did not {doing}."
        else:
            text = f"Bitbucket says you are not allowed to {doing}: {error.message}"
        return ActionFailed(text, kind="credential", error=error)
    if isinstance(error, NotFound):
        return ActionFailed(
            f"Bitbucket could not find what you acted on, so it did not {doing}. It may have been deleted or "
            f"renamed, or you lost access. ({error.message})",
            kind="not_found",
            error=error,
        )
    if isinstance(error, Unavailable):
        if error.status == 555:
            text = f"Bitbucket timed out while trying to {doing}. Nothing was lost; try again in a moment."
            return ActionFailed(text, kind="timeout", error=error)
        return ActionFailed(
            f"Bitbucket is not answering right now ({error.message}), so it did not {doing}. Try again shortly.",
            kind="unavailable",
            error=error,
        )
    if isinstance(error, BadRequest):
        problems = "; ".join(
            f"{name}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for name, msgs in error.fields.items()
        )
        detail = error.detail if isinstance(error.detail, str) and error.detail else ""
        text = " ".join(part for part in (error.message, detail, problems) if part and part != "Bad request")
        return ActionFailed(f"Bitbucket refused to {doing}: {text or error.message}", kind="invalid", error=error)
    if isinstance(error, Conflict):
        return ActionFailed(
            f"Bitbucket refused to {doing} because a branch moved in the meantime. Reload and try again.",
            kind="moved",
            error=error,
        )
    if isinstance(error, Gone | BitbucketSchemaError):
        return ActionFailed(
            f"Bitbucket gave an answer bbdash cannot read ({error.message}), so it is unclear whether it managed to "
            f"{doing}. Reload the page to see.",
            kind="error",
            error=error,
        )
    return ActionFailed(f"Bitbucket refused to {doing}: {error.message}", kind="error", error=error)


@dataclass
class Action:
    """One audited action by ``user`` on ``repository``: access check, the user's client, one audit event."""

    user: Any
    action: str
    repository: Repository
    target: str = ""
    need: str = "write"
    details: dict[str, Any] = field(default_factory=dict)
    credential: Credential | None = None
    last_request_id: str = ""
    # Set to an existing event to complete it instead of writing a new one.
    event: AuditEvent | None = None
    _client: BitbucketClient | None = None
    _recorded: bool = False

    def __enter__(self) -> Action:
        self._check()
        return self

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        if self._client is not None:
            self._client.close()
        if exc is None:
            if not self._recorded:
                self.succeeded("")
            return False
        if isinstance(exc, BitbucketError):
            failed = plain_error(exc, doing=ACTION_WORDS.get(self.action, "do that"))
            self.failed(failed)
            raise failed from exc
        if isinstance(exc, ActionFailed):
            self.failed(exc)
        elif isinstance(exc, Exception):
            # A fault of ours after Bitbucket may have acted: still one event, named by type (no data, no secret).
            self._record(AuditEvent.Result.FAILURE, f"bbdash failed while acting ({type(exc).__name__}).")
        return False  # the original exception continues

    # -- the steps ----------------------------------------------------------------------------------------------

    def _check(self) -> None:
        repository = self.repository
        access = RepositoryAccess.objects.filter(user=self.user, repository=repository).first()
        if access is None or repository.removed_at is not None:
            # No event: for this user the repository does not exist; a crafted POST is a 404 and nothing more.
            raise ActionRefused("This repository does not exist or is not visible to you.", not_visible=True)
        if self.need == "write" and not access.can_write:
            refusal = ActionRefused(
                f"You have read-only access to {repository.full_name}: Bitbucket would refuse this, so bbdash did "
                "not send it."
            )
            self._record(AuditEvent.Result.FAILURE, refusal.message, credential_kind="")
            raise refusal
        # The credential of the repository's own site: a Cloud credential never acts on a Data Center project.
        credential = Credential.objects.for_site(self.user, repository.workspace.api_url)
        if credential is None:
            refusal = ActionRefused(
                "You have no Bitbucket credential for this repository's site yet. Add one on your credential page to "
                "act on Bitbucket."
            )
            self._record(AuditEvent.Result.FAILURE, refusal.message, credential_kind="")
            raise refusal
        self.credential = credential
        if health.is_refused(credential):
            # Bitbucket refused it already: sending would only be refused again (and count against its allowance).
            # Said in place, like Bitbucket's own refusal would be.
            failure = ActionFailed(health.own_refusal_text(credential), kind="credential")
            self.failed(failure)
            raise failure

    @property
    def client(self) -> BitbucketClient:
        """The acting user's own client: every request goes to the ledger, and its request id is kept."""
        if self._client is None:
            assert self.credential is not None
            self._client = clients.client_for(self.credential, purpose="action", on_request=self._keep_request_id)
        return self._client

    @property
    def reader(self) -> LiveReader:
        """The acting user's client as a live reader: the page's cached reads of this credential are its keys."""
        assert self.credential is not None
        return LiveReader(client=self.client, credential_id=self.credential.pk)

    def _keep_request_id(self, request: RequestRecord) -> None:
        if request.request_id:
            self.last_request_id = request.request_id

    def defer(self) -> None:
        """No event now: the outcome is not known yet (a merge Bitbucket is still running); a later call records it."""
        self._recorded = True

    def succeeded(self, message: str, **details: Any) -> None:
        self.details.update(details)
        self._record(AuditEvent.Result.SUCCESS, message)

    def failed(self, failure: ActionFailed) -> None:
        self.details.update({"kind": failure.kind})
        if failure.error is not None and failure.error.status is not None:
            self.details["status"] = failure.error.status
        self._record(AuditEvent.Result.FAILURE, failure.message, request_id=failure.request_id)

    def _record(self, result: str, message: str, *, request_id: str = "", credential_kind: str | None = None) -> None:
        if self._recorded:
            return
        self._recorded = True
        kind = self.credential.kind if credential_kind is None and self.credential else (credential_kind or "")
        if self.event is not None:
            # The action's event already exists (a merge recorded when Bitbucket accepted it): it gets the outcome.
            self.event.result = result
            self.event.message = message
            self.event.request_id = (request_id or self.last_request_id or self.event.request_id)[:128]
            self.event.details = {**self.event.details, **self.details}
            self.event.save(update_fields=["result", "message", "request_id", "details"])
            return
        self.event = audit.record(
            actor=self.user,
            action=self.action,
            result=result,
            subject_user=self.user,
            credential_kind=kind,
            workspace_slug=self.repository.workspace.slug,
            repository_full_name=self.repository.full_name,
            target=self.target,
            request_id=request_id or self.last_request_id,
            message=message,
            details=self.details,
        )


def client_for_reading(*, user, repository: Repository) -> tuple[BitbucketClient, Credential]:
    """The user's own client for a read an action form needs (file content, merge options); checked like an action.

    Raises ``ActionRefused`` when the user cannot see the repository or has no credential.
    """
    access = RepositoryAccess.objects.filter(user=user, repository=repository).first()
    if access is None or repository.removed_at is not None:
        raise ActionRefused("This repository does not exist or is not visible to you.", not_visible=True)
    credential = Credential.objects.for_site(user, repository.workspace.api_url)
    if credential is None:
        raise ActionRefused(
            "You have no Bitbucket credential for this repository's site yet: add one on your credential page."
        )
    if health.is_refused(credential):
        raise ActionRefused(health.own_refusal_text(credential))
    return clients.client_for(credential, purpose="action"), credential


def can_write(*, user, repository: Repository) -> bool:
    """Whether the user's own Bitbucket access lets them write to the repository (buttons are shown on this)."""
    access = RepositoryAccess.objects.filter(user=user, repository=repository).first()
    return access is not None and access.can_write


# "Bitbucket refused to <words>" for each audited action.
ACTION_WORDS = {
    "branch.create": "create the branch",
    "branch.delete": "delete the branch",
    "branch.recreate": "recreate the branch",
    "tag.create": "create the tag",
    "tag.delete": "delete the tag",
    "file.commit": "commit your change",
    "pull_request.open": "open the pull request",
    "pull_request.update": "update the pull request",
    "pull_request.approve": "record your approval",
    "pull_request.unapprove": "remove your approval",
    "pull_request.request_changes": "record your change request",
    "pull_request.remove_request_changes": "withdraw your change request",
    "pull_request.comment": "post your comment",
    "pull_request.comment_reply": "post your reply",
    "pull_request.comment_inline": "post your comment on those lines",
    "pull_request.comment_edit": "change your comment",
    "pull_request.comment_delete": "delete your comment",
    "pull_request.comment_resolve": "resolve the thread",
    "pull_request.comment_reopen": "reopen the thread",
    "pull_request.review_publish": "publish your review",
    "pull_request.review_discard": "discard your review",
    "pull_request.task_create": "add the task",
    "pull_request.task_resolve": "resolve the task",
    "pull_request.task_reopen": "reopen the task",
    "pull_request.merge": "merge the pull request",
    "pull_request.decline": "decline the pull request",
}
