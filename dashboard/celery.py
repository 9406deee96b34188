"""The Celery app, configured from Django settings (every CELERY_* setting) and finding tasks in installed apps."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("bbdash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
