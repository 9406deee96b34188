"""Webhook deliveries: payloads built when the event happens (by the emulated API's builder, such as
`cloud.webhook_payloads.payload`), POSTed later by a background thread.

Headers as Bitbucket sends them: `X-Event-Key`, `X-Hook-UUID`, `X-Request-UUID`, `X-Attempt-Number` and, when the
subscription has a secret, `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`. A delivery that fails (connection
error, timeout or a 5xx answer) is tried again, up to three attempts in all. With the `drop_webhooks` control on,
a delivery is logged as dropped and never sent (no attempt, no retry): a delivery Bitbucket lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..world.ids import random_uuid
from ..world.objects import Hook, Repository
from ..world.state import World
from .delivery import Delivery as BaseDelivery
from .delivery import DeliverySender
from .switches import Controls

# (world, event key, repository, actor uuid, **objects) -> the JSON body; the API being emulated decides its shape.
PayloadBuilder = Callable[..., dict]

MAX_ATTEMPTS = 3


@dataclass(kw_only=True)
class Delivery(BaseDelivery):
    hook_uuid: str
    # Bare uuids in delivery headers (a captured real delivery: `X-Request-Uuid: 07606ab4-...`, no braces).
    request_uuid: str = field(default_factory=lambda: random_uuid().strip("{}"))

    def ids(self) -> dict[str, Any]:
        return {"hook_uuid": self.hook_uuid, "request_uuid": self.request_uuid}


class WebhookDispatcher(DeliverySender[Delivery]):
    max_attempts = MAX_ATTEMPTS

    def __init__(
        self,
        world: World,
        payload: PayloadBuilder,
        retry_delays: tuple[float, ...] = (0.2, 1.0),
        controls: Controls | None = None,
    ):
        super().__init__("emulator-webhooks", controls, retry_delays)
        self.world = world
        self.payload = payload
        world.listeners.append(self.on_event)

    # Called under the world lock, right after the change.
    def on_event(self, event: str, repo: Repository, actor_uuid: str | None, **objects) -> None:
        hooks = self._subscribed(repo, event)
        if not hooks:
            return
        body = json.dumps(self.payload(self.world, event, repo, actor_uuid, **objects)).encode()
        for hook in hooks:
            self.send(Delivery(hook_uuid=hook.uuid, url=hook.url, event=event, body=body, secret=hook.secret))

    def _subscribed(self, repo: Repository, event: str) -> list[Hook]:
        ws = self.world.workspaces.get(repo.workspace_uuid)
        hooks = list(repo.hooks) + (list(ws.hooks) if ws else [])
        return [h for h in hooks if h.active and event in h.events]

    def headers(self, delivery: Delivery, attempt: int) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": "Bitbucket-Webhooks/2.0",
            "X-Event-Key": delivery.event,
            "X-Hook-UUID": delivery.hook_uuid.strip("{}"),
            "X-Request-UUID": delivery.request_uuid,
            "X-Attempt-Number": str(attempt),
        }
