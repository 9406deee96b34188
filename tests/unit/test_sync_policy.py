"""The sync failure policy: every failure a step meets, and what the tasks and the inline runner do after it."""

import pytest

from bitbucket_sync.client import AuthError, BitbucketSchemaError, NotFound, RateLimited, Unavailable
from bitbucket_sync.sync import policy
from bitbucket_sync.sync.policy import Fail, GaveUp, Pause, Retry, SyncPaused

BUDGET = "Hourly request budget used up"
ASKED = "Bitbucket rate limit (429): it asked to wait {:.0f} s"
BACKING_OFF = "Bitbucket rate limit (429, no Retry-After): backing off {:.0f} s"
GAVE_UP = "Bitbucket kept refusing requests (rate limit or budget): gave up after {} pauses"


def limited(retry_after: float | None = None) -> RateLimited:
    return RateLimited("slow down", retry_after=retry_after)


def down() -> Unavailable:
    return Unavailable("502 Bad Gateway")


# (exception, pauses so far, failure retries so far, keyword arguments, expected decision); the backoff settings are
# 60 s (429) and 10 s (unavailable).
CASES = {
    "budget spent: pause as long as the budget says": (SyncPaused(90, BUDGET), 0, 0, {}, Pause(90, BUDGET)),
    "budget pause of under a second: one second": (SyncPaused(0.2, BUDGET), 0, 0, {}, Pause(1, BUDGET)),
    "429 with Retry-After: that long": (limited(12), 0, 0, {}, Pause(12, ASKED.format(12))),
    "429 with Retry-After 0: one second": (limited(0), 0, 0, {}, Pause(1, ASKED.format(0))),
    "429 without Retry-After: the configured start": (limited(), 0, 0, {}, Pause(60, BACKING_OFF.format(60))),
    "429 without Retry-After, third pause: doubled twice": (limited(), 2, 0, {}, Pause(240, BACKING_OFF.format(240))),
    "429 without Retry-After, many pauses: at most 16x": (limited(), 9, 0, {}, Pause(960, BACKING_OFF.format(960))),
    "429 after every failure retry: still a pause": (limited(), 0, 6, {}, Pause(60, BACKING_OFF.format(60))),
    "unavailable: the configured start": (down(), 0, 0, {}, Retry(10)),
    "unavailable, third retry: doubled twice": (down(), 0, 2, {}, Retry(40)),
    "unavailable, last retry: 32 times the start": (down(), 0, 5, {}, Retry(320)),
    "unavailable after many pauses: still a retry": (down(), 15, 0, {}, Retry(10)),
    "not found: fail at once": (NotFound("no such repository"), 0, 0, {}, "itself"),
    "credential refused: fail at once": (AuthError("401 Unauthorized"), 0, 0, {}, "itself"),
    "an answer that does not parse: fail at once": (BitbucketSchemaError("missing 'values'"), 0, 0, {}, "itself"),
    "a bug: fail at once": (ValueError("unexpected"), 0, 0, {}, "itself"),
    "unavailable once retries are spent: fail": (down(), 0, 6, {}, "itself"),
    "unavailable with a lower limit, spent: fail": (down(), 0, 2, {"max_failures": 2}, "itself"),
    "429 once pauses are spent: give up": (limited(), 16, 0, {}, Fail(GaveUp(GAVE_UP.format(16)))),
    "budget once pauses are spent: give up": (SyncPaused(90, BUDGET), 16, 0, {}, Fail(GaveUp(GAVE_UP.format(16)))),
    "429, no pause limit (the command): waits": (
        limited(),
        40,
        0,
        {"max_pauses": None},
        Pause(960, BACKING_OFF.format(960)),
    ),
}


@pytest.mark.parametrize(("exc", "pauses", "failures", "limits", "expected"), CASES.values(), ids=CASES.keys())
def test_decide_failure_gives_its_decision(settings, exc, pauses, failures, limits, expected):
    settings.BBDASH_RATE_LIMIT_BACKOFF_SECONDS = 60
    settings.BBDASH_SYNC_RETRY_BACKOFF_SECONDS = 10
    decision = policy.decide(exc, pauses=pauses, failures=failures, **limits)
    if expected == "itself":
        assert decision == Fail(exc)
    elif isinstance(expected, Fail):
        # Exceptions compare by identity: the kind and the words are what the run shows.
        assert isinstance(decision, Fail) and type(decision.error) is type(expected.error)
        assert str(decision.error) == str(expected.error)
    else:
        assert decision == expected


def test_decide_backoffs_follow_their_settings(settings):
    settings.BBDASH_RATE_LIMIT_BACKOFF_SECONDS = 5
    settings.BBDASH_SYNC_RETRY_BACKOFF_SECONDS = 3
    assert policy.decide(RateLimited("slow down"), pauses=1, failures=0) == Pause(10, BACKING_OFF.format(10))
    assert policy.decide(Unavailable("503"), pauses=0, failures=1) == Retry(6)


class _Client:
    def __init__(self, request_count: int) -> None:
        self.request_count = request_count


def test_pauses_count_only_in_a_row_without_progress():
    from bitbucket_sync.tasks import _pauses_since_progress

    # The 429 was this attempt's first request: one more pause in a row.
    assert _pauses_since_progress(15, _Client(1)) == 15
    # The attempt read something before its 429: the step moved, the count starts again.
    assert _pauses_since_progress(15, _Client(7)) == 0
