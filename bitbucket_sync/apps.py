from django.apps import AppConfig


class BitbucketSyncConfig(AppConfig):
    name = "bitbucket_sync"
    verbose_name = "Bitbucket mirror"
