"""Thin Celery tasks for live updates: ids in, a service call, retries on Bitbucket's back-off.

Imported by `bitbucket_sync.tasks` so Celery's autodiscovery (which looks for each app's `tasks` module) registers
them in every worker.
"""

from celery import shared_task

from bitbucket_sync.client import RateLimited, Unavailable
from bitbucket_sync.models import WebhookSubscription
from bitbucket_sync.webhooks import applying, receiving, subscriptions


@shared_task(bind=True, acks_late=True, max_retries=6, soft_time_limit=60, time_limit=90)  # one PR or a few branches
def apply_webhook_delivery(self, delivery_id: int) -> None:
    """Apply one recorded delivery to the mirror (Bitbucket is asked only for a condensed PR, read in full, or a
    branch a push did not move from the mirror's tip: one request each)."""
    try:
        applying.apply_delivery(delivery_id=delivery_id)
    except RateLimited as exc:
        raise self.retry(exc=exc, countdown=exc.retry_after or 60) from None
    except Unavailable as exc:
        raise self.retry(exc=exc, countdown=min(300, 10 * 2**self.request.retries)) from None


@shared_task(bind=True, acks_late=True, max_retries=3, soft_time_limit=60, time_limit=90)  # one listing, maybe a create
def check_webhook_subscription(self, subscription_id: int) -> None:
    """Confirm one workspace's webhook on Bitbucket and re-create it if Bitbucket lost it."""
    try:
        subscriptions.check_subscription(subscription_id=subscription_id)
    except RateLimited as exc:
        raise self.retry(exc=exc, countdown=exc.retry_after or 300) from None
    except Unavailable as exc:
        raise self.retry(exc=exc, countdown=60) from None


@shared_task(acks_late=True, soft_time_limit=30, time_limit=60)  # only enqueues
def check_webhook_subscriptions() -> int:
    """Beat: one check per workspace with live updates on, and deliveries whose apply task never ran (the broker
    was down when they arrived) sent again."""
    ids = list(WebhookSubscription.objects.filter(enabled=True).values_list("pk", flat=True))
    for subscription_id in ids:
        check_webhook_subscription.delay(subscription_id)
    for delivery_id in receiving.stale_deliveries():
        apply_webhook_delivery.delay(delivery_id)
    return len(ids)
