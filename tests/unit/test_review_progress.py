"""Which source commit a reviewer last reviewed, from the activity feed and the mirror (bitbucket_sync.reviews); the
per-file digests a "viewed" mark remembers; and the `since` a diff URL may carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.http import Http404

from bitbucket_sync.client import ApiToken, BitbucketClient
from bitbucket_sync.client.records import Account as AccountRecord
from bitbucket_sync.client.records import Activity
from bitbucket_sync.models import Account
from bitbucket_sync.reviews import PushHistory, last_reviewed_commit, reviewed_commit_from_activity, same_commit
from dashboard import rendering
from dashboard.diff_fingerprints import file_fingerprints
from dashboard.selectors.review_progress import since_from_url

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
A, B, C, D = ("a" * 40, "b" * 40, "c" * 40, "d" * 40)
ANN = Account(bitbucket_uuid="{ann}", account_id="ann-id", display_name="Ann")
BEN = Account(bitbucket_uuid="{ben}", account_id="ben-id", display_name="Ben")


def _who(account: Account) -> AccountRecord:
    return AccountRecord(uuid=account.bitbucket_uuid, type="user", display_name="", account_id=account.account_id)


def push(minute: int, commit: str) -> Activity:
    # Bitbucket's feed shortens the hash to 12 digits.
    return Activity(kind="update", date=T0 + timedelta(minutes=minute), user=None, source_commit=commit[:12])


def review(minute: int, who: Account, kind: str = "approval") -> Activity:
    return Activity(kind=kind, date=T0 + timedelta(minutes=minute), user=_who(who))


def _reviewed(activity: list[Activity], who: Account = ANN) -> str | None:
    # The feed comes newest first; the order must not matter.
    return reviewed_commit_from_activity(PushHistory.of(reversed(activity)), account=who)


def test_review_matches_the_source_commit_current_at_its_date():
    feed = [push(0, A), review(5, ANN), push(10, B), push(20, C)]
    assert same_commit(_reviewed(feed) or "", A)
    assert PushHistory.of(feed).pushes_since(A) == 2


def test_pushes_between_reviews_the_latest_review_wins():
    feed = [push(0, A), review(5, ANN, "changes_requested"), push(10, B), review(15, ANN), push(20, C)]
    assert _reviewed(feed) == B[:12]


def test_another_reviewers_review_does_not_count():
    feed = [push(0, A), review(5, ANN), push(10, B), review(15, BEN)]
    assert _reviewed(feed) == A[:12] and _reviewed(feed, BEN) == B[:12]


def test_no_review_no_commit():
    feed = [push(0, A), push(10, B), Activity(kind="comment", date=T0, user=_who(ANN))]
    assert _reviewed(feed) is None
    assert last_reviewed_commit(stored="", history=PushHistory.of(feed), account=ANN) == ""


def test_title_edits_repeat_the_commit_and_are_not_pushes():
    feed = [push(0, A), push(3, A), review(5, ANN), push(10, B), push(11, B)]
    history = PushHistory.of(feed)
    assert [c for _, c in history.pushes] == [A[:12], B[:12]]
    assert history.pushes_since(A) == 1


def test_force_push_back_and_forth_keeps_the_commit_of_the_review():
    # A force push to an unrelated commit D, then the review, then a push on top.
    feed = [push(0, A), push(10, D), review(12, ANN), push(20, C)]
    assert _reviewed(feed) == D[:12]
    # Reviewed on A, then the branch force-pushed away from it: A is still what they reviewed.
    feed = [push(0, A), review(2, ANN), push(10, D)]
    assert _reviewed(feed) == A[:12]


def test_review_before_any_listed_push_is_unknown():
    assert _reviewed([review(0, ANN), push(10, A)]) is None


def test_activity_corrects_a_stored_commit_a_later_review_outdated():
    # Approved on A (stored), then changes requested on B: the mirror keeps A, the feed knows B.
    feed = [push(0, A), review(5, ANN), push(10, B), review(15, ANN, "changes_requested")]
    assert last_reviewed_commit(stored=A, history=PushHistory.of(feed), account=ANN) == B[:12]


def test_a_stored_commit_later_than_the_feeds_review_wins():
    # A review published through bbdash on C without approving: newer than the approval on A.
    feed = [push(0, A), review(5, ANN), push(10, B), push(20, C)]
    assert last_reviewed_commit(stored=C, history=PushHistory.of(feed), account=ANN) == C


def test_a_stored_commit_the_feed_does_not_list_loses_to_the_feed():
    feed = [push(0, A), review(5, ANN), push(10, B)]
    assert last_reviewed_commit(stored=D, history=PushHistory.of(feed), account=ANN) == A[:12]


def test_without_activity_the_stored_commit_stands_and_junk_is_dropped():
    assert last_reviewed_commit(stored=B, history=None, account=ANN) == B
    assert last_reviewed_commit(stored="main..x", history=None, account=ANN) == ""


def test_hashes_compare_by_prefix_and_only_as_hashes():
    assert same_commit(A, A[:12]) and same_commit(A[:7], A)
    assert not same_commit(A, B) and not same_commit("", A) and not same_commit("abc", "abc")


def test_update_entries_carry_their_source_commit():
    entry = Activity.from_json(
        {
            "update": {
                "state": "OPEN",
                "date": "2026-01-01T00:00:00+00:00",
                "source": {"commit": {"hash": "f33e72b3dcbc"}, "branch": {"name": "fix/x"}},
                "destination": {"commit": {"hash": "8408baeb00af"}, "branch": {"name": "develop"}},
            }
        },
        endpoint="GET /test",
    )
    assert entry.source_commit == "f33e72b3dcbc"


RAW = (
    "diff --git a/one.py b/one.py\nindex 1111111..2222222 100644\n--- a/one.py\n+++ b/one.py\n"
    "@@ -1 +1 @@\n-a\n+b\n"
    "diff --git a/two.bin b/two.bin\nindex 3333333..4444444 100644\nBinary files a/two.bin and b/two.bin differ\n"
)


def test_fingerprints_move_only_with_their_own_file():
    files, _ = rendering.parse_diff(RAW)
    before = file_fingerprints(RAW, files)
    changed = RAW.replace("+b\n", "+c\n")
    after = file_fingerprints(changed, rendering.parse_diff(changed)[0])
    binary = RAW.replace("4444444", "5555555")
    after_binary = file_fingerprints(binary, rendering.parse_diff(binary)[0])

    assert set(before) == {"one.py", "two.bin"}
    assert after["one.py"] != before["one.py"] and after["two.bin"] == before["two.bin"]
    assert after_binary["two.bin"] != before["two.bin"] and after_binary["one.py"] == before["one.py"]


@pytest.mark.parametrize("junk", ["main", "HEAD~1", "abc", "A" * 40, "a" * 41, "acme/other:" + "a" * 12, "a..b"])
def test_since_must_be_a_commit_hash(junk):
    with pytest.raises(Http404):
        since_from_url(junk)


def test_since_hash_or_nothing():
    assert since_from_url("") == "" and since_from_url(None) == ""
    assert since_from_url("0123abc") == "0123abc"


@responses.activate
def test_client_asks_for_the_plain_two_commit_diff_only_when_told():
    repo = "https://api.example.test/2.0/repositories/acme/web"
    responses.get(f"{repo}/diff/{A}..{B}", body="diff --git a/x b/x\n")
    responses.get(f"{repo}/diffstat/{A}..{B}", json={"values": [], "pagelen": 500})
    client = BitbucketClient(ApiToken("a@example.test", "token"), base_url="https://api.example.test/2.0")

    client.get_diff("acme", "web", f"{A}..{B}")
    client.get_diff("acme", "web", f"{A}..{B}", topic=False)
    list(client.iter_diffstat("acme", "web", f"{A}..{B}", topic=False))

    queries = [parse_qs(urlsplit(call.request.url).query) for call in responses.calls]
    assert "topic" not in queries[0]
    assert queries[1]["topic"] == ["false"] and queries[2]["topic"] == ["false"]
