"""The wire: one ``requests.Session``, a timeout on every call, error mapping, request accounting, pagination.

Nothing here sleeps. The only retry is one immediate repeat of an idempotent GET whose connection dropped (a stale
keep-alive socket is the common cause); every other failure raises at once and the caller decides.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import requests
from django.views.decorators.debug import sensitive_variables

from .auth import AppPassword, Auth
from .errors import (
    AppPasswordRemoved,
    AuthError,
    BadRequest,
    BitbucketError,
    BitbucketSchemaError,
    Conflict,
    Gone,
    NotFound,
    RateLimited,
    Unavailable,
)
from .records import DiffText

log = logging.getLogger("bitbucket_sync.client")

T = TypeVar("T")

USER_AGENT = "bbdash/0.1 (+self-hosted Bitbucket Cloud dashboard; python-requests)"

REMOVED_CREDENTIAL_NOTICE = (
    "Bitbucket Cloud removed app passwords on 2026-07-28; replace this credential with an API token "
    "(Atlassian account email + token with Bitbucket scopes)."
)


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request as the accounting hook sees it.

    ``family`` is the rate-limit group the request is charged to: ``"repositories"`` for everything under
    ``/2.0/repositories/*`` except webhooks (Bitbucket's ~1,000/hour per-user budget), ``"hooks"`` for webhook
    management (its own 1,000/hour), ``"workspaces"``, ``"user"`` or ``"other"``. ``resource`` is the finer name
    (``"pullrequests"``, ``"refs"``, ``"src"``, ``"members"``...). ``status`` is ``None`` when no response arrived
    (timeout, connection error). ``rate_limit`` holds the ``X-RateLimit-*`` headers when present, keyed by the
    lower-cased suffix (``{"limit": "1000", "resource": "api", "nearlimit": "false"}``).
    """

    method: str
    family: str
    path: str
    status: int | None
    elapsed_ms: float
    at: datetime
    rate_limit: dict[str, str] | None
    request_id: str | None
    resource: str = ""


def endpoint_family(path: str) -> tuple[str, str]:
    """Map an API path (relative to ``/2.0``) to ``(family, resource)`` for accounting."""
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    if not segments:
        return "other", ""
    head = segments[0]
    if head == "repositories":
        resource = segments[3] if len(segments) > 3 else ("repository" if len(segments) == 3 else "repositories")
        return ("hooks" if resource == "hooks" else "repositories"), resource
    if head == "workspaces":
        resource = segments[2] if len(segments) > 2 else "workspace"
        return ("hooks" if resource == "hooks" else "workspaces"), resource
    if head in ("user", "users"):
        return "user", segments[1] if len(segments) > 1 else "user"
    return "other", head


def error_for_status(response: requests.Response, message: str, common: dict[str, Any]) -> BitbucketError:
    """The error for an answer's status, beyond what a transport decides itself (401/403, whose meaning differs
    between Bitbucket Cloud and Data Center): the same family for both."""
    status = response.status_code
    if status == 400:
        return BadRequest(message, **common)
    if status == 404:
        return NotFound(message, **common)
    if status == 409:
        return Conflict(message, **common)
    if status == 410:
        return Gone(message, **common)
    if status == 429:
        return RateLimited(message, retry_after=_retry_after(response.headers.get("Retry-After")), **common)
    if status >= 500:
        # 555 is Bitbucket Cloud's own "this took too long on our side, retry later".
        return Unavailable(message, **common)
    return BitbucketError(message, **common)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Transport:
    """Sends requests for one credential and turns answers into JSON or typed errors."""

    def __init__(
        self,
        auth: Auth,
        *,
        base_url: str,
        timeout: float | tuple[float, float],
        session: requests.Session | None,
        on_request: Callable[[RequestRecord], None] | None,
    ) -> None:
        self.auth = auth
        self.base_url = base_url.rstrip("/")
        split = urlsplit(self.base_url)
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        self._origin = (split.scheme, split.netloc)
        self._base_path = split.path.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.on_request = on_request
        # Called with each error an answer's status raised (before it is raised): who built the client learns of a
        # refused credential wherever the request was made (``credentials.health``). Its own failure is logged.
        self.on_error: Callable[[BitbucketError], object] | None = None
        self.request_count = 0

    # -- URLs -------------------------------------------------------------------------------------------------

    def url_for(self, path_or_url: str) -> str:
        """An API path becomes an absolute URL; an absolute URL (``next``, ``Location``) must be on our origin.

        Credentials go only to the configured API host: a ``next`` or ``Location`` elsewhere is a broken answer.
        """
        if path_or_url.startswith(("http://", "https://")):
            split = urlsplit(path_or_url)
            if (split.scheme, split.netloc) != self._origin:
                raise BitbucketSchemaError(
                    f"refusing to follow a link to another host ({split.scheme}://{split.netloc})",
                    endpoint=self.describe("GET", path_or_url),
                )
            return path_or_url
        return self.base_url + "/" + path_or_url.lstrip("/")

    def api_path(self, url: str) -> str:
        """The path relative to the API root, without the query: ``/repositories/acme/web``."""
        path = urlsplit(url).path if url.startswith(("http://", "https://")) else url.split("?", 1)[0]
        if self._base_path and path.startswith(self._base_path + "/"):
            path = path[len(self._base_path) :]
        return path

    def describe(self, method: str, url: str) -> str:
        return f"{method} {self.api_path(url)}"

    # -- requests ---------------------------------------------------------------------------------------------

    # `headers` holds the Authorization header: Django's error reports (and the debug page) must not show it.
    @sensitive_variables("headers")
    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        accept: str = "application/json",
        stream: bool = False,
    ) -> requests.Response:
        """Send one request (plus at most one repeat of a GET whose connection dropped); raise on any failure.

        With ``stream`` the body is left unread for the caller, who must close the response."""
        url = self.url_for(path_or_url)
        endpoint = self.describe(method, url)
        headers = {
            "Authorization": self.auth.authorization_header(),
            "Accept": accept,
            "User-Agent": USER_AGENT,
        }
        attempts = 2 if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            at = datetime.now(UTC)
            started = time.monotonic()
            failure: BitbucketError | None = None
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data,
                    files=files,
                    headers=headers,
                    timeout=self.timeout,
                    stream=stream,
                )
            except requests.Timeout:
                failure = Unavailable(f"no answer within the timeout ({self.timeout}s)", endpoint=endpoint)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                if attempt < attempts:
                    self._account_failure(method, url, started, at)
                    log.info("bitbucket %s: connection dropped, retrying once", endpoint)
                    continue
                failure = Unavailable(f"connection failed: {type(exc).__name__}", endpoint=endpoint)
            except requests.RequestException as exc:
                failure = BitbucketError(f"request failed: {type(exc).__name__}", endpoint=endpoint)
            if failure is not None:
                # Raised outside the except block: the requests exception (its text can hold URLs and whatever a
                # proxy said) is not chained into ours, so nothing of the wire leaks into logs and error reports.
                self._account_failure(method, url, started, at)
                raise failure
            self._account_response(method, response, started, at)
            if response.status_code >= 400:
                error = self.error_for(response, endpoint)
                self._notify_error(error)
                raise error
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _notify_error(self, error: BitbucketError) -> None:
        if self.on_error is None:
            return
        try:
            self.on_error(error)
        except Exception:
            # Like the request hook: what the caller does about an error must not replace the error itself.
            log.exception("bitbucket error hook failed for %s", error.endpoint)

    def family_of(self, path: str) -> tuple[str, str]:
        """``(family, resource)`` a request to ``path`` is charged to (another backend's transport overrides it)."""
        return endpoint_family(path)

    def request_id_of(self, headers: Mapping) -> str | None:
        """The server's id for a request, from its response headers."""
        return headers.get("X-Request-Id")

    def _account_response(self, method: str, response: requests.Response, started: float, at: datetime) -> None:
        # A followed redirect (PR diff -> repository diff) is two requests against the budget: count each hop.
        hops = [*response.history, response]
        for hop in hops[:-1]:
            self._record(method, hop.url, hop.status_code, hop.elapsed.total_seconds() * 1000, at, hop.headers)
        elapsed_ms = (time.monotonic() - started) * 1000 - sum(h.elapsed.total_seconds() * 1000 for h in hops[:-1])
        self._record(method, response.url, response.status_code, max(elapsed_ms, 0.0), at, response.headers)

    def _account_failure(self, method: str, url: str, started: float, at: datetime) -> None:
        self._record(method, url, None, (time.monotonic() - started) * 1000, at, None)

    def _record(
        self, method: str, url: str, status: int | None, elapsed_ms: float, at: datetime, headers: Mapping | None
    ) -> None:
        self.request_count += 1
        path = self.api_path(url)
        family, resource = self.family_of(path)
        rate_limit = None
        request_id = None
        if headers is not None:
            rate_limit = {
                k[len("x-ratelimit-") :].lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")
            } or None
            request_id = self.request_id_of(headers)
        log.debug("bitbucket %s %s -> %s in %.0f ms", method, path, status, elapsed_ms)
        if self.on_request is None:
            return
        record = RequestRecord(
            method=method,
            family=family,
            path=path,
            status=status,
            elapsed_ms=round(elapsed_ms, 1),
            at=at,
            rate_limit=rate_limit,
            request_id=request_id,
            resource=resource,
        )
        try:
            self.on_request(record)
        except Exception:
            # Accounting must not turn a successful call into a failure; the hook's own bug is logged loudly.
            log.exception("bitbucket request hook failed for %s %s", method, path)

    # -- errors -----------------------------------------------------------------------------------------------

    @sensitive_variables()
    def _scrub(self, value: Any) -> Any:
        """`value` (text, or JSON made of dicts and lists) with the secret taken out, in the clear and as it was
        sent: a server or proxy that echoes the Authorization header shows the Basic-encoded `login:secret`."""
        if isinstance(value, str):
            credentials = self.auth.authorization_header().split(" ", 1)[-1]
            for secret in (credentials, self.auth.secret):
                if secret:
                    value = value.replace(secret, "****")
            return value
        if isinstance(value, Mapping):
            return {self._scrub(key): self._scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(item) for item in value]
        return value

    def error_for(self, response: requests.Response, endpoint: str) -> BitbucketError:
        status = response.status_code
        message, detail, fields, envelope_id = self._parse_error_body(response)
        request_id = response.headers.get("X-Request-Id") or envelope_id
        common: dict[str, Any] = {
            "status": status,
            "request_id": request_id,
            "endpoint": endpoint,
            "detail": detail,
            "fields": fields,
        }
        if status == 401:
            if isinstance(self.auth, AppPassword):
                return AppPasswordRemoved(f"{message} — {REMOVED_CREDENTIAL_NOTICE}", **common)
            return AuthError(message, **common)
        if status == 403:
            required: tuple[str, ...] = ()
            granted: tuple[str, ...] = ()
            if isinstance(detail, Mapping):
                required = tuple(str(s) for s in detail.get("required") or ())
                granted = tuple(str(s) for s in detail.get("granted") or ())
            return AuthError(message, required_scopes=required, granted_scopes=granted, **common)
        return error_for_status(response, message, common)

    def _parse_error_body(self, response: requests.Response) -> tuple[str, Any, dict | None, str | None]:
        fallback = f"HTTP {response.status_code} {response.reason or ''}".strip()
        content_type = response.headers.get("Content-Type", "")
        body: Any = None
        if "json" in content_type:
            try:
                body = response.json()
            except ValueError:
                body = None
        if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
            error = body["error"]
            message = error.get("message") if isinstance(error.get("message"), str) else fallback
            detail = error.get("detail")
            fields = error.get("fields") if isinstance(error.get("fields"), Mapping) else None
            envelope_id = error.get("id") if isinstance(error.get("id"), str) else None
            return self._scrub(message), self._scrub(detail), self._scrub(fields), self._scrub(envelope_id)
        text = (response.text or "").strip() if body is None else ""
        # The 429 body is plain text ("Rate limit for this resource has been exceeded"); keep short texts.
        message = text if text and len(text) <= 300 and "<" not in text else fallback
        return self._scrub(message), None, None, None

    # -- JSON and pages ---------------------------------------------------------------------------------------

    def json(self, response: requests.Response, endpoint: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise BitbucketSchemaError(
                f"invalid JSON in a {response.status_code} answer",
                status=response.status_code,
                endpoint=endpoint,
                request_id=response.headers.get("X-Request-Id"),
            ) from None

    def paginate(
        self,
        path: str,
        parse: Callable[..., T],
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[T]:
        """Yield every item of a paginated collection, following ``next`` exactly as given (see ``pages``)."""
        for items, _ in self.pages(path, parse, params=params):
            yield from items

    def pages(
        self,
        path: str,
        parse: Callable[..., T],
        *,
        params: Mapping[str, Any] | None = None,
        start_url: str | None = None,
    ) -> Iterator[tuple[list[T], str | None]]:
        """The pages of a paginated collection, one ``(items, next_url)`` at a time, following ``next`` as given.

        ``next_url`` is the page after this one (``None`` on the last), already checked to be on the API host, so a
        caller may save it and later pass it back as ``start_url`` to read on from there (``params`` are then not
        sent: the URL carries every query parameter). A ``start_url`` on another host or of another listing raises
        ``BitbucketSchemaError`` at this call, before any request.

        Raises on any failure; never ends early. If the first page announced a ``size`` and the pages that followed
        held fewer items, an item was skipped (list-style pages shift when something is deleted mid-listing), so
        that is an error too: the caller must not treat such a listing as complete. A listing resumed at
        ``start_url`` did not count the items before it, so that check needs a listing read from its first page.
        """
        endpoint = self.describe("GET", self.url_for(path))
        if start_url is None:
            return self._read_pages(path, parse, params=params, endpoint=endpoint, resumed=False)
        # A saved link is checked like any `next` (credentials go only to the API host) and must be a page of this
        # listing; both are checked now, before the first request, so the caller can drop a stale link and restart.
        if self.api_path(self.url_for(start_url)) != self.api_path(self.url_for(path)):
            raise BitbucketSchemaError("a saved page link that belongs to another listing", endpoint=endpoint)
        return self._read_pages(start_url, parse, params=None, endpoint=endpoint, resumed=True)

    def _read_pages(
        self,
        url: str | None,
        parse: Callable[..., T],
        *,
        params: Mapping[str, Any] | None,
        endpoint: str,
        resumed: bool,
    ) -> Iterator[tuple[list[T], str | None]]:
        current_params = params
        seen_urls: set[str] = set()
        announced: int | None = None
        count = 0
        first = not resumed
        while url is not None:
            response = self.request("GET", url, params=current_params)
            page = self.json(response, endpoint)
            if not isinstance(page, Mapping) or not isinstance(page.get("values"), list):
                raise BitbucketSchemaError("a page without a 'values' list", endpoint=endpoint)
            if first and isinstance(page.get("size"), int) and not isinstance(page.get("size"), bool):
                announced = page["size"]
            first = False
            items = [parse(item, endpoint=endpoint) for item in page["values"]]
            count += len(items)
            next_url = page.get("next")
            if next_url is not None:
                if not isinstance(next_url, str) or not next_url:
                    raise BitbucketSchemaError("'next' is not a URL", endpoint=endpoint)
                if next_url in seen_urls or next_url == response.url:
                    raise BitbucketSchemaError("'next' points back at a page already read", endpoint=endpoint)
                self.url_for(next_url)  # on another host: refused before anyone saves it
                seen_urls.add(next_url)
            elif announced is not None and count < announced:
                raise BitbucketSchemaError(
                    f"listing ended after {count} of the {announced} items its first page announced",
                    endpoint=endpoint,
                )
            yield items, next_url
            url = next_url
            current_params = None  # `next` already carries every query parameter; re-adding them duplicates q


class TransportClient:
    """What every client is besides its endpoints: a credential's transport, its base URL and request count, and a
    session to close (the clients are context managers)."""

    auth: Auth
    _http: Transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.auth!r} at {self.base_url}>"

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def request_count(self) -> int:
        return self._http.request_count

    @property
    def on_error(self) -> Callable[[BitbucketError], object] | None:
        """Called with every error an answer's status raises, just before it is raised."""
        return self._http.on_error

    @on_error.setter
    def on_error(self, hook: Callable[[BitbucketError], object] | None) -> None:
        self._http.on_error = hook

    def close(self) -> None:
        self._http.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_text(self, response: requests.Response, *, path: str, max_bytes: int | None) -> DiffText:
        """A streamed text body (a diff, a patch) as it arrives: past ``max_bytes`` the rest is never downloaded (a
        diff can be hundreds of megabytes), and the text says it was cut."""
        chunks: list[bytes] = []
        size, truncated = 0, False
        failure: Unavailable | None = None
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                if max_bytes is not None and size + len(chunk) > max_bytes:
                    chunks.append(chunk[: max_bytes - size])
                    truncated = True
                    break
                chunks.append(chunk)
                size += len(chunk)
        except requests.RequestException as exc:
            endpoint = self._http.describe("GET", path)
            failure = Unavailable(f"connection failed while reading: {type(exc).__name__}", endpoint=endpoint)
        finally:
            response.close()
        if failure is not None:
            raise failure  # outside the except block, like the transport: no wire text chained into ours
        # Diffs are the bytes as stored; a file in another encoding must not break the page that shows it.
        return DiffText.of(b"".join(chunks).decode("utf-8", errors="replace"), truncated=truncated)
