"""The bbdash site: settings, URLs, the Celery app and the pages."""

from dashboard.celery import app as celery_app

__all__ = ["celery_app"]
