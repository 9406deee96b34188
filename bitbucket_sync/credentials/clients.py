"""The one place a Bitbucket client is built: for a credential and a purpose, speaking to the credential's site.

    with clients.client_for(credential, purpose="sync") as client:
        ...

Every request such a client makes is written to the credential's ledger under its purpose (sync, browse, action,
check, webhook): the hourly budget is counted from there. A credential not saved yet (checked before it is) gets its
client from ``client_for_secret`` and no ledger, since there is no row to charge.

The provider behind a client is chosen by the credential's site, its API URL: a provider turns a stored credential
into the client's auth and builds the client. Sync, actions, webhooks and pages ask this module for a client and
never name a backend, so a second one (Bitbucket Data Center) plugs in by registering its provider in ``PROVIDERS``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

import requests
from django.views.decorators.debug import sensitive_variables

from bitbucket_sync import ledger, sites
from bitbucket_sync.client import (
    AccessToken,
    ApiToken,
    AppPassword,
    BasicAuth,
    BitbucketClient,
    DataCenterClient,
    RequestRecord,
)
from bitbucket_sync.credentials import health
from bitbucket_sync.models import Credential

Purpose = Literal["sync", "browse", "action", "check", "webhook"]
OnRequest = Callable[[RequestRecord], None]
Auth = ApiToken | AppPassword | AccessToken | BasicAuth


@dataclass(frozen=True)
class Provider:
    """One kind of Bitbucket: how a credential's kind, login and secret become the auth its client sends, and that
    client (``BitbucketClient``'s keyword arguments: ``base_url``, ``session``, ``on_request``)."""

    name: str
    auth: Callable[[str, str, str], Auth]
    client: Callable[..., BitbucketClient]


@sensitive_variables()
def _cloud_auth(kind: str, login: str, secret: str) -> Auth:
    # API tokens and app passwords are HTTP Basic (email or username + secret); access tokens are Bearer.
    if kind == Credential.Kind.API_TOKEN:
        return ApiToken(login, secret)
    if kind == Credential.Kind.APP_PASSWORD:
        return AppPassword(login, secret)
    if kind == Credential.Kind.ACCESS_TOKEN:
        return AccessToken(secret)
    raise ValueError(f"unknown credential kind {kind!r}")


CLOUD = Provider(name="cloud", auth=_cloud_auth, client=BitbucketClient)


@sensitive_variables()
def _datacenter_auth(kind: str, login: str, secret: str) -> Auth:
    # HTTP access tokens (personal, project, repository) are Bearer; a username with a password (or a personal token
    # used as one) is Basic. Cloud's kinds mean nothing to a Data Center server.
    if kind == Credential.Kind.HTTP_ACCESS_TOKEN:
        return AccessToken(secret)
    if kind == Credential.Kind.BASIC:
        return BasicAuth(login, secret)
    raise ValueError(f"a {kind!r} credential cannot speak to Bitbucket Data Center")


# DataCenterClient has BitbucketClient's read methods with the same names, signatures and records (what it cannot do
# raises a BitbucketError saying so), which is all the code above the client calls.
DATACENTER = Provider(
    name="datacenter", auth=_datacenter_auth, client=cast(Callable[..., BitbucketClient], DataCenterClient)
)

# A provider per kind of site (``sites.site_kind``).
PROVIDERS: dict[str, Provider] = {"cloud": CLOUD, "datacenter": DATACENTER}


site_kind = sites.site_kind


def provider_for(api_url: str) -> Provider:
    """The provider that speaks to the site at ``api_url``."""
    return PROVIDERS.get(site_kind(api_url), CLOUD)


def client_for(
    credential: Credential,
    *,
    purpose: Purpose,
    on_request: OnRequest | None = None,
    session: requests.Session | None = None,
) -> BitbucketClient:
    """A client speaking as ``credential`` to its site; each request goes to its ledger under ``purpose``, then to
    ``on_request``. Raises ``encryption.SecretUnreadable`` when the stored secret cannot be decrypted."""
    charge = ledger.recorder(credential, purpose=purpose)
    if on_request is None:
        record = charge
    else:
        then = on_request

        def record(request: RequestRecord) -> None:
            charge(request)
            then(request)

    client = client_for_secret(
        kind=credential.kind,
        login=credential.login,
        secret=credential.get_secret(),
        api_url=credential.api_url,
        on_request=record,
        session=session,
    )
    if purpose != "check":
        # A 401 refusing the credential marks it refused at once, whatever asked (a check records its own answer).
        client.on_error = functools.partial(health.note_error, credential, purpose=purpose)
    return client


@sensitive_variables()
def client_for_secret(
    *,
    kind: str,
    login: str,
    secret: str,
    api_url: str,
    on_request: OnRequest | None = None,
    session: requests.Session | None = None,
) -> BitbucketClient:
    """A client for a credential's values (one not saved yet: nothing is written to a ledger). ``api_url`` must be
    one the caller has checked (``sites.checked_api_url``): the secret is sent there."""
    provider = provider_for(api_url)
    return provider.client(provider.auth(kind, login, secret), base_url=api_url, session=session, on_request=on_request)


def client_class_for(api_url: str) -> type[BitbucketClient] | type[DataCenterClient]:
    """The client class that speaks to the site at ``api_url``: ``DataCenterClient`` for a site listed in
    ``BBDASH_DATACENTER_URLS`` (default: none), ``BitbucketClient`` otherwise (the Cloud API included)."""
    return DataCenterClient if site_kind(api_url) == "datacenter" else BitbucketClient
