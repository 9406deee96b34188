"""What Cloud's and Data Center's webhook senders share: a log of deliveries, a background thread POSTing them from
a queue, the attempts (retried after a connection error, a timeout or a 5xx answer, up to the sender's
`max_attempts`), the `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>` of a hook with a secret, and the
`drop_webhooks` control (a dropped delivery is logged and never sent). Each sender keeps what is its own: the
delivery's identifiers, the headers, the body and how events reach it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import queue
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .switches import Controls

TIMEOUT = 10.0


@dataclass(kw_only=True)
class Delivery:
    url: str
    event: str
    body: bytes
    secret: str | None
    attempts: list[dict] = field(default_factory=list)
    done: bool = False
    dropped: bool = False

    def ids(self) -> dict[str, Any]:
        """The identifiers the log shows first (the hook's and the delivery's)."""
        return {}

    def shown(self) -> dict[str, Any]:
        """What the log shows between the URL and the attempts."""
        return {}

    def entry(self) -> dict[str, Any]:
        return {
            **self.ids(),
            "event": self.event,
            "url": self.url,
            **self.shown(),
            "attempts": list(self.attempts),
            "done": self.done,
            "dropped": self.dropped,
        }


class DeliverySender[D: Delivery]:
    """Sends each delivery handed to `send` from a background thread, `max_attempts` times at the most, waiting
    `retry_delays[n - 1]` (the last one when they run out) before attempt n + 1."""

    max_attempts = 1

    def __init__(self, thread_name: str, controls: Controls | None, retry_delays: tuple[float, ...] = ()):
        self.controls = controls
        self.retry_delays = retry_delays
        self.queue: queue.Queue[D | None] = queue.Queue()
        self.log: list[D] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._thread.start()

    def headers(self, delivery: D, attempt: int) -> dict[str, str]:
        """The headers of one attempt, the signature aside."""
        raise NotImplementedError

    def send(self, delivery: D) -> None:
        """Log the delivery and queue it, or (with the `drop_webhooks` control) log it as dropped."""
        if self.controls is not None and self.controls.take_webhook_drop(delivery.event):
            delivery.dropped = delivery.done = True
            self.log.append(delivery)
            return
        self.log.append(delivery)
        self.queue.put(delivery)

    def _run(self) -> None:
        while True:
            delivery = self.queue.get()
            if delivery is None or self._stopping.is_set():
                return
            self._deliver(delivery)

    def _deliver(self, d: D) -> None:
        for attempt in range(1, self.max_attempts + 1):
            headers = self.headers(d, attempt)
            if d.secret:
                digest = hmac.new(d.secret.encode(), d.body, hashlib.sha256).hexdigest()
                headers["X-Hub-Signature"] = f"sha256={digest}"
            status: int | str
            try:
                status = post(d.url, d.body, headers)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                status = f"error: {exc.__class__.__name__}"
            d.attempts.append({"attempt": attempt, "status": status, "at": time.time()})
            if isinstance(status, int) and status < 500:
                break
            if attempt < self.max_attempts:
                delay = self.retry_delays[min(attempt - 1, len(self.retry_delays) - 1)]
                if self._stopping.wait(delay):
                    break
        d.done = True

    def deliveries(self) -> list[dict]:
        return [d.entry() for d in list(self.log)]

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


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
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
