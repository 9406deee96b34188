"""What a sync step does after it failed: retry after N seconds, pause the run until a time, or fail.

``decide`` is the one place a failure is classified, for the Celery tasks and for the inline runner (the
``bitbucket_sync`` command) alike, so a 429, a spent budget and a 5xx are waited out the same way wherever a run is:

* ``SyncPaused`` (the credential's hourly budget is spent) and ``RateLimited`` (429) pause the run: as long as
  Bitbucket's ``Retry-After`` says, else ``BBDASH_RATE_LIMIT_BACKOFF_SECONDS`` doubling with each pause (at most 16
  times it). A step gives up after ``PAUSE_RETRIES`` pauses (16 pauses is hours).
* ``Unavailable`` (5xx, 555, timeouts) is retried after ``BBDASH_SYNC_RETRY_BACKOFF_SECONDS``, doubling (at most 32
  times it), ``UNAVAILABLE_RETRIES`` times.
* Anything else fails the step: Bitbucket refused it (401, 404...) or the code did.

Pauses and failure retries are counted apart (the run shows both), so a run that waited out many 429s still gets its
retries when Bitbucket then fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from bitbucket_sync.client import RateLimited, Unavailable

UNAVAILABLE_RETRIES = 6
PAUSE_RETRIES = 16


class SyncPaused(Exception):
    """The run must wait ``seconds`` before its next request: Bitbucket said 429, or the budget is spent."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = max(1.0, seconds)
        self.reason = reason


class GaveUp(Exception):
    """Bitbucket kept refusing requests (429s, or a budget spent again and again) through every pause a step has."""


@dataclass(frozen=True)
class Retry:
    """Bitbucket failed: try the step again after ``seconds`` (a failure retry)."""

    seconds: float


@dataclass(frozen=True)
class Pause:
    """The run waits ``seconds`` (at least one) before the step goes on; ``reason`` says why, on the sync page."""

    seconds: float
    reason: str


@dataclass(frozen=True)
class Fail:
    """The step cannot be done now; ``error`` says why (the exception itself, or ``GaveUp``)."""

    error: Exception


type Decision = Retry | Pause | Fail


def decide(
    exc: Exception,
    *,
    pauses: int,
    failures: int,
    max_pauses: int | None = PAUSE_RETRIES,
    max_failures: int = UNAVAILABLE_RETRIES,
) -> Decision:
    """What to do after ``exc``, given the pauses and failure retries the step had before it. ``max_pauses=None``
    waits out every pause (an operator's own command, who sees each one and may stop it)."""
    if isinstance(exc, SyncPaused | RateLimited):
        if max_pauses is not None and pauses >= max_pauses:
            refused = "Bitbucket kept refusing requests (rate limit or budget)"
            return Fail(GaveUp(f"{refused}: gave up after {pauses} pauses"))
        if isinstance(exc, SyncPaused):
            return Pause(exc.seconds, exc.reason)
        if exc.retry_after is not None:
            reason = f"Bitbucket rate limit (429): it asked to wait {exc.retry_after:.0f} s"
            return Pause(max(1.0, exc.retry_after), reason)
        wait = rate_limit_backoff(pauses)
        return Pause(wait, f"Bitbucket rate limit (429, no Retry-After): backing off {wait:.0f} s")
    if isinstance(exc, Unavailable):
        if failures >= max_failures:
            return Fail(exc)
        return Retry(retry_backoff(failures + 1))
    return Fail(exc)


def rate_limit_backoff(pauses: int) -> float:
    """Seconds to wait after a 429 without ``Retry-After``: the configured start, doubling, at most 16 times it."""
    return float(settings.BBDASH_RATE_LIMIT_BACKOFF_SECONDS * 2 ** min(max(pauses, 0), 4))


def retry_backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (from 1) after Bitbucket was unavailable: the start, doubling, at most
    32 times it."""
    return float(settings.BBDASH_SYNC_RETRY_BACKOFF_SECONDS * 2 ** min(max(attempt - 1, 0), 5))
