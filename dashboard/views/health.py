"""The health page: is the database reachable, is the broker reachable. JSON for load balancers and humans.

Everyone gets the verdict (`{"status": "ok"}` with 200, `"unavailable"` with 503); only staff see the details, since
the database vendor, the broker transport and the exception names describe the deployment to whoever asks.
"""

import time

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard.celery import app as celery_app
from dashboard.views.access import is_staff
from dashboard.views.htmx import HtmxHttpRequest


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not reachable"; the class name says which
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict:
    started = time.monotonic()
    transport = celery_app.conf.broker_url.split("://", 1)[0]
    try:
        with celery_app.connection_for_write() as conn:
            # One attempt with a short timeout: a health check must answer quickly even when the broker is down.
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return {"ok": False, "transport": transport, "error": type(exc).__name__}
    return {"ok": True, "transport": transport, "ms": round((time.monotonic() - started) * 1000, 1)}


@login_not_required
@never_cache
@require_GET
def health(request: HtmxHttpRequest) -> HttpResponse:
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(check["ok"] for check in checks.values())
    body: dict[str, object] = {"status": "ok" if healthy else "unavailable"}
    if is_staff(request.user):
        body |= checks
    return JsonResponse(body, status=200 if healthy else 503)
