"""Writing the audit log: one call per credential change or write to Bitbucket, whatever its outcome.

Callers pass what happened in plain words; nothing here ever receives a secret, and `details` must not carry one.
"""

from bitbucket_sync.models import AuditEvent


def record(
    *,
    actor,
    action: str,
    result: str,
    subject_user=None,
    credential_kind: str = "",
    workspace_slug: str = "",
    repository_full_name: str = "",
    target: str = "",
    request_id: str = "",
    message: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Write one audit event. `actor` is the dashboard user who acted (None for the system: a command or a task);
    `result` is `AuditEvent.Result.SUCCESS` or `FAILURE`."""
    if result not in AuditEvent.Result.values:
        raise ValueError(f"audit result must be one of {AuditEvent.Result.values}, not {result!r}")
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        result=result,
        subject_user=subject_user,
        credential_kind=credential_kind,
        workspace_slug=workspace_slug,
        repository_full_name=repository_full_name[:511],
        target=target[:511],
        request_id=request_id[:128],
        message=message,
        details=details or {},
    )
