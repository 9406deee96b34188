"""iter_default_reviewers: the effective endpoint (project defaults included), pages, fields, strict parsing, errors."""

import pytest
import responses
from responses import matchers

from bitbucket_sync.client import ApiToken, AuthError, BitbucketClient, BitbucketSchemaError, NotFound

BASE = "https://api.example.test/2.0"
EFFECTIVE = f"{BASE}/repositories/acme/web/effective-default-reviewers"


def _reviewer(n: int, kind: str = "repository") -> dict:
    return {
        "type": "default_reviewer",
        "reviewer_type": kind,
        "user": {"type": "user", "uuid": f"{{00000000-0000-4000-8000-{n:012d}}}", "display_name": f"Person {n}"},
    }


@pytest.fixture
def client():
    return BitbucketClient(ApiToken("ada@example.test", "tok-secret-0001"), base_url=BASE)


@responses.activate
def test_iter_default_reviewers_two_pages_with_types_and_fields(client):
    page2 = f"{EFFECTIVE}?page=2&pagelen=100"
    responses.get(
        EFFECTIVE,
        match=[matchers.query_param_matcher({"pagelen": "100"}, strict_match=False)],
        json={"values": [_reviewer(1, "project"), _reviewer(2)], "next": page2},
    )
    responses.get(page2, json={"values": [_reviewer(3)]})

    reviewers = list(client.iter_default_reviewers("acme", "web"))

    assert [(r.user.display_name, r.reviewer_type) for r in reviewers] == [
        ("Person 1", "project"),
        ("Person 2", "repository"),
        ("Person 3", "repository"),
    ]
    assert reviewers[0].user.uuid == "{00000000-0000-4000-8000-000000000001}"
    fields = responses.calls[0].request.params["fields"].split(",")
    assert "values.reviewer_type" in fields and "values.user.uuid" in fields and "next" in fields
    assert responses.calls[1].request.url == page2


@responses.activate
def test_iter_default_reviewers_none_is_an_empty_listing(client):
    responses.get(EFFECTIVE, json={"values": [], "pagelen": 100, "size": 0, "page": 1})
    assert list(client.iter_default_reviewers("acme", "web")) == []


@responses.activate
def test_iter_default_reviewers_without_user_uuid_fails_at_the_boundary(client):
    broken = _reviewer(1)
    del broken["user"]["uuid"]
    responses.get(EFFECTIVE, json={"values": [broken]})
    with pytest.raises(BitbucketSchemaError, match=r"user\.uuid"):
        list(client.iter_default_reviewers("acme", "web"))


@responses.activate
def test_iter_default_reviewers_403_missing_scope(client):
    responses.get(
        EFFECTIVE,
        status=403,
        json={
            "type": "error",
            "error": {
                "message": "Your credentials lack one or more required privilege scopes.",
                "detail": {"granted": ["read:repository:bitbucket"], "required": ["read:pullrequest:bitbucket"]},
            },
        },
    )
    with pytest.raises(AuthError) as raised:
        list(client.iter_default_reviewers("acme", "web"))
    assert raised.value.required_scopes == ("read:pullrequest:bitbucket",)


@responses.activate
def test_iter_default_reviewers_404_hidden_repository(client):
    responses.get(EFFECTIVE, status=404, json={"type": "error", "error": {"message": "Repository acme/web not found"}})
    with pytest.raises(NotFound):
        list(client.iter_default_reviewers("acme", "web"))
