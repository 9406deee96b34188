"""Data Center webhooks: the admin REST endpoints (reference §8.8), the delivery bodies (§9.3, §9.4) and the sender
(§9.2).

REST: `GET`/`POST {P}/webhooks` and `{R}/webhooks`, `GET`/`PUT`/`DELETE …/webhooks/{id}`, PROJECT_ADMIN or
REPO_ADMIN (else 401). A project's hooks deliver the events of every repository of the project.

Delivery: `POST <url>` with `Content-Type: application/json; charset=utf-8`, `X-Event-Key`, `X-Request-Id` (a uuid
per delivery) and, when the hook has a secret (`configuration.secret`), `X-Hub-Signature: sha256=<hex HMAC-SHA256 of
the body>`. One attempt (Data Center's retry policy is not documented; a failure is only logged). The shared
`drop_webhooks` control loses a delivery as it does Cloud's. The body is built when the event happens, so it shows
the site as it was then.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Response

from ..controls.delivery import Delivery, DeliverySender
from ..controls.switches import Controls
from ..world.datacenter import (
    DC_HOOK_EVENTS,
    DataCenterSite,
    DcComment,
    DcError,
    DcParticipant,
    DcPullRequest,
    DcRepository,
    DcWebhook,
)
from ..world.state import World
from . import serialize as s
from .app import Ctx, page

ADMIN = 3


# ---- REST (reference §8.8) -------------------------------------------------------------------------------------
def _methods(*names: str):
    """The HTTP methods a route answers (the app reads `handler.methods`; GET only without it)."""

    def mark(handler):
        handler.methods = list(names)
        return handler

    return mark


def serialize(world: World, site: DataCenterSite, hook: DcWebhook) -> dict:
    """`RestWebhook` as servers send it, with `id` and the dates the spec leaves out [REC:webhooks_page.json]; the
    secret is never sent back."""
    configuration = {k: v for k, v in hook.configuration.items() if k != "secret"}
    return {
        "id": hook.id,
        "name": hook.name,
        "createdDate": s.ms(hook.created),
        "updatedDate": s.ms(hook.updated),
        "events": list(hook.events),
        "configuration": configuration,
        "url": hook.url,
        "active": hook.active,
        "scopeType": hook.scope_type,
        "sslVerificationRequired": hook.ssl_verification_required,
    }


def _bad(message: str, context: str | None = None) -> DcError:
    return DcError(400, message, None, context=context)


def _body(ctx: Ctx) -> dict:
    data = ctx.request.get_json(silent=True)
    if not isinstance(data, dict):
        raise _bad("The request body must be a JSON object describing the webhook.")
    return data


def _validated(data: dict) -> dict:
    """The fields of a create or full replace (PUT), checked as Data Center checks them."""
    url = data.get("url")
    if not isinstance(url, str) or not url.strip():
        raise _bad("No URL was specified", "url")
    if urlsplit(url.strip()).scheme not in ("http", "https"):
        raise _bad("The URL must be an absolute http or https URL", "url")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _bad("A name must be provided for the webhook", "name")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise _bad("At least one event must be provided", "events")
    for event in events:
        if not isinstance(event, str) or event not in DC_HOOK_EVENTS:
            raise _bad(f"the event {event} is unknown", "events")
    configuration = data.get("configuration") or {}
    if not isinstance(configuration, dict) or not all(isinstance(v, str) for v in configuration.values()):
        raise _bad("configuration must be an object of strings", "configuration")
    active = data.get("active", True)
    ssl = data.get("sslVerificationRequired", True)
    if not isinstance(active, bool) or not isinstance(ssl, bool):
        raise _bad("active and sslVerificationRequired must be booleans")
    return {
        "name": name.strip(),
        "url": url.strip(),
        "events": list(dict.fromkeys(events)),
        "active": active,
        "configuration": dict(configuration),
        "ssl_verification_required": ssl,
    }


def _list_or_create(ctx: Ctx, project_key: str, repo_slug: str | None) -> Any:
    site = ctx.site
    if ctx.request.method == "POST":
        fields = _validated(_body(ctx))
        now = ctx.world.now()
        hook = DcWebhook(
            id=0,
            scope_type="repository" if repo_slug else "project",
            project_key=project_key,
            repo_slug=repo_slug,
            created=now,
            updated=now,
            **fields,
        )
        site.add_webhook(hook)
        ctx.world.version += 1
        return serialize(ctx.world, site, hook)
    hooks = site.webhooks_of(project_key, repo_slug)
    event = ctx.args.get("event")
    if event:
        hooks = [h for h in hooks if event in h.events]
    return page(ctx.request, hooks, lambda h: serialize(ctx.world, site, h))


def _one(ctx: Ctx, project_key: str, repo_slug: str | None, webhook_id: int) -> Any:
    site = ctx.site
    hook = site.webhook(project_key, repo_slug, webhook_id)
    if ctx.request.method == "DELETE":
        del site.webhooks[hook.id]
        ctx.world.version += 1
        return Response(b"", status=204)
    if ctx.request.method == "PUT":  # a full replace (reference §8.8)
        for name, value in _validated(_body(ctx)).items():
            setattr(hook, name, value)
        hook.updated = ctx.world.now()
        ctx.world.version += 1
    return serialize(ctx.world, site, hook)


@_methods("GET", "POST")
def project_webhooks(ctx: Ctx, project_key: str) -> Any:
    project = ctx.project(project_key, ADMIN)
    return _list_or_create(ctx, project.key, None)


@_methods("GET", "PUT", "DELETE")
def project_webhook(ctx: Ctx, project_key: str, webhook_id: int) -> Any:
    project = ctx.project(project_key, ADMIN)
    return _one(ctx, project.key, None, webhook_id)


@_methods("GET", "POST")
def repo_webhooks(ctx: Ctx, project_key: str, repo_slug: str) -> Any:
    repo = ctx.repo(project_key, repo_slug, ADMIN)
    return _list_or_create(ctx, repo.project_key, repo.slug)


@_methods("GET", "PUT", "DELETE")
def repo_webhook(ctx: Ctx, project_key: str, repo_slug: str, webhook_id: int) -> Any:
    repo = ctx.repo(project_key, repo_slug, ADMIN)
    return _one(ctx, repo.project_key, repo.slug, webhook_id)


# ---- delivery bodies (reference §9.3, §9.4) --------------------------------------------------------------------
def _date(value: datetime) -> str:
    """The envelope's `date`: ISO-8601 with a `±hhmm` offset, no colon (`2017-09-19T09:45:32+1000`)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")


def _iso(value: Any) -> Any:
    """An epoch-ms date as DC 10.3 writes them in webhook bodies (`2018-09-21T14:09:51.000Z`)."""
    if not isinstance(value, int):
        return value
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value % 1000:03d}Z"


def _pull_request(world: World, site: DataCenterSite, repo: DcRepository, pr: DcPullRequest, event: str) -> dict:
    # Merged bodies carry `properties.mergeCommit` [REC:webhook_pr_merged.json]; the others no properties.
    out = s.pull_request(world, site, repo, pr, with_properties=event == "pr:merged")
    if site.webhook_dates == "10.x":
        for name in ("createdDate", "updatedDate", "closedDate"):
            if name in out:
                out[name] = _iso(out[name])
    return out


def _ref(branch: str, latest: str | None = None) -> dict:
    out: dict[str, Any] = {"id": f"refs/heads/{branch}", "displayId": branch, "type": "BRANCH"}
    if latest is not None:
        out["latestCommit"] = latest
    return out


def payload(world: World, site: DataCenterSite, event: str, repo: DcRepository, actor_slug: str | None, **o) -> dict:
    """The body of `event` (built under the world lock, right after the change)."""
    body: dict[str, Any] = {"eventKey": event, "date": _date(world.now())}
    if actor_slug is not None:
        body["actor"] = s.user(world, site, site.users[actor_slug])
    if event == "repo:refs_changed":
        body["repository"] = s.repository(world, site, repo)
        body["changes"] = [
            {
                "ref": _ref(c["ref"]),
                "refId": f"refs/heads/{c['ref']}",
                "fromHash": c["from"],
                "toHash": c["to"],
                "type": c["type"],
            }
            for c in o["changes"]
        ]
        return body
    pr: DcPullRequest = o["pull_request"]
    body["pullRequest"] = _pull_request(world, site, repo, pr, event)
    if event == "pr:modified":
        previous = o["previous"]
        body["previousTitle"] = previous["title"]
        body["previousDescription"] = previous["description"]
        body["previousTarget"] = _ref(previous["target"]["branch"], previous["target"]["hash"])
    elif event == "pr:from_ref_updated":
        body["previousFromHash"] = o["previous_from_hash"]
    elif event.startswith("pr:reviewer:"):
        participant: DcParticipant = o["participant"]
        body["participant"] = s.participant(world, site, participant)
        body["previousStatus"] = o["previous_status"]
    elif event == "pr:comment:added":
        comment: DcComment = o["comment"]
        body["comment"] = s.comment(world, site, repo, comment, None)
        if o.get("parent_id") is not None:
            body["commentParentId"] = o["parent_id"]
    return body


# ---- the sender (reference §9.2) -------------------------------------------------------------------------------
@dataclass(kw_only=True)
class DcDelivery(Delivery):
    hook_id: int
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def ids(self) -> dict[str, Any]:
        return {"hook_id": self.hook_id, "request_id": self.request_id}

    def shown(self) -> dict[str, Any]:
        return {"body": json.loads(self.body)}


class DcWebhookDispatcher(DeliverySender[DcDelivery]):
    """Listens to the world's Data Center site (and to the site that replaces it on reset: `World.replace_with`
    hands the listeners over) and POSTs each subscribed event from a background thread."""

    def __init__(self, world: World, controls: Controls | None = None):
        super().__init__("emulator-dc-webhooks", controls)
        self.world = world
        if world.datacenter is not None:
            world.datacenter.listeners.append(self.on_event)

    # Called under the world lock, right after the change.
    def on_event(self, event: str, repo: DcRepository, actor_slug: str | None, **objects) -> None:
        site = self.world.datacenter
        if site is None:
            return
        hooks = site.subscribed(repo, event)
        if not hooks:
            return
        body = json.dumps(payload(self.world, site, event, repo, actor_slug, **objects)).encode()
        for hook in hooks:
            self.send(DcDelivery(hook_id=hook.id, url=hook.url, event=event, body=body, secret=hook.secret))

    def headers(self, delivery: DcDelivery, attempt: int) -> dict[str, str]:
        site = self.world.datacenter
        version = site.version if site is not None else "10.0.1"
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"Atlassian HttpClient 4.2.0 / Bitbucket-{version} / Default",
            "X-Event-Key": delivery.event,
            "X-Request-Id": delivery.request_id,
        }

    def stop(self) -> None:
        """Stop listening and sending after the delivery in flight."""
        site = self.world.datacenter
        if site is not None and self.on_event in site.listeners:
            site.listeners.remove(self.on_event)
        super().stop()
