"""Idempotency keys for action forms: the first submit acts, a repeat gets the first submit's result.

A form renders a fresh key; ``claim`` inserts it before the action runs (the unique constraint is the lock, so two
simultaneous submits cannot both act). On success the result URL is stored; on failure the claim is released so the
same form, corrected, can be sent again.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from bitbucket_sync.models import ActionReceipt, PullRequest


def new_key() -> str:
    return uuid.uuid4().hex


def claim(*, user, key: str, action: str, pull_request: PullRequest | None = None) -> tuple[ActionReceipt, bool]:
    """``(receipt, True)`` when this submit may act; ``(earlier receipt, False)`` when the key was used before.
    ``pull_request`` is what the action is on, for actions whose receipt is looked up again (a running merge)."""
    key = (key or "").strip()[:64] or new_key()
    try:
        with transaction.atomic():
            receipt = ActionReceipt.objects.create(key=key, user=user, action=action, pull_request=pull_request)
            return receipt, True
    except IntegrityError:
        earlier = ActionReceipt.objects.filter(key=key).first()
        if earlier is None:  # released between our insert and this read: act now
            return claim(user=user, key=key, action=action, pull_request=pull_request)
        return earlier, False


def complete(receipt: ActionReceipt, *, result_url: str, task_url: str = "") -> None:
    receipt.result_url = result_url
    receipt.task_url = task_url
    receipt.save(update_fields=["result_url", "task_url"])


def release(receipt: ActionReceipt) -> None:
    ActionReceipt.objects.filter(pk=receipt.pk).delete()
