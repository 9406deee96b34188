"""Re-encrypt every stored secret under the newest key of BBDASH_ENCRYPTION_KEYS.

Key rotation: put a new key first in BBDASH_ENCRYPTION_KEYS (keep the old ones after it), restart, run this command,
then remove the old keys. All or nothing: if any secret cannot be decrypted, nothing is changed and the command says
which credential it was.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bitbucket_sync.credentials.encryption import SecretUnreadable
from bitbucket_sync.credentials.rotation import rotate_keys


class Command(BaseCommand):
    help = "Re-encrypt every stored Bitbucket secret under the newest encryption key."

    def handle(self, *args, **options):
        try:
            rotated = rotate_keys(actor=None)
        except SecretUnreadable as error:
            raise CommandError(f"rotation stopped, nothing changed: {error}") from None
        keys = len(settings.BBDASH_ENCRYPTION_KEYS)
        self.stdout.write(self.style.SUCCESS(f"{rotated} secret(s) re-encrypted under the newest of {keys} key(s)."))
        if keys > 1:
            self.stdout.write("The older keys can now be removed from BBDASH_ENCRYPTION_KEYS.")
