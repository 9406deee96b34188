"""Switchable behaviour for tests and benchmarks: request accounting, latency, rate limits, faults and dropped
webhook deliveries.

All of it is off by default; the `/_emulator/` HTTP API (see the package docstring) and the Python methods here
change it at run time. Counters are kept per credential (`api_token:alice`, `app_password:bob`,
`access_token:<name>`, `anonymous`, `invalid`) and per endpoint family (`GET /2.0/repositories/{workspace}`).
"""

from __future__ import annotations

import copy
import math
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from ..world.objects import HOOK_EVENTS

RATE_LIMIT_BODY = "Rate limit for this resource has been exceeded"


@dataclass
class RateLimit:
    limit: int
    window: float = 3600.0
    retry_after: int | None = None  # seconds for the Retry-After header; None sends none (like Bitbucket)
    resource: str = "repositories"  # repositories (/2.0/repositories/*, as Bitbucket) | all


@dataclass
class Fault:
    every: int
    kind: str  # 500 | 555 | 409 | drop | slow
    delay: float = 2.0  # seconds, for `slow`
    path: str = ""  # only requests whose path starts with this count


FAULT_KINDS = ("500", "555", "409", "drop", "slow")


@dataclass
class TokenBucket:
    """Data Center's rate limiter (reference §6): per user, `capacity` tokens refilled at `fill_rate` per second;
    a request takes one token, an empty bucket answers 429 with `Retry-After` (whole seconds)."""

    capacity: int = 60
    fill_rate: float = 5.0


@dataclass
class WebhookDrop:
    """Webhook deliveries to lose: the next `remaining` (every one while it is None), of `events` only if given."""

    remaining: int | None = None
    events: tuple[str, ...] | None = None

    def describe(self) -> dict:
        return {"remaining": self.remaining, "events": list(self.events) if self.events is not None else None}


class Controls:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency_ms = 0.0
        self.jitter_ms = 0.0
        self.rate_limit: RateLimit | None = None
        self.fault: Fault | None = None
        self._fault_counter = 0
        # Merges that "take longer than the server's timeout": a synchronous merge answers 202 + task-status URL.
        self.slow_merges = False
        # "Pull Request Commit Links" not installed (404) or still indexing (202), per repository full name.
        self.commit_links: dict[str, int] = {}
        self.webhook_drop: WebhookDrop | None = None
        self._windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.dc_rate_limit: TokenBucket | None = None
        self._buckets: dict[str, tuple[float, float]] = {}  # credential -> (tokens, at)
        self.clock = time.monotonic  # the rate limiter's clock; tests replace it to roll the window on
        self.reset_counts()

    # ---- accounting ------------------------------------------------------------------------------------------
    def reset_counts(self) -> None:
        with self.lock:
            self.total = 0
            self.by_credential: dict[str, dict] = {}
            self.by_endpoint: dict[str, dict] = {}

    def record(self, credential: str, family: str, status: int | str) -> None:
        key = str(status)
        with self.lock:
            self.total += 1
            cred = self.by_credential.setdefault(credential, {"total": 0, "status": {}, "endpoints": {}})
            cred["total"] += 1
            cred["status"][key] = cred["status"].get(key, 0) + 1
            ep = cred["endpoints"].setdefault(family, {"total": 0, "status": {}})
            ep["total"] += 1
            ep["status"][key] = ep["status"].get(key, 0) + 1
            fam = self.by_endpoint.setdefault(family, {"total": 0, "status": {}})
            fam["total"] += 1
            fam["status"][key] = fam["status"].get(key, 0) + 1

    def counts(self) -> dict:
        with self.lock:
            return {
                "total": self.total,
                "by_credential": copy.deepcopy(self.by_credential),
                "by_endpoint": copy.deepcopy(self.by_endpoint),
            }

    # ---- latency ---------------------------------------------------------------------------------------------
    def set_latency(self, ms: float = 0.0, jitter_ms: float = 0.0) -> None:
        self.latency_ms, self.jitter_ms = max(0.0, float(ms)), max(0.0, float(jitter_ms))

    def delay(self) -> float:
        if not self.latency_ms and not self.jitter_ms:
            return 0.0
        return (self.latency_ms + random.uniform(0, self.jitter_ms)) / 1000.0

    # ---- rate limiting ---------------------------------------------------------------------------------------
    def set_rate_limit(
        self, limit: int | None, window: float = 3600.0, retry_after: int | None = None, resource: str = "repositories"
    ) -> None:
        with self.lock:
            self._windows.clear()
            if limit is None:
                self.rate_limit = None
            else:
                if resource not in ("repositories", "all"):
                    raise ValueError("resource must be 'repositories' or 'all'")
                self.rate_limit = RateLimit(int(limit), float(window), retry_after, resource)

    def check_rate(self, credential: str, path: str) -> RateLimit | None:
        """Count this request in the rolling window; returns the limit when it is exceeded (answer 429)."""
        rl = self.rate_limit
        if rl is None:
            return None
        if rl.resource == "repositories" and not path.startswith("/2.0/repositories/"):
            return None
        now = self.clock()
        with self.lock:
            window = self._windows[(credential, rl.resource)]
            while window and window[0] <= now - rl.window:
                window.popleft()
            if len(window) >= rl.limit:
                return rl
            window.append(now)
        return None

    def usage(self, credential: str) -> tuple[int, RateLimit] | None:
        """Requests counted in the current window for this credential, with the limit (None when unlimited)."""
        rl = self.rate_limit
        if rl is None:
            return None
        with self.lock:
            return len(self._windows.get((credential, rl.resource), ())), rl

    # ---- Data Center token bucket ---------------------------------------------------------------------------
    def set_dc_rate_limit(self, capacity: int | None, fill_rate: float = 5.0) -> None:
        """Switch Data Center's token bucket on (`capacity` tokens, `fill_rate` per second) or off (None)."""
        with self.lock:
            self._buckets.clear()
            if capacity is None:
                self.dc_rate_limit = None
                return
            if int(capacity) < 1 or float(fill_rate) <= 0:
                raise ValueError("capacity must be at least 1 and fill_rate above 0")
            self.dc_rate_limit = TokenBucket(int(capacity), float(fill_rate))

    def take_dc_token(self, credential: str) -> int | None:
        """Take a token from this credential's bucket; None when granted, else the seconds to wait."""
        bucket = self.dc_rate_limit
        if bucket is None:
            return None
        now = self.clock()
        with self.lock:
            tokens, at = self._buckets.get(credential, (float(bucket.capacity), now))
            tokens = min(float(bucket.capacity), tokens + (now - at) * bucket.fill_rate)
            if tokens >= 1.0:
                self._buckets[credential] = (tokens - 1.0, now)
                return None
            self._buckets[credential] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / bucket.fill_rate))

    # ---- faults ----------------------------------------------------------------------------------------------
    def set_fault(self, every: int | None, kind: str = "500", delay: float = 2.0, path: str = "") -> None:
        with self.lock:
            self._fault_counter = 0
            if not every:
                self.fault = None
                return
            if kind not in FAULT_KINDS:
                raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
            self.fault = Fault(int(every), kind, float(delay), path)

    def next_fault(self, path: str, default_prefix: str = "/2.0/") -> Fault | None:
        """The fault for this request, if one is due; without a `path` a fault covers every API request (Cloud's
        `/2.0/` and, through `default_prefix`, Data Center's `<context>/rest/`)."""
        fault = self.fault
        if fault is None or not path.startswith(fault.path or default_prefix):
            return None
        with self.lock:
            self._fault_counter += 1
            return fault if self._fault_counter % fault.every == 0 else None

    # ---- lost webhook deliveries ----------------------------------------------------------------------------
    def drop_webhooks(self, count: int | None = None, events: Iterable[str] | None = None) -> None:
        """Lose webhook deliveries from now on: every one (`count=None`) or the next `count`, optionally only those
        of some event keys. A lost delivery is logged as dropped and never sent, nor retried (as when Bitbucket gives
        up on a hook, or the network eats it)."""
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be a whole number of at least 1, or null for every delivery")
        keys: tuple[str, ...] | None = None
        if events is not None:
            if isinstance(events, str):
                raise ValueError("events must be a list of event keys")
            keys = tuple(events)
            unknown = sorted(set(keys) - HOOK_EVENTS)
            if not keys or unknown:
                raise ValueError(f"events must be a non-empty list of webhook event keys; unknown: {unknown}")
        with self.lock:
            self.webhook_drop = WebhookDrop(count, keys)

    def stop_dropping_webhooks(self) -> None:
        with self.lock:
            self.webhook_drop = None

    def take_webhook_drop(self, event: str) -> bool:
        """Whether this delivery is to be lost; counts it against `count` (the rule ends when it is used up)."""
        with self.lock:
            rule = self.webhook_drop
            if rule is None or (rule.events is not None and event not in rule.events):
                return False
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self.webhook_drop = None
            return True

    def describe(self) -> dict:
        drop = self.webhook_drop
        return {
            "latency": {"ms": self.latency_ms, "jitter_ms": self.jitter_ms},
            "rate_limit": self.rate_limit.__dict__ if self.rate_limit else None,
            "datacenter_rate_limit": self.dc_rate_limit.__dict__ if self.dc_rate_limit else None,
            "faults": self.fault.__dict__ if self.fault else None,
            "slow_merges": self.slow_merges,
            "webhook_drops": drop.describe() if drop else None,
        }

    def clear(self) -> None:
        self.slow_merges = False
        self.commit_links = {}
        self.stop_dropping_webhooks()
        self.set_latency(0)
        self.set_rate_limit(None)
        self.set_dc_rate_limit(None)
        self.set_fault(None)
