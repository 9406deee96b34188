"""The client's one exception family.

Every error carries Bitbucket's own ``error.message`` (or a description of what went wrong on the wire), the HTTP
status (``None`` when no response arrived), the request id (the ``X-Request-Id`` header, else the envelope's
``error.id``) and the endpoint (``"GET /repositories/acme/web"``: method and path, never a query string, header or
credential). Secrets never reach an error: the client builds the message itself and scrubs the credential out of
anything Bitbucket echoes back.
"""

from __future__ import annotations

from typing import Any


class BitbucketError(Exception):
    """Base class: anything that went wrong talking to Bitbucket."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        endpoint: str | None = None,
        detail: Any = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.endpoint = endpoint
        self.detail = detail
        self.fields = fields or {}

    def __str__(self) -> str:
        parts = []
        if self.endpoint:
            parts.append(self.endpoint)
        if self.status is not None:
            parts.append(f"-> {self.status}")
        head = " ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        if isinstance(self.detail, str) and self.detail and self.detail != self.message:
            text += f" ({self.detail})"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
            f"endpoint={self.endpoint!r}, request_id={self.request_id!r})"
        )


class BadRequest(BitbucketError):
    """400: Bitbucket refused the input (``fields`` says which, e.g. ``{"title": ["This field is required."]}``)."""


class AuthError(BitbucketError):
    """401 (no, wrong or expired credential) or 403 (no permission, or a missing scope).

    For a missing scope Bitbucket answers 403 with ``detail: {"granted": [...], "required": [...]}``; those lists are
    ``granted_scopes`` / ``required_scopes`` so the UI can say which scope the token lacks.
    """

    def __init__(
        self,
        message: str,
        *,
        required_scopes: tuple[str, ...] = (),
        granted_scopes: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.required_scopes = tuple(required_scopes)
        self.granted_scopes = tuple(granted_scopes)

    @property
    def refuses_credential(self) -> bool:
        """True when Bitbucket refused the credential itself (wrong, expired, revoked or deleted), not what it asked.

        Only a 401 can say so; a 403 is a missing permission or scope. Bitbucket Cloud answers 401 to a credential it
        does not accept and to nothing else once one is sent. Data Center answers 401 to a missing permission as
        well, naming ``AuthorisationException``; a refused credential names an ``...AuthenticationException``
        (``IncorrectPassword...``, ``NoAccess...`` for a user without a licence, ``AuthenticationRequired...``)."""
        if self.status != 401:
            return False
        exception = self.detail if isinstance(self.detail, str) else ""
        if exception.endswith("Exception"):  # Data Center's exception name
            return "Authentication" in exception
        return True


class NotRepositoryAdmin(AuthError):
    """403 from an endpoint only repository admins may call (branch restrictions): not an error of the credential,
    an answer: what needs admin stays unknown to it."""


class CommentRefused(AuthError):
    """403 from a comment endpoint that is Bitbucket's answer about the comment, not about the credential: editing or
    deleting someone else's comment, resolving a reply ("Comment is not a top-level comment"). ``message`` is
    Bitbucket's own sentence, fit to show beside the comment; a 403 naming missing scopes stays an ``AuthError``."""


class AppPasswordRemoved(AuthError):
    """An app password was refused: Bitbucket Cloud removed app passwords on 2026-07-28 (use an API token)."""


class NotFound(BitbucketError):
    """404: absent, or private and hidden from this credential."""


class Conflict(BitbucketError):
    """409: a ref moved under us (stale ``parents`` on ``POST /src``, a merge whose refs changed)."""


class AlreadyResolved(Conflict):
    """409 on resolving a thread someone already resolved ("Comment has already been resolved."): the wanted state
    holds, so a page can say so and refresh rather than report a failure."""


class Gone(BitbucketError):
    """410: a removed API (CHANGE-2770 endpoints, API 1.0) or a workspace flagged as spam."""


class RateLimited(BitbucketError):
    """429: the credential's hourly allowance for this resource group is spent.

    ``retry_after`` is the server's ``Retry-After`` in seconds, or ``None`` (Bitbucket usually sends none): the
    caller then backs off on its own schedule. The client never sleeps.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(BitbucketError):
    """5xx, Bitbucket's 555 (server-side timeout), a client timeout or a failed connection: try again later."""


class Unsupported(BitbucketError):
    """What this Bitbucket (a Data Center server) cannot do through bbdash: nothing was asked of it."""


class BitbucketSchemaError(BitbucketError):
    """Bitbucket answered something the client cannot read: invalid JSON, a missing required field, a broken page."""


class MergePending(BitbucketError):
    """An asynchronous merge had not finished within the allowed wait; ``task_url`` lets the caller poll later."""

    def __init__(self, message: str, *, task_url: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.task_url = task_url
