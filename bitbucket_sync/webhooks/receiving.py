"""Receiving deliveries: the signature check, recording each delivery once per request id (Cloud's `X-Request-UUID`,
Data Center's `X-Request-Id`), and the delivery log (pruned to `BBDASH_WEBHOOK_LOG_SIZE`; deliveries whose apply
task was lost are found again)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from bitbucket_sync import sites
from bitbucket_sync.credentials import encryption
from bitbucket_sync.models import WebhookDelivery, WebhookSubscription
from bitbucket_sync.webhooks.health import note_gap

logger = logging.getLogger(__name__)


# Bitbucket may silently drop payloads over 256 KB; twice that is room enough and refuses anything abusive.
MAX_BODY_BYTES = 512 * 1024


def log_size() -> int:
    return int(getattr(settings, "BBDASH_WEBHOOK_LOG_SIZE", 500))


def sign(*, secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value Bitbucket sends for `body` under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(*, secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the HMAC-SHA256 of the raw `body` under `secret` (compared in constant time)."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret=secret, body=body).encode(), header.strip().encode("utf-8", "replace"))


# Checked against when the workspace is unknown, live updates are off or the secret cannot be read, so every refusal
# costs the same query, decryption and HMAC as a wrong signature. Random per process: nothing can be signed with it.
_DUMMY_SECRET = secrets.token_urlsafe(32)


@cache
def _dummy_token(keys: tuple[str, ...]) -> str:
    """The dummy secret encrypted under `keys` (the cache key: a rotation encrypts it again)."""
    return encryption.encrypt(_DUMMY_SECRET)


def verified_subscription(
    *, workspace_uuid: str = "", handle: str = "", body: bytes, signature: str | None, site: str = "cloud"
) -> WebhookSubscription | None:
    """The enabled subscription of the workspace `workspace_uuid` (with braces; Cloud) or `handle` (its slug, the
    dashboard's handle; Data Center) when `signature` is its secret's HMAC of `body`, else None. The workspace must
    be of the `site` kind the delivery came in as (``cloud`` or ``datacenter``): a delivery never reaches a
    workspace of another site. An unknown workspace, one of another site, live updates off, an unreadable secret
    and a wrong signature take the same steps, so neither the receiver's answer nor its timing tells them apart."""
    candidates = (
        WebhookSubscription.objects.select_related("workspace").filter(enabled=True).exclude(secret_encrypted="")
    )
    if handle:
        candidates = candidates.filter(workspace__slug=handle)
    else:
        candidates = candidates.filter(workspace__bitbucket_uuid__iexact=workspace_uuid or "-")
    subscription = candidates.first()
    if subscription is not None and sites.site_kind(subscription.workspace.api_url) != site:
        subscription = None
    token = (
        subscription.secret_encrypted
        if subscription is not None
        else _dummy_token(tuple(settings.BBDASH_ENCRYPTION_KEYS))
    )
    try:
        secret = encryption.decrypt(token)
    except encryption.SecretUnreadable:
        logger.error(
            "the webhook secret of workspace %s cannot be decrypted; turn live updates off and on",
            workspace_uuid or handle,
        )
        subscription, secret = None, _DUMMY_SECRET
    if not verify_signature(secret=secret, body=body, header=signature):
        return None
    return subscription


def _repository_name(payload: dict) -> str:
    """`workspace/slug` of the repository a delivery names: Cloud's `repository.full_name`, or Data Center's
    `KEY/slug` from `repository` (a push) or the pull request's target repository."""
    repository = payload.get("repository")
    if not isinstance(repository, dict):
        pull_request = payload.get("pullRequest")
        to_ref = pull_request.get("toRef") if isinstance(pull_request, dict) else None
        repository = to_ref.get("repository") if isinstance(to_ref, dict) else None
    if not isinstance(repository, dict):
        return ""
    if isinstance(repository.get("full_name"), str):
        return repository["full_name"]
    project = repository.get("project")
    key = project.get("key") if isinstance(project, dict) else None
    slug = repository.get("slug")
    return f"{key}/{slug}" if isinstance(key, str) and isinstance(slug, str) else ""


def record_delivery(
    *,
    subscription: WebhookSubscription,
    request_uuid: str,
    event: str,
    payload: dict,
    hook_uuid: str = "",
    attempt: int = 1,
    body_size: int = 0,
) -> tuple[WebhookDelivery, bool]:
    """Record a verified delivery once: `(delivery, True)` the first time, `(delivery, False)` for a redelivery of
    the same `X-Request-UUID` (counted, not recorded or applied again)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                workspace_id=subscription.workspace_id,
                request_uuid=request_uuid[:64],
                hook_uuid=hook_uuid[:64],
                event=event[:64],
                attempt=max(1, min(attempt, 1000)),
                received_at=now,
                repository_full_name=_repository_name(payload)[:511],
                body_size=body_size,
                payload=payload,
            )
    except IntegrityError:
        WebhookDelivery.objects.filter(workspace_id=subscription.workspace_id, request_uuid=request_uuid).update(
            redeliveries=F("redeliveries") + 1
        )
        existing = WebhookDelivery.objects.get(workspace_id=subscription.workspace_id, request_uuid=request_uuid)
        return existing, False
    WebhookSubscription.objects.filter(pk=subscription.pk).update(last_delivery_at=now)
    if delivery.attempt > 1:
        # Bitbucket retries only after failed attempts: while we could not answer, other events may have run out of
        # attempts and are lost.
        note_gap(subscription, f"Bitbucket had to retry a delivery (attempt {delivery.attempt})")
    return delivery, True


def prune_deliveries(*, workspace_id: int, keep: int | None = None) -> int:
    """Keep the newest `keep` deliveries of a workspace (BBDASH_WEBHOOK_LOG_SIZE)."""
    keep = log_size() if keep is None else keep
    cutoff = (
        WebhookDelivery.objects.filter(workspace_id=workspace_id)
        .order_by("-received_at", "-id")
        .values_list("received_at", "id")[keep : keep + 1]
    )
    row = list(cutoff)
    if not row:
        return 0
    received_at, pk = row[0]
    deleted, _ = (
        WebhookDelivery.objects.filter(workspace_id=workspace_id)
        .filter(received_at__lte=received_at)
        .exclude(received_at=received_at, id__gt=pk)
        .delete()
    )
    return deleted


def stale_deliveries(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Deliveries still queued well after they arrived: their apply task was lost (the broker was down)."""
    cutoff = timezone.now() - older_than
    queued = WebhookDelivery.objects.filter(result=WebhookDelivery.Result.QUEUED, received_at__lt=cutoff)
    return list(queued.values_list("pk", flat=True)[:1000])
