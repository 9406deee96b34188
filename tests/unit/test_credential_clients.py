"""The one seam that builds clients: the credential's ledger under the purpose, and the provider of its site."""

from dataclasses import replace

import pytest
import responses
from django.contrib.auth import get_user_model

from bitbucket_sync.client import (
    AccessToken,
    ApiToken,
    BasicAuth,
    BitbucketClient,
    DataCenterClient,
    NotFound,
    RequestRecord,
)
from bitbucket_sync.credentials import clients
from bitbucket_sync.models import Credential, RequestLedgerEntry
from tests.factories import credential

CLOUD_URL = "https://api.bitbucket.org/2.0"
DATACENTER_URL = "https://bitbucket.example.test/rest"


@pytest.fixture
def sites(settings):
    settings.BITBUCKET_API_URL = CLOUD_URL
    settings.BBDASH_DATACENTER_URLS = [DATACENTER_URL + "/"]


@pytest.mark.django_db
@responses.activate
def test_client_for_charges_each_request_to_the_credential_under_its_purpose(browse_encryption_key, sites):
    cred = credential(get_user_model().objects.create_user("erin"), api_url=CLOUD_URL, secret="tok-0123456789")
    responses.get(f"{CLOUD_URL}/user", status=404, json={"type": "error", "error": {"message": "nobody"}})
    seen: list[RequestRecord] = []

    with clients.client_for(cred, purpose="browse", on_request=seen.append) as client, pytest.raises(NotFound):
        client.get_current_user()

    assert isinstance(client, BitbucketClient) and client.base_url == CLOUD_URL
    assert client.auth == ApiToken("erin@example.com", "tok-0123456789")
    entry = RequestLedgerEntry.objects.get(credential=cred)
    assert (entry.purpose, entry.status, entry.path) == ("browse", 404, "/user")
    assert [request.status for request in seen] == [404]  # the caller's hook runs too, after the ledger


@pytest.mark.django_db
def test_client_for_uses_the_provider_registered_for_the_credential_site(browse_encryption_key, sites, monkeypatch):
    built: list[tuple[str, str]] = []

    def datacenter_client(auth, *, base_url, session, on_request):
        built.append((type(auth).__name__, base_url))
        return BitbucketClient(auth, base_url=base_url, session=session, on_request=on_request)

    provider = replace(clients.CLOUD, name="datacenter", client=datacenter_client)
    monkeypatch.setitem(clients.PROVIDERS, "datacenter", provider)
    owner, other = (get_user_model().objects.create_user(name) for name in ("dora", "carl"))
    on_datacenter = credential(owner, api_url=DATACENTER_URL, kind=Credential.Kind.ACCESS_TOKEN)
    on_cloud = credential(other, api_url=CLOUD_URL)

    clients.client_for(on_datacenter, purpose="sync").close()
    clients.client_for(on_cloud, purpose="sync").close()

    assert built == [("AccessToken", DATACENTER_URL)]


@pytest.mark.parametrize(
    ("api_url", "kind"),
    [
        (CLOUD_URL, "cloud"),
        ("https://API.bitbucket.org/2.0/", "cloud"),
        (DATACENTER_URL, "datacenter"),
        ("https://bitbucket.example.test/rest/other", "cloud"),
    ],
)
def test_site_kind_names_the_configured_site_of_an_api_url(sites, api_url, kind):
    assert clients.site_kind(api_url) == kind


def test_provider_for_a_datacenter_site_is_the_datacenter_provider(sites):
    assert clients.provider_for(DATACENTER_URL) is clients.DATACENTER
    assert clients.provider_for(CLOUD_URL) is clients.CLOUD


@pytest.mark.django_db
def test_a_datacenter_credential_gets_a_datacenter_client_with_bearer_or_basic(browse_encryption_key, sites):
    dora, carl = (get_user_model().objects.create_user(name) for name in ("dora", "carl"))
    token = credential(dora, api_url=DATACENTER_URL, kind=Credential.Kind.HTTP_ACCESS_TOKEN, secret="dc-token-0001")
    basic = credential(carl, api_url=DATACENTER_URL, kind=Credential.Kind.BASIC, login="carl", secret="pass-0002")

    with clients.client_for(token, purpose="browse") as bearer, clients.client_for(basic, purpose="browse") as plain:
        assert isinstance(bearer, DataCenterClient) and bearer.auth == AccessToken("dc-token-0001")
        assert isinstance(plain, DataCenterClient) and plain.auth == BasicAuth("carl", "pass-0002")


def test_a_cloud_kind_cannot_speak_to_a_datacenter_site(sites):
    with pytest.raises(ValueError, match="cannot speak to Bitbucket Data Center"):
        clients.client_for_secret(
            kind=Credential.Kind.API_TOKEN, login="x@example.com", secret="s", api_url=DATACENTER_URL
        )
