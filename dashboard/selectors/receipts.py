"""The receipts of action forms: what a repeated submit answers, and which merge a status poll may follow."""

from __future__ import annotations

from bitbucket_sync.models import ActionReceipt, PullRequest


def completed_receipt(user, *, key: str, action: str) -> ActionReceipt | None:
    """The receipt of `user`'s earlier submit of this form (`key`) that already acted, else None."""
    return ActionReceipt.objects.filter(key=key, user=user, action=action).exclude(result_url="").first()


def merge_receipt(user, *, key: str, pull_request: PullRequest) -> ActionReceipt | None:
    """`user`'s merge of this very pull request under `key`: another's key would poll that merge and write its outcome
    here."""
    return ActionReceipt.objects.filter(
        key=key, user=user, action="pull_request.merge", pull_request=pull_request
    ).first()
