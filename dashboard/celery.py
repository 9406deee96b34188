"""The Celery app, configured from Django settings (every CELERY_* setting) and finding tasks in installed apps."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("bbdash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def refuse_without_encryption_keys(**kwargs) -> None:
    """A worker without credential keys could not read any credential: stop it at start with the reason."""
    # Imported here: this module loads with the `dashboard` package, before the settings it would read exist.
    from bitbucket_sync.credentials.encryption import key_problem

    problem = key_problem()
    if problem:
        # Celery logs and swallows Exceptions raised by signal handlers; SystemExit is not one, so the worker stops.
        raise SystemExit(problem)
