"""Throttling of failed sign-ins, on the login page and the admin's (both forms in dashboard.forms.accounts).

Three counters of failed passwords, each forgotten `BBDASH_LOGIN_COOLDOWN_MINUTES` after the last failure it
counted:

- one username from one client address (`BBDASH_LOGIN_FAILURE_LIMIT`, 30): someone guessing one account;
- one client address, any username (`BBDASH_LOGIN_ADDRESS_FAILURE_LIMIT`, 100): one source trying many accounts;
- one username, any address (`BBDASH_LOGIN_USERNAME_FAILURE_LIMIT`, 300): guesses at one account spread over many
  addresses. Higher than the others, because anyone can lock that account out for everyone by reaching it.

Once a counter reaches its limit, a sign-in it covers is refused without looking at the password, so the right
password is refused too, until the counter is forgotten. Refused attempts are not counted: the pause ends one
cool-down after the last failure that was. A successful sign-in forgets its username-and-address counter only.

The counters live in the "logins" cache: files under var/ that every gunicorn worker on the host shares (a
per-process cache would multiply the limits by the number of workers). The file cache cannot increment atomically
across processes, so two failures recorded at the same instant may count once; the update takes far less time than
the password hash before it, so that lets a few extra guesses through at most.
"""

import hashlib
import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest

CACHE_ALIAS = "logins"


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int


def client_address(request: HttpRequest) -> str:
    """The address the sign-in came from: REMOTE_ADDR, or, behind `BBDASH_TRUSTED_PROXY_COUNT` proxies, the entry
    of X-Forwarded-For the outermost of them added (entries further left are whatever the client sent)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.BBDASH_TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            candidate = forwarded[-proxies] if len(forwarded) >= proxies else forwarded[0]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass  # not an address: the proxies are not configured as said; fall back to the socket's peer
    return remote


def _digest(*parts: str) -> str:
    # Usernames are arbitrary text; a digest keeps keys short and free of characters a cache backend may refuse.
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _counters(request: HttpRequest, username: str) -> list[Counter]:
    # Case does not matter to a guesser, so it does not split the count either.
    user = username.strip().casefold()
    address = client_address(request)
    return [
        Counter(f"login-fail:pair:{_digest(user, address)}", settings.BBDASH_LOGIN_FAILURE_LIMIT),
        Counter(f"login-fail:address:{_digest(address)}", settings.BBDASH_LOGIN_ADDRESS_FAILURE_LIMIT),
        Counter(f"login-fail:user:{_digest(user)}", settings.BBDASH_LOGIN_USERNAME_FAILURE_LIMIT),
    ]


def is_refused(request: HttpRequest, username: str) -> bool:
    """Whether a sign-in as `username` from this request's address is paused (one cache read)."""
    counters = _counters(request, username)
    counts = caches[CACHE_ALIAS].get_many([counter.key for counter in counters])
    return any(counts.get(counter.key, 0) >= counter.limit for counter in counters)


def record_failure(request: HttpRequest, username: str) -> None:
    """Count a wrong password; each counter is forgotten one cool-down after its last failure."""
    cache = caches[CACHE_ALIAS]
    counters = _counters(request, username)
    counts = cache.get_many([counter.key for counter in counters])
    cache.set_many(
        {counter.key: counts.get(counter.key, 0) + 1 for counter in counters},
        timeout=settings.BBDASH_LOGIN_COOLDOWN_MINUTES * 60,
    )


def record_success(request: HttpRequest, username: str) -> None:
    """Forget this username's failures from this address (the person's own typos); the others keep counting."""
    caches[CACHE_ALIAS].delete(_counters(request, username)[0].key)


def refusal_message() -> str:
    minutes = settings.BBDASH_LOGIN_COOLDOWN_MINUTES
    return (
        f"Too many failed sign-in attempts. Sign-in is paused for {minutes} minute{'s' if minutes != 1 else ''}; "
        "try again later."
    )
