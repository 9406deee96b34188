"""Key rotation: every stored secret re-encrypted under the newest key, so the older keys can be removed."""

from django.conf import settings
from django.db import transaction

from bitbucket_sync import audit
from bitbucket_sync.credentials import encryption
from bitbucket_sync.models import AuditEvent, Credential, WebhookSubscription


def rotate_keys(*, actor=None) -> int:
    """Re-encrypt every stored secret under the newest key, all or nothing; the older keys can then be removed.
    Raises `encryption.SecretUnreadable` (nothing changed, a failure audited) when a secret cannot be decrypted."""
    rotated = 0
    keys = len(settings.BBDASH_ENCRYPTION_KEYS)
    try:
        with transaction.atomic():
            for credential in Credential.objects.select_for_update().exclude(secret_encrypted="").order_by("pk"):
                try:
                    credential.secret_encrypted = encryption.rotate(credential.secret_encrypted)
                except encryption.SecretUnreadable as error:
                    raise encryption.SecretUnreadable(
                        f"credential {credential.pk} (of user {credential.owner_id}): {error}"
                    ) from None
                credential.save(update_fields=["secret_encrypted"])
                rotated += 1
            # Webhook secrets (live updates) are stored under the same keys.
            for subscription in WebhookSubscription.objects.select_for_update().exclude(secret_encrypted=""):
                try:
                    subscription.secret_encrypted = encryption.rotate(subscription.secret_encrypted)
                except encryption.SecretUnreadable as error:
                    raise encryption.SecretUnreadable(
                        f"webhook secret of workspace {subscription.workspace_id}: {error}"
                    ) from None
                subscription.save(update_fields=["secret_encrypted"])
                rotated += 1
    except encryption.SecretUnreadable as error:
        audit.record(
            actor=actor,
            action="credential.rotate",
            result=AuditEvent.Result.FAILURE,
            message=f"key rotation stopped, nothing changed: {error}",
            details={"keys_configured": keys},
        )
        raise
    audit.record(
        actor=actor,
        action="credential.rotate",
        result=AuditEvent.Result.SUCCESS,
        message=f"{rotated} secret(s) re-encrypted under the newest of {keys} key(s)",
        details={"rotated": rotated, "keys_configured": keys},
    )
    return rotated
