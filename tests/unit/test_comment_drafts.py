"""The comment draft store: one text per user, pull request and comment box; blank text forgets it; bounded in size
and number; pruned once nobody typed in it for a month."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bitbucket_sync import drafts, retention
from bitbucket_sync.models import CommentDraft
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def pr(personas):
    return f.pull_request(personas.repositories["api"], author=personas.accounts["alice"])


def test_save_then_read_back_and_overwrite(personas, pr, bob):
    drafts.save_draft(bob, pr, "general", "First words")
    drafts.save_draft(bob, pr, "general", "Second words")

    assert drafts.draft_text(bob, pr, "general") == "Second words"
    assert CommentDraft.objects.filter(user=bob, pull_request=pr).count() == 1


def test_drafts_are_per_box_user_and_pull_request(personas, pr, bob, carol):
    other = f.pull_request(personas.repositories["api"], author=personas.accounts["alice"])
    drafts.save_draft(bob, pr, "general", "bob here")
    drafts.save_draft(bob, pr, "reply-7", "bob's reply")
    drafts.save_draft(carol, pr, "general", "carol here")

    assert drafts.draft_text(bob, pr, "general") == "bob here"
    assert drafts.draft_text(bob, pr, "reply-7") == "bob's reply"
    assert drafts.draft_text(carol, pr, "general") == "carol here"
    assert drafts.draft_text(bob, other, "general") == ""


def test_blank_text_and_discard_forget_the_draft(pr, bob):
    drafts.save_draft(bob, pr, "general", "words")
    assert drafts.save_draft(bob, pr, "general", "  \n ") is None
    assert not CommentDraft.objects.exists()

    drafts.save_draft(bob, pr, "review-summary", "summary")
    drafts.discard_draft(bob, pr, "review-summary")
    assert drafts.draft_text(bob, pr, "review-summary") == ""


def test_text_is_kept_exactly_as_typed(pr, bob):
    text = "  indented\n\n<b>not html</b>\t\n"
    drafts.save_draft(bob, pr, "general", text)
    assert drafts.draft_text(bob, pr, "general") == text


@pytest.mark.parametrize("key", ["", "has space", "line\nbreak", "x" * 201, 'quote"', "<script>"])
def test_a_key_that_names_no_box_is_refused(pr, bob, key):
    with pytest.raises(drafts.DraftRefused):
        drafts.save_draft(bob, pr, key, "words")
    assert drafts.draft_text(bob, pr, key) == ""


def test_too_long_and_too_many_are_refused(pr, bob, monkeypatch):
    with pytest.raises(drafts.DraftRefused, match="characters"):
        drafts.save_draft(bob, pr, "general", "x" * (drafts.MAX_CHARS + 1))
    monkeypatch.setattr(drafts, "MAX_PER_PULL_REQUEST", 2)
    drafts.save_draft(bob, pr, "a", "1")
    drafts.save_draft(bob, pr, "b", "2")
    drafts.save_draft(bob, pr, "b", "2 again")  # an existing box may always be saved again
    with pytest.raises(drafts.DraftRefused, match="unsent drafts"):
        drafts.save_draft(bob, pr, "c", "3")


def test_prune_deletes_drafts_untouched_for_a_month_only(pr, bob, carol):
    old = drafts.save_draft(bob, pr, "general", "forgotten")
    recent = drafts.save_draft(carol, pr, "general", "still typing")
    assert old is not None and recent is not None
    CommentDraft.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=retention.DRAFT_DAYS + 1))
    CommentDraft.objects.filter(pk=recent.pk).update(
        updated_at=timezone.now() - timedelta(days=retention.DRAFT_DAYS - 1)
    )

    assert retention.prune_history()["comment_drafts"] == 1
    assert list(CommentDraft.objects.values_list("pk", flat=True)) == [recent.pk]
    assert retention.prune_comment_drafts() == 0  # idempotent


def test_saving_again_keeps_a_draft_from_being_pruned(pr, bob):
    draft = drafts.save_draft(bob, pr, "general", "v1")
    assert draft is not None
    CommentDraft.objects.filter(pk=draft.pk).update(
        updated_at=timezone.now() - timedelta(days=retention.DRAFT_DAYS + 1)
    )
    drafts.save_draft(bob, pr, "general", "v2")
    assert retention.prune_comment_drafts() == 0
