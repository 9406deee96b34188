"""The error family: each status maps to one class carrying Bitbucket's message and the request id."""

import pytest
import requests
import responses

from bitbucket_sync.client import (
    AccessToken,
    ApiToken,
    AppPassword,
    AppPasswordRemoved,
    AuthError,
    BadRequest,
    BitbucketClient,
    BitbucketError,
    BitbucketSchemaError,
    Conflict,
    Gone,
    NotFound,
    NotRepositoryAdmin,
    RateLimited,
    Unavailable,
)

BASE = "https://api.example.test/2.0"
REPO = f"{BASE}/repositories/acme/web"


def _error(message: str, **extra) -> dict:
    return {"type": "error", "error": {"message": message, **extra}}


@pytest.fixture
def client():
    return BitbucketClient(ApiToken("ada@example.test", "tok-secret-0001"), base_url=BASE)


@responses.activate
def test_401_raises_auth_error_with_message_and_request_id(client):
    responses.get(
        REPO,
        status=401,
        json=_error("Token is invalid, expired, or not supported for this endpoint."),
        headers={"WWW-Authenticate": 'Basic realm="Bitbucket.org HTTP"', "X-Request-Id": "req-401"},
    )

    with pytest.raises(AuthError) as info:
        client.get_repository("acme", "web")

    err = info.value
    assert not isinstance(err, AppPasswordRemoved)
    assert err.status == 401
    assert err.message == "Token is invalid, expired, or not supported for this endpoint."
    assert err.request_id == "req-401"
    assert err.endpoint == "GET /repositories/acme/web"
    assert "req-401" in str(err) and "401" in str(err)
    assert err.refuses_credential  # Cloud's 401: the credential itself (credentials.health marks it invalid)


@responses.activate
def test_401_with_an_app_password_says_they_were_removed():
    client = BitbucketClient(AppPassword("ada", "app-pass-secret-9"), base_url=BASE)
    responses.get(REPO, status=401, json=_error("Unauthorized"))

    with pytest.raises(AppPasswordRemoved, match="2026-07-28") as info:
        client.get_repository("acme", "web")
    assert isinstance(info.value, AuthError)
    assert "API token" in info.value.message
    assert info.value.refuses_credential


@responses.activate
def test_403_carries_required_and_granted_scopes(client):
    responses.get(
        f"{REPO}/pullrequests",
        status=403,
        json=_error(
            "Your credentials lack one or more required privilege scopes.",
            detail={"granted": ["read:user:bitbucket"], "required": ["read:pullrequest:bitbucket"]},
        ),
    )

    with pytest.raises(AuthError) as info:
        list(client.iter_pull_requests("acme", "web"))

    assert info.value.status == 403
    assert info.value.required_scopes == ("read:pullrequest:bitbucket",)
    assert info.value.granted_scopes == ("read:user:bitbucket",)
    assert not info.value.refuses_credential  # a missing scope: the credential is fine


@responses.activate
def test_403_without_scope_detail_has_empty_scopes(client):
    responses.get(REPO, status=403, json=_error("Forbidden", detail="Repository is read-only"))

    with pytest.raises(AuthError) as info:
        client.get_repository("acme", "web")
    assert info.value.required_scopes == () and info.value.detail == "Repository is read-only"
    assert not info.value.refuses_credential


@responses.activate
def test_404_raises_not_found_with_envelope_id(client):
    responses.get(REPO, status=404, json=_error("Repository acme/web not found", id="abc123"))

    with pytest.raises(NotFound) as info:
        client.get_repository("acme", "web")
    assert info.value.message == "Repository acme/web not found"
    assert info.value.request_id == "abc123"


@responses.activate
def test_400_raises_bad_request_with_fields(client):
    responses.put(
        f"{REPO}/pullrequests/3",
        status=400,
        json=_error("title: This field is required.", fields={"title": ["This field is required."]}),
    )

    with pytest.raises(BadRequest) as info:
        client.update_pull_request(
            "acme",
            "web",
            3,
            title="",
            description="",
            reviewers=[],
            destination_branch="main",
            close_source_branch=False,
        )
    assert info.value.fields == {"title": ["This field is required."]}


@responses.activate
def test_409_raises_conflict(client):
    responses.post(f"{REPO}/src", status=409, json=_error("parents: the branch tip moved"))

    with pytest.raises(Conflict, match="tip moved"):
        client.commit_files("acme", "web", branch="main", message="m", files={"a.txt": "x"}, parents=["a" * 40])


@responses.activate
def test_410_raises_gone(client):
    responses.get(
        f"{BASE}/repositories/acme",
        status=410,
        json=_error("CHANGE-2770 - Functionality has been deprecated", detail="Please read the changelog entry."),
    )

    with pytest.raises(Gone, match="CHANGE-2770"):
        list(client.iter_repositories("acme"))


@responses.activate
def test_429_with_retry_after_seconds(client):
    responses.get(
        REPO, status=429, body="Rate limit for this resource has been exceeded", headers={"Retry-After": "37"}
    )

    with pytest.raises(RateLimited) as info:
        client.get_repository("acme", "web")
    assert info.value.retry_after == 37.0
    assert info.value.message == "Rate limit for this resource has been exceeded"


@responses.activate
def test_429_with_retry_after_http_date_in_the_past_is_zero(client):
    responses.get(REPO, status=429, body="slow down", headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})

    with pytest.raises(RateLimited) as info:
        client.get_repository("acme", "web")
    assert info.value.retry_after == 0.0


@responses.activate
def test_429_without_retry_after_leaves_it_to_the_caller(client):
    responses.get(REPO, status=429, body="Rate limit for this resource has been exceeded", content_type="text/plain")

    with pytest.raises(RateLimited) as info:
        client.get_repository("acme", "web")
    assert info.value.retry_after is None
    assert info.value.status == 429


@responses.activate
def test_500_raises_unavailable(client):
    responses.get(REPO, status=500, body="<html>Internal Server Error</html>", content_type="text/html")

    with pytest.raises(Unavailable) as info:
        client.get_repository("acme", "web")
    assert info.value.status == 500
    assert "500" in info.value.message  # the HTML page itself is not carried around


@responses.activate
def test_555_raises_unavailable(client):
    responses.post(f"{REPO}/pullrequests/4/merge", status=555, json=_error("The merge timed out; try again later"))

    with pytest.raises(Unavailable, match="try again later") as info:
        client.merge_pull_request("acme", "web", 4, strategy="squash")
    assert info.value.status == 555


@responses.activate
def test_timeout_raises_unavailable_without_retry(client):
    responses.get(REPO, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(Unavailable, match="timeout") as info:
        client.get_repository("acme", "web")
    assert info.value.status is None
    assert len(responses.calls) == 1


@responses.activate
def test_dropped_connection_on_get_is_retried_once():
    records = []
    client = BitbucketClient(AccessToken("access-token-secret-1"), base_url=BASE, on_request=records.append)
    repo = {"uuid": "{r}", "full_name": "acme/web", "is_private": False, "updated_on": "2026-11-01T10:00:00Z"}
    responses.get(REPO, body=requests.ConnectionError("Connection aborted: RemoteDisconnected"))
    responses.get(REPO, json=repo)

    assert client.get_repository("acme", "web").slug == "web"
    assert [r.status for r in records] == [None, 200]
    assert client.request_count == 2


@responses.activate
def test_dropped_connection_twice_raises_unavailable(client):
    responses.get(REPO, body=requests.ConnectionError("Connection aborted"))
    responses.get(REPO, body=requests.ConnectionError("Connection aborted"))
    responses.get(REPO, json={})  # never reached: one retry only

    with pytest.raises(Unavailable, match="connection failed"):
        client.get_repository("acme", "web")
    assert len(responses.calls) == 2


@responses.activate
def test_dropped_connection_on_post_is_not_retried(client):
    responses.post(f"{REPO}/pullrequests/4/decline", body=requests.ConnectionError("Connection aborted"))

    with pytest.raises(Unavailable):
        client.decline_pull_request("acme", "web", 4)
    assert len(responses.calls) == 1


@responses.activate
def test_invalid_json_raises_schema_error(client):
    responses.get(REPO, body="{not json", content_type="application/json")

    with pytest.raises(BitbucketSchemaError, match="invalid JSON") as info:
        client.get_repository("acme", "web")
    assert info.value.endpoint == "GET /repositories/acme/web"


@responses.activate
def test_missing_required_field_names_endpoint_and_field(client):
    responses.get(
        f"{REPO}/pullrequests/7",
        json={
            "id": 7,
            "title": "t",
            "state": "OPEN",
            "source": {"commit": {"hash": "abc"}},  # no branch
            "destination": {"branch": {"name": "main"}},
            "created_on": "2026-11-01T10:00:00+00:00",
            "updated_on": "2026-11-01T10:00:00+00:00",
        },
    )

    with pytest.raises(BitbucketSchemaError) as info:
        client.get_pull_request("acme", "web", 7)
    assert info.value.endpoint == "GET /repositories/acme/web/pullrequests/7"
    assert "'source.branch'" in str(info.value)
    assert "GET /repositories/acme/web/pullrequests/7" in str(info.value)


@responses.activate
def test_wrong_type_is_a_schema_error(client):
    responses.get(f"{BASE}/user", json={"uuid": 12345, "display_name": "Ada"})

    with pytest.raises(BitbucketSchemaError, match="'uuid'"):
        client.get_current_user()


@responses.activate
def test_other_status_is_a_plain_bitbucket_error(client):
    responses.post(f"{REPO}/pullrequests/4/decline", status=411, body="Length Required", content_type="text/plain")

    with pytest.raises(BitbucketError) as info:
        client.decline_pull_request("acme", "web", 4)
    assert type(info.value) is BitbucketError and info.value.status == 411


def test_family_is_one_hierarchy():
    for cls in (AuthError, BadRequest, NotFound, Conflict, Gone, RateLimited, Unavailable, BitbucketSchemaError):
        assert issubclass(cls, BitbucketError)
    assert issubclass(AppPasswordRemoved, AuthError)


@responses.activate
def test_branch_restrictions_403_is_not_repository_admin(client):
    responses.get(f"{REPO}/branch-restrictions", status=403, json=_error("You must be an admin of this repository."))
    with pytest.raises(NotRepositoryAdmin) as caught:
        list(client.iter_branch_restrictions("acme", "web"))
    assert caught.value.status == 403 and caught.value.message == "You must be an admin of this repository."


@responses.activate
def test_branch_restrictions_401_stays_a_credential_error(client):
    responses.get(f"{REPO}/branch-restrictions", status=401, json=_error("Unauthorized"))
    with pytest.raises(AuthError) as caught:
        list(client.iter_branch_restrictions("acme", "web"))
    assert not isinstance(caught.value, NotRepositoryAdmin)


@responses.activate
def test_pull_request_conflicts_reads_every_conflict_status(client):
    target = f"{REPO}/diffstat/aaaaaaaaaaaa..bbbbbbbbbbbb"
    responses.get(f"{REPO}/pullrequests/7/diffstat", status=302, headers={"Location": target})
    entries = [
        {"status": "modified", "old": {"path": "ok.py"}, "new": {"path": "ok.py"}},
        {"status": "merge conflict", "old": {"path": "a.py"}, "new": {"path": "a.py"}},
        {"status": "local deleted", "old": None, "new": {"path": "b.py"}},
        {"status": "remote deleted", "old": {"path": "c.py"}, "new": None},
    ]
    responses.get(target, json={"values": entries, "pagelen": 500})
    assert client.pull_request_conflicts("acme", "web", 7) == ("a.py", "b.py", "c.py")


@responses.activate
def test_the_error_hook_hears_each_error_before_it_is_raised_and_cannot_replace_it(client):
    responses.get(REPO, status=401, json=_error("Invalid credentials"))
    responses.get(f"{REPO}/pullrequests", status=403, json=_error("Forbidden"))
    heard: list[BitbucketError] = []
    client.on_error = heard.append

    with pytest.raises(AuthError) as first:
        client.get_repository("acme", "web")
    assert heard == [first.value]

    def broken(error: BitbucketError) -> None:
        raise RuntimeError("the hook's own bug")

    client.on_error = broken
    with pytest.raises(AuthError) as second:
        list(client.iter_pull_requests("acme", "web"))
    assert second.value.status == 403
