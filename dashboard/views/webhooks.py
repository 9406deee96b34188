"""Live updates: the public webhook receiver, the delivery log and the live-updates switch of the sync page.

The receiver (`/hooks/bitbucket/<workspace uuid>/`) is public and CSRF-exempt: Bitbucket signs each delivery with the
subscription's secret, and the signature is the only thing that lets one in. It records the delivery and enqueues
the task that applies it, then answers 202 at once (Bitbucket waits 10 s and retries on 5xx).
"""

import json
import logging
import uuid
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync import webhooks
from bitbucket_sync.models import Workspace
from bitbucket_sync.webhooks.tasks import apply_webhook_delivery
from dashboard import selectors
from dashboard.views.access import acts_on_bitbucket, staff_only
from dashboard.views.htmx import HtmxHttpRequest

logger = logging.getLogger(__name__)

DELIVERIES_SHOWN = 50
REFUSED = "Refused: unknown workspace, live updates off, or a missing or wrong signature.\n"


def _receiver_url(workspace: Workspace) -> str:
    base = settings.BBDASH_PUBLIC_URL
    if not base:
        raise webhooks.WebhookError(
            "BBDASH_PUBLIC_URL is not set: Bitbucket needs the address it can reach this site at."
        )
    workspace_uuid = uuid.UUID(workspace.bitbucket_uuid.strip("{}"))
    return base + reverse("webhook_receive", kwargs={"workspace_uuid": workspace_uuid})


def _enqueue(delivery_id: int) -> None:
    try:
        apply_webhook_delivery.delay(delivery_id)
    except Exception:  # the broker is down: the delivery stays queued and the periodic check enqueues it again
        logger.exception("could not enqueue webhook delivery %s", delivery_id)


@login_not_required
@csrf_exempt
@never_cache
@require_POST
def webhook_receive(request: HtmxHttpRequest, workspace_uuid: uuid.UUID) -> HttpResponse:
    try:
        size = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return HttpResponse("A Content-Length is required.\n", status=411, content_type="text/plain")
    # Checked before the body is read, so an oversized delivery costs nothing.
    if size > webhooks.MAX_BODY_BYTES:
        return HttpResponse("Payload too large.\n", status=413, content_type="text/plain")
    body = request.body
    subscription = webhooks.verified_subscription(
        workspace_uuid=f"{{{workspace_uuid}}}", body=body, signature=request.headers.get("X-Hub-Signature")
    )
    if subscription is None:
        # One answer for an unknown workspace, live updates off and a bad signature: the endpoint is public, and
        # telling them apart would say which workspaces exist and which have live updates on.
        return HttpResponse(REFUSED, status=403, content_type="text/plain")
    request_uuid = request.headers.get("X-Request-UUID", "").strip()
    event = request.headers.get("X-Event-Key", "").strip()
    if not request_uuid or not event:
        return HttpResponse("X-Request-UUID and X-Event-Key are required.\n", status=400, content_type="text/plain")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return HttpResponse("The body is not JSON.\n", status=400, content_type="text/plain")
    if not isinstance(payload, dict):
        return HttpResponse("The body is not a JSON object.\n", status=400, content_type="text/plain")
    try:
        attempt = int(request.headers.get("X-Attempt-Number") or 1)
    except ValueError:
        attempt = 1
    with transaction.atomic():
        delivery, created = webhooks.record_delivery(
            subscription=subscription,
            request_uuid=request_uuid,
            hook_uuid=request.headers.get("X-Hook-UUID", ""),
            event=event,
            attempt=attempt,
            payload=payload,
            body_size=len(body),
        )
        if created:
            transaction.on_commit(partial(_enqueue, delivery.pk))
    # 202: accepted, applied in the background. A redelivery was already accepted: 200, nothing done again.
    return HttpResponse(status=202 if created else 200)


def _subscription_context(request: HtmxHttpRequest, workspace: Workspace) -> dict:
    subscription = selectors.webhook_subscription(workspace)
    return {
        "workspace": workspace,
        "subscription": subscription,
        "live": selectors.live_status(request.user, workspace=workspace, subscription=subscription),
        "can_manage": request.user.is_staff,
        "public_url_set": bool(settings.BBDASH_PUBLIC_URL),
    }


@staff_only
@require_GET
def webhook_delivery_list(request: HtmxHttpRequest) -> HttpResponse:
    """Staff: each visible workspace's live-updates state and its latest deliveries (`?workspace=<slug>` for one)."""
    workspaces = selectors.visible_workspaces_by_slug(request.user, slug=request.GET.get("workspace", ""))
    sections = []
    for workspace in workspaces:
        context = _subscription_context(request, workspace)
        context["deliveries"] = selectors.webhook_deliveries(request.user, workspace=workspace, limit=DELIVERIES_SHOWN)
        sections.append(context)
    return render(
        request,
        "webhooks/delivery_list.html",
        {"sections": sections, "log_size": webhooks.log_size(), "shown": DELIVERIES_SHOWN},
    )


@require_GET
@vary_on_headers("HX-Request")
def webhook_subscription_detail(request: HtmxHttpRequest, workspace_slug: str) -> HttpResponse:
    """The live-updates region of one workspace (the sync page loads it with htmx)."""
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    if not request.htmx:
        return redirect(reverse("webhook_delivery_list") + f"?workspace={workspace.slug}")
    return render(request, "webhooks/_live_updates.html#live-updates", _subscription_context(request, workspace))


@staff_only
@acts_on_bitbucket  # turning live updates on or off registers or removes a webhook on Bitbucket
@require_POST
def webhook_subscription_toggle(request: HtmxHttpRequest, workspace_slug: str) -> HttpResponse:
    """Staff: turn live updates on (`enabled=1`: create the workspace webhook) or off (delete it)."""
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    turn_on = request.POST.get("enabled") == "1"
    error = ""
    try:
        if turn_on:
            webhooks.enable_live_updates(workspace=workspace, url=_receiver_url(workspace), actor=request.user)
        else:
            webhooks.disable_live_updates(workspace=workspace, actor=request.user)
    except webhooks.WebhookError as exc:
        error = exc.message
    if request.htmx:
        context = _subscription_context(request, workspace) | {"error": error}
        return render(request, "webhooks/_live_updates.html#live-updates", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Live updates for {workspace.slug} turned {'on' if turn_on else 'off'}.")
    return redirect(reverse("webhook_delivery_list") + f"?workspace={workspace.slug}")
