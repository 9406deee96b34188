"""The Data Center wire: the Cloud transport's session, timeouts, accounting and single dropped-GET repeat, with
Data Center's ``errors`` envelope, its accounting and its ``start``/``nextPageStart`` pages.

Base URL: the server's root with its context path (``https://git.example.com/bitbucket``); every path names its API
and version (``/rest/api/1.0/...``), so the plugin APIs (``/rest/build-status/1.0``...) share one transport.

Accounting (the reference, §6): Data Center's rate limiter is a token bucket per user, off unless an admin enables it;
every HTTP request made with Basic or Bearer auth takes one token, whatever the endpoint (there is no exempt group as
Cloud's webhooks are). So every request is charged to the one budget family, ``"repositories"`` (the family the
ledger counts), with ``resource`` naming the endpoint (``"pull-requests"``, ``"branches"``, ``"projects"``...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from ..errors import (
    AuthError,
    BitbucketError,
    BitbucketSchemaError,
)
from ..http import Transport, error_for_status

T = TypeVar("T")

# Every request takes a token from the user's bucket: one family, the one the ledger counts.
BUDGET_FAMILY = "repositories"

# What a base URL may end with besides the server root: the API root itself is accepted and taken off.
_API_SUFFIXES = ("/rest/api/1.0", "/rest/api/latest", "/rest")


def server_root(base_url: str) -> str:
    """The server's root (scheme, host, context path) from a configured base URL that may name the API root too:
    ``https://h/bitbucket/rest/api/1.0`` and ``https://h/bitbucket/`` both give ``https://h/bitbucket``."""
    root = base_url.rstrip("/")
    for suffix in _API_SUFFIXES:
        if root.endswith(suffix):
            return root[: -len(suffix)]
    return root


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalised_root(base_url: str) -> str:
    """The server root as ``bitbucket_sync.sites.normalise_api_url`` writes a site (that module reads Django's
    settings, which the client never does): lower-case scheme and host, no default port, no trailing slash, no API
    root. What names a site in its records' ids (``convert.site_tag``)."""
    split = urlsplit(base_url.strip())
    scheme = split.scheme.lower()
    host = (split.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6: urlsplit drops the brackets
    port = split.port
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{server_root(split.path.rstrip('/'))}"


def endpoint_resource(path: str) -> str:
    """The resource a Data Center API path names, for accounting: the last word that is not an identifier.

    ``/rest/api/1.0/projects/K/repos/s/pull-requests/7/activities`` -> ``activities``; ``/rest/api/1.0/projects``
    -> ``projects``; ``/rest/build-status/1.0/commits/{sha}`` -> ``build-status``."""
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    if len(segments) < 3 or segments[0] != "rest":
        return segments[0] if segments else ""
    api, rest = segments[1], segments[3:]
    if api != "api":
        return api
    if rest and rest[-1].endswith((".diff", ".patch")):
        return "diff"
    # Walk the collection/identifier pairs: projects/K, repos/s, pull-requests/7, then a trailing collection.
    resource = rest[0] if rest else "api"
    index = 0
    while index < len(rest):
        resource = rest[index]
        if resource in ("browse", "raw", "files", "diff", "last-modified"):
            break  # the rest is a file path
        index += 2
    return resource


def _short_exception(name: Any) -> str | None:
    return name.rsplit(".", 1)[-1] if isinstance(name, str) and name else None


class DataCenterTransport(Transport):
    """``Transport`` speaking Data Center's errors, pages and accounting."""

    def family_of(self, path: str) -> tuple[str, str]:
        return BUDGET_FAMILY, endpoint_resource(path)

    def request_id_of(self, headers: Mapping) -> str | None:
        return headers.get("X-AREQUESTID") or headers.get("X-Request-Id")

    # -- errors -----------------------------------------------------------------------------------------------

    def error_for(self, response: requests.Response, endpoint: str) -> BitbucketError:
        """The ``errors`` envelope mapped onto the same family as Cloud's.

        401 is ``AuthError`` both for a refused credential and for a missing permission (Data Center answers 401 to
        both: ``detail`` holds the exception name, ``AuthorisationException`` for the latter); 403 (XSRF, licence,
        token without a user) is ``AuthError`` too. A 404 without the envelope is a URL the server does not route
        (an older version, a plugin not installed): ``NotFound`` saying so, not "entity missing".
        """
        status = response.status_code
        message, exception, fields, enveloped = self._parse_dc_error(response)
        common: dict[str, Any] = {
            "status": status,
            "request_id": self.request_id_of(response.headers),
            "endpoint": endpoint,
            "detail": exception,
            "fields": fields,
        }
        if status in (401, 403):
            return AuthError(message, **common)
        if status == 404 and not enveloped:
            common["detail"] = "no such resource on this server (not routed: feature or version not present)"
        return error_for_status(response, message, common)

    def _parse_dc_error(self, response: requests.Response) -> tuple[str, str | None, dict | None, bool]:
        """``(message, exception short name, fields by context, whether the errors envelope was there)``."""
        fallback = f"HTTP {response.status_code} {response.reason or ''}".strip()
        body: Any = None
        if "json" in response.headers.get("Content-Type", ""):
            try:
                body = response.json()
            except ValueError:
                body = None
        errors = body.get("errors") if isinstance(body, Mapping) else None
        if isinstance(errors, list) and errors:
            messages: list[str] = []
            fields: dict[str, list[str]] = {}
            exception = None
            for error in errors:
                if not isinstance(error, Mapping):
                    continue
                text = error.get("message") if isinstance(error.get("message"), str) else ""
                if text:
                    messages.append(text)
                context = error.get("context")
                if isinstance(context, str) and context and text:
                    fields.setdefault(context, []).append(text)
                exception = exception or _short_exception(error.get("exceptionName"))
            message = "; ".join(messages) or fallback
            return self._scrub(message), self._scrub(exception), self._scrub(fields) or None, True
        if isinstance(body, Mapping) and isinstance(body.get("message"), str):
            # Unrouted URLs: {"message": "HTTP 404 Not Found", "status-code": 404}; the rate limiter's own body.
            return self._scrub(body["message"]), None, None, False
        text = (response.text or "").strip() if body is None else ""
        # "XSRF check failed" comes as text/html; keep short plain texts, never a page of markup.
        message = text if text and len(text) <= 300 and "<" not in text else fallback
        return self._scrub(message), None, None, False

    # -- pages ------------------------------------------------------------------------------------------------

    def dc_pages(
        self,
        path: str,
        parse: Callable[..., T],
        *,
        params: Mapping[str, Any] | None = None,
        limit: int,
        values: Callable[[Mapping[str, Any]], Any] = lambda body: body,
        key: str = "values",
        start_url: str | None = None,
        single_page: bool = False,
    ) -> Iterator[tuple[list[T], str | None]]:
        """The pages of a Data Center listing as ``(items, next_url)``, following ``nextPageStart`` exactly as given.

        ``values`` picks the page object out of the answer (a directory's page is its ``children``), ``key`` the
        list in it (a file's page holds ``lines``). ``next_url`` is this listing's URL with the next ``start``
        (``None`` after the last page): saved and passed back as ``start_url`` it resumes there, like Cloud's
        ``next``; a ``start_url`` of another listing or host raises ``BitbucketSchemaError`` before any request.

        Never ends early: a page that is not the last must name a ``nextPageStart`` past its own ``start``, and the
        server's cap on ``limit`` (the answer's ``limit``) is simply followed, never computed around.
        ``single_page``: a listing the server answers in one page whatever ``start`` says (a pull request's
        ``changes``): its one page is the whole answer, ``isLastPage`` or not.
        """
        endpoint = self.describe("GET", self.url_for(path))
        query: dict[str, Any] = {"limit": limit, **(params or {})}
        start = 0
        if start_url is not None:
            if self.api_path(self.url_for(start_url)) != self.api_path(self.url_for(path)):
                raise BitbucketSchemaError("a saved page link that belongs to another listing", endpoint=endpoint)
            saved = dict(parse_qsl(urlsplit(start_url).query))
            try:
                start = int(saved.pop("start", "0"))
            except ValueError:
                raise BitbucketSchemaError("a saved page link without a numeric start", endpoint=endpoint) from None
            query = saved
        return self._read_dc_pages(path, parse, query, start, values, key, endpoint, single_page)

    def _read_dc_pages(
        self,
        path: str,
        parse: Callable[..., T],
        query: dict[str, Any],
        start: int,
        values: Callable[[Mapping[str, Any]], Any],
        key: str,
        endpoint: str,
        single_page: bool = False,
    ) -> Iterator[tuple[list[T], str | None]]:
        while True:
            response = self.request("GET", path, params={**query, "start": start})
            body = self.json(response, endpoint)
            page = values(body) if isinstance(body, Mapping) else None
            if not isinstance(page, Mapping) or not isinstance(page.get(key), list):
                raise BitbucketSchemaError(f"a page without a '{key}' list", endpoint=endpoint)
            last = page.get("isLastPage")
            if not isinstance(last, bool):
                raise BitbucketSchemaError("a page without 'isLastPage'", endpoint=endpoint)
            items = [parse(item, endpoint=endpoint) for item in page[key]]
            if last or single_page:
                yield items, None
                return
            following = page.get("nextPageStart")
            if not isinstance(following, int) or isinstance(following, bool) or following <= start:
                raise BitbucketSchemaError(
                    f"a page that is not the last without a 'nextPageStart' after {start}", endpoint=endpoint
                )
            yield items, self._page_url(path, query, following)
            start = following

    def _page_url(self, path: str, query: Mapping[str, Any], start: int) -> str:
        split = urlsplit(self.url_for(path))
        pairs = [(k, v) for k, value in query.items() for v in (value if isinstance(value, list | tuple) else [value])]
        return urlunsplit((split.scheme, split.netloc, split.path, urlencode([*pairs, ("start", start)]), ""))

    def dc_page_at(
        self, path: str, parse: Callable[..., T], *, params: Mapping[str, Any] | None = None, start: int, limit: int
    ) -> tuple[list[T], int | None]:
        """One page of a Data Center listing from ``start``: its items and the next page's ``start`` (None after the
        last), for a caller that keeps the offset itself (a page cursor in the dashboard's URLs)."""
        endpoint = self.describe("GET", self.url_for(path))
        query: dict[str, Any] = {"limit": limit, **(params or {})}
        pages = self._read_dc_pages(path, parse, query, start, lambda body: body, "values", endpoint)
        items, next_url = next(iter(pages))
        if next_url is None:
            return items, None
        return items, int(dict(parse_qsl(urlsplit(next_url).query))["start"])

    def dc_paginate(self, path: str, parse: Callable[..., T], **kwargs: Any) -> Iterator[T]:
        """Every item of a Data Center listing (see ``dc_pages``)."""
        for items, _ in self.dc_pages(path, parse, **kwargs):
            yield from items
