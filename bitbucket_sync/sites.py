"""Sites: the Bitbucket endpoints this deployment may speak to, and which of them each mirror row came from.

A site is one API base URL: Bitbucket Cloud (``BITBUCKET_API_URL``) or, once that backend lands, a Data Center base
URL listed in ``BBDASH_DATACENTER_URLS``. ``allowed_api_urls`` alone decides which URLs a credential may name: a
credential holds a secret, and the URL is where that secret is sent. URLs are compared normalised (scheme, host and
path, no trailing slash), so ``https://API.bitbucket.org/2.0/`` is the Cloud endpoint and ``.../2.0/.`` is not.

A workspace remembers the site it was first synced through (``Workspace.api_url``); data read through another site
never renames, removes or re-points it or its rows (``require_same_site``).

A Data Center project plays the part of a workspace. Its ``Workspace.key`` is the project key (what the API is asked
with) and its ``slug``, the handle in the dashboard's URLs, is ``KEY@site-label`` (``workspace_handle``): Cloud
workspace slugs are lower-case letters, digits, ``-`` and ``_`` only, so a handle with an ``@`` never shadows one,
and two Data Center sites may each have a ``PLAT``. The same label, as ``/@label/``, prefixes Data Center's own web
paths (``/@label/projects/PLAT/repos/api/browse``) so a Bitbucket link opens the same page here.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from django.conf import settings

from bitbucket_sync.client import BitbucketError

_DEFAULT_PORTS = {"http": 80, "https": 443}
_DATACENTER_API_ROOT = re.compile(r"/rest(?:/api/(?:1\.0|latest))?$")


class ApiUrlNotAllowed(ValueError):
    """A credential names an API URL that is not one of the configured Bitbucket endpoints."""


class SiteMismatch(BitbucketError):
    """Data read through one site would touch rows synced through another. A `BitbucketError`, so every sync step
    already reports it on its run (and writes nothing) the way it reports a refused request."""


def normalise_api_url(url: str) -> str:
    """``scheme://host[:port]/path`` in lower-case scheme and host, without a default port or a trailing slash, and
    without a Data Center API root (``/rest``, ``/rest/api/1.0``, ``/rest/api/latest``): the site is the server.

    Raises ValueError for anything that is not a plain absolute http(s) URL (user info, query or fragment included:
    none of them belongs in an API base URL)."""
    split = urlsplit(url.strip())
    scheme = split.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not split.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    if split.username is not None or split.password is not None or split.query or split.fragment:
        raise ValueError(f"an API base URL has no user, query or fragment: {url!r}")
    host = split.hostname
    if ":" in host:
        host = f"[{host}]"  # IPv6: urlsplit drops the brackets
    port = split.port  # raises ValueError for a port that is not a number
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = split.path.rstrip("/")
    # A Data Center site is its server root (with the context path): its API roots name the same site.
    path = _DATACENTER_API_ROOT.sub("", path)
    return f"{scheme}://{host}{path}"


def allowed_api_urls() -> tuple[str, ...]:
    """The API base URLs credentials may name: the Cloud API, then the Data Center sites, normalised."""
    urls = [settings.BITBUCKET_API_URL, *getattr(settings, "BBDASH_DATACENTER_URLS", ())]
    return tuple(dict.fromkeys(normalise_api_url(url) for url in urls))


def checked_api_url(url: str) -> str:
    """The normalised form of a credential's API URL (empty: the Cloud API), or `ApiUrlNotAllowed` saying which
    URLs may be used. Called before any request is made with the credential."""
    allowed = allowed_api_urls()
    if not url.strip():
        return allowed[0]
    try:
        normalised = normalise_api_url(url)
    except ValueError:
        normalised = ""
    if normalised not in allowed:
        raise ApiUrlNotAllowed(
            f"{url.strip()!r} is not a Bitbucket endpoint this site is configured for; use "
            + " or ".join(allowed)
            + " (BITBUCKET_API_URL, BBDASH_DATACENTER_URLS)."
        )
    return normalised


def same_site(first: str, second: str) -> bool:
    """True when two API base URLs name the same endpoint."""
    try:
        return normalise_api_url(first) == normalise_api_url(second)
    except ValueError:
        return False


def require_same_site(*, row_site: str, api_url: str, what: str) -> None:
    """Raise `SiteMismatch` when data read through `api_url` would touch a row synced through `row_site` (an empty
    `row_site` belongs to no site yet: whoever syncs it first claims it)."""
    if row_site and not same_site(row_site, api_url):
        raise SiteMismatch(
            f"{what} was synced through {row_site}; data read through {api_url} may not change it "
            "(pick a sync credential of that site)."
        )


def site_kind(api_url: str) -> Literal["cloud", "datacenter"]:
    """``"datacenter"`` for a site listed in ``BBDASH_DATACENTER_URLS`` (and not the Cloud API), else ``"cloud"``."""
    if same_site(api_url, settings.BITBUCKET_API_URL):
        return "cloud"
    listed = getattr(settings, "BBDASH_DATACENTER_URLS", ())
    return "datacenter" if any(same_site(api_url, url) for url in listed) else "cloud"


def site_label(api_url: str) -> str:
    """A Data Center site's name in the dashboard's URLs: its host, ``:port`` when not the default, and the context
    path with ``~`` for ``/`` (``git.example.com``, ``127.0.0.1:7990~bitbucket``); the API root (``/rest/...``) is
    not part of it. Never a Cloud workspace slug: it names a host (a dot or a colon) or is prefixed where used."""
    split = urlsplit(normalise_api_url(api_url))
    path = split.path
    context = "~".join(part for part in path.split("/") if part)
    return f"{split.netloc}~{context}" if context else split.netloc


def workspace_handle(key: str, api_url: str) -> str:
    """The dashboard's handle for a workspace (its ``slug``): the Cloud workspace slug itself, or ``KEY@label`` for a
    Data Center project (``PLAT@git.example.com``, ``~alice@git.example.com``)."""
    if api_url and site_kind(api_url) == "datacenter":
        return f"{key}@{site_label(api_url)}"
    return key


def datacenter_site_for_label(label: str) -> str | None:
    """The configured Data Center site (normalised API URL) whose label is ``label``, if any."""
    for url in getattr(settings, "BBDASH_DATACENTER_URLS", ()):
        normalised = normalise_api_url(url)
        if site_label(normalised) == label:
            return normalised
    return None
