from django.apps import AppConfig
from django.core import checks


class BitbucketSyncConfig(AppConfig):
    name = "bitbucket_sync"
    verbose_name = "Bitbucket mirror"

    def ready(self) -> None:
        from bitbucket_sync.credentials.encryption import check_keys

        checks.register(check_keys, checks.Tags.security)
