"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from bitbucket_sync.credentials.encryption import require_keys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

application = get_wsgi_application()

# Refuse to serve without credential encryption keys (gunicorn does not run Django's system checks).
require_keys()
