"""Webhook deliveries: payloads built when the event happens (by the emulated API's builder, such as
`cloud.webhook_payloads.payload`), POSTed later by a background thread.

Headers as Bitbucket sends them: `X-Event-Key`, `X-Hook-UUID`, `X-Request-UUID`, `X-Attempt-Number` and, when the
subscription has a secret, `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`. A delivery that fails (connection
error, timeout or a 5xx answer) is tried again, up to three attempts in all. With the `drop_webhooks` control on,
a delivery is logged as dropped and never sent (no attempt, no retry): a delivery Bitbucket lost.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..world.ids import random_uuid
from ..world.objects import Hook, Repository
from ..world.state import World
from .switches import Controls

# (world, event key, repository, actor uuid, **objects) -> the JSON body; the API being emulated decides its shape.
PayloadBuilder = Callable[..., dict]

MAX_ATTEMPTS = 3
TIMEOUT = 10.0


@dataclass
class Delivery:
    hook_uuid: str
    url: str
    event: str
    body: bytes
    secret: str | None
    # Bare uuids in delivery headers (a captured real delivery: `X-Request-Uuid: 07606ab4-...`, no braces).
    request_uuid: str = field(default_factory=lambda: random_uuid().strip("{}"))
    attempts: list[dict] = field(default_factory=list)
    done: bool = False
    dropped: bool = False


class WebhookDispatcher:
    def __init__(
        self,
        world: World,
        payload: PayloadBuilder,
        retry_delays: tuple[float, ...] = (0.2, 1.0),
        controls: Controls | None = None,
    ):
        self.world = world
        self.payload = payload
        self.controls = controls
        self.retry_delays = retry_delays
        self.queue: queue.Queue[Delivery | None] = queue.Queue()
        self.log: list[Delivery] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulator-webhooks", daemon=True)
        self._thread.start()
        world.listeners.append(self.on_event)

    # Called under the world lock, right after the change.
    def on_event(self, event: str, repo: Repository, actor_uuid: str | None, **objects) -> None:
        hooks = self._subscribed(repo, event)
        if not hooks:
            return
        body = json.dumps(self.payload(self.world, event, repo, actor_uuid, **objects)).encode()
        for hook in hooks:
            delivery = Delivery(hook.uuid, hook.url, event, body, hook.secret)
            if self.controls is not None and self.controls.take_webhook_drop(event):
                delivery.dropped = delivery.done = True
                self.log.append(delivery)
                continue
            self.log.append(delivery)
            self.queue.put(delivery)

    def _subscribed(self, repo: Repository, event: str) -> list[Hook]:
        ws = self.world.workspaces.get(repo.workspace_uuid)
        hooks = list(repo.hooks) + (list(ws.hooks) if ws else [])
        return [h for h in hooks if h.active and event in h.events]

    # ---- the sender ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            delivery = self.queue.get()
            if delivery is None or self._stopping.is_set():
                return
            self._deliver(delivery)

    def _deliver(self, d: Delivery) -> None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Bitbucket-Webhooks/2.0",
                "X-Event-Key": d.event,
                "X-Hook-UUID": d.hook_uuid.strip("{}"),
                "X-Request-UUID": d.request_uuid,
                "X-Attempt-Number": str(attempt),
            }
            if d.secret:
                digest = hmac.new(d.secret.encode(), d.body, hashlib.sha256).hexdigest()
                headers["X-Hub-Signature"] = f"sha256={digest}"
            status: int | str
            try:
                status = _post(d.url, d.body, headers)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                status = f"error: {exc.__class__.__name__}"
            d.attempts.append({"attempt": attempt, "status": status, "at": time.time()})
            if isinstance(status, int) and status < 500:
                break
            if attempt < MAX_ATTEMPTS:
                delay = self.retry_delays[min(attempt - 1, len(self.retry_delays) - 1)]
                if self._stopping.wait(delay):
                    break
        d.done = True

    def deliveries(self) -> list[dict]:
        return [
            {
                "hook_uuid": d.hook_uuid,
                "request_uuid": d.request_uuid,
                "event": d.event,
                "url": d.url,
                "attempts": list(d.attempts),
                "done": d.done,
                "dropped": d.dropped,
            }
            for d in list(self.log)
        ]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(d.done for d in list(self.log)):
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        """Stop after the delivery in flight (pending retries are abandoned, as a stopped server would)."""
        self._stopping.set()
        self.queue.put(None)
        self._thread.join(timeout=TIMEOUT)


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST with the header names spelt exactly as Bitbucket spells them (urllib would re-case them), no proxy."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    elif parts.scheme == "http":
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)
    else:
        raise ValueError(f"unsupported webhook URL {url}")
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()
