"""Data Center record ids are unique per site: two servers' repository 12 are two repositories in the mirror."""

import hashlib

import pytest
import responses

from bitbucket_sync.client import AccessToken, DataCenterClient
from bitbucket_sync.client.datacenter import convert
from bitbucket_sync.sites import normalise_api_url
from tests.fixtures import datacenter as dc


def test_the_fixture_tag_is_the_sha256_of_the_server_root():
    assert hashlib.sha256(dc.SERVER.encode()).hexdigest()[:8] == dc.TAG
    assert DataCenterClient(AccessToken("t"), base_url=dc.SERVER).site == dc.TAG


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.test/bitbucket",
        "https://GIT.example.test/bitbucket/",
        "HTTPS://git.example.test:443/bitbucket/rest/api/1.0",
        "https://git.example.test/bitbucket/rest/api/latest/",
        "https://git.example.test/bitbucket/rest",
        "http://127.0.0.1:7990/bitbucket",
        "http://[::1]:7990/",
        "http://git.example.test:80",
    ],
)
def test_every_spelling_of_a_site_gives_the_tag_of_its_normalised_root(url):
    expected = hashlib.sha256(normalise_api_url(url).encode()).hexdigest()[:8]
    assert convert.site_tag(url) == expected
    assert DataCenterClient(AccessToken("t"), base_url=url).site == expected


def test_two_servers_give_the_same_numeric_id_two_record_ids():
    data = dc.repository()
    one = convert.repository(data, endpoint="GET x", site=convert.site_tag("https://a.example.test"))
    two = convert.repository(data, endpoint="GET x", site=convert.site_tag("https://b.example.test/bitbucket"))
    assert one.uuid != two.uuid and one.project_uuid != two.project_uuid
    assert convert.native_id(one.uuid) == convert.native_id(two.uuid) == "12"
    assert len(one.uuid) <= 64


@responses.activate
def test_every_id_a_record_carries_is_qualified():
    responses.get(f"{dc.API}/projects/PRJ/repos/web/pull-requests/2", json=dc.pull_request(2))
    pr = DataCenterClient(AccessToken("t"), base_url=dc.SERVER).get_pull_request("PRJ", "web", 2)
    assert pr.author.uuid == f"{{user-1@{dc.TAG}}}"
    assert pr.destination.repository.uuid == f"{{repository-12@{dc.TAG}}}"


@pytest.mark.parametrize(
    ("uuid", "native"),
    [("{repository-12@1a2b3c4d}", "12"), ("{user-101@00ff00ff}", "101"), ("{project-7}", "7")],
)
def test_native_id_gives_bitbuckets_own_id_back(uuid, native):
    assert convert.native_id(uuid) == native


@pytest.mark.parametrize(
    "uuid", ["{a1b2c3d4-0000-0000-0000-000000000000}", "{repository-x@1a2b3c4d}", "repository-12", "{pr-1@1a2b3c4d}"]
)
def test_native_id_refuses_what_is_not_a_data_center_record_id(uuid):
    with pytest.raises(ValueError):
        convert.native_id(uuid)
