"""Data Center's ``errors`` envelope mapped onto the client's one exception family, and paths refused before any
request."""

import pytest
import responses

from bitbucket_sync.client import (
    AccessToken,
    AuthError,
    BadRequest,
    BasicAuth,
    BitbucketError,
    Conflict,
    DataCenterClient,
    NotFound,
    RateLimited,
    Unavailable,
    UnsafePath,
)
from tests.fixtures import datacenter as dc

REPO = f"{dc.API}/projects/PRJ/repos/web"


@pytest.fixture
def client():
    return DataCenterClient(BasicAuth("jcitizen", "dc-secret-0001"), base_url=dc.SERVER)


@responses.activate
def test_401_for_a_missing_permission_is_an_auth_error_naming_the_exception(client):
    responses.get(
        REPO,
        status=401,
        json=dc.errors(
            "You are not permitted to access this resource", "com.atlassian.bitbucket.AuthorisationException"
        ),
        headers={"X-AREQUESTID": "@1X2Y3Zx600x1x0"},
    )

    with pytest.raises(AuthError) as info:
        client.get_repository("PRJ", "web")

    err = info.value
    assert err.status == 401
    assert err.message == "You are not permitted to access this resource"
    assert err.detail == "AuthorisationException"
    assert err.request_id == "@1X2Y3Zx600x1x0"
    assert err.endpoint == "GET /rest/api/1.0/projects/PRJ/repos/web"
    assert "AuthorisationException" in str(err) and "401" in str(err)
    assert not err.refuses_credential  # a missing permission: the credential itself was accepted


@responses.activate
def test_a_wrong_password_is_an_auth_error_with_the_secret_scrubbed(client):
    responses.get(
        REPO,
        status=401,
        json=dc.errors(
            "Authentication failed for jcitizen:dc-secret-0001. Please check your credentials and try again.",
            "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException",
        ),
    )

    with pytest.raises(AuthError) as info:
        client.get_repository("PRJ", "web")

    assert "dc-secret-0001" not in str(info.value)
    assert info.value.detail == "IncorrectPasswordAuthenticationException"
    assert info.value.refuses_credential


@responses.activate
def test_the_xsrf_refusal_comes_as_html_and_is_an_auth_error_in_plain_words(client):
    responses.get(REPO, status=403, body="XSRF check failed", content_type="text/html")

    with pytest.raises(AuthError) as info:
        client.get_repository("PRJ", "web")

    assert info.value.status == 403 and info.value.message == "XSRF check failed"
    assert not info.value.refuses_credential


@responses.activate
def test_a_missing_project_is_not_found_with_its_message(client):
    responses.get(
        f"{dc.API}/projects/DEV",
        status=404,
        json=dc.errors("Project DEV does not exist.", "com.atlassian.bitbucket.project.NoSuchProjectException"),
    )

    with pytest.raises(NotFound) as info:
        client.get_workspace("DEV")

    assert info.value.message == "Project DEV does not exist."
    assert info.value.detail == "NoSuchProjectException"


@responses.activate
def test_an_unrouted_url_is_not_found_saying_the_feature_is_absent(client):
    responses.get(
        f"{REPO}/pull-requests/3/comments/9",
        status=404,
        json={"message": "HTTP 404 Not Found", "status-code": 404, "sub-code": -1},
    )

    with pytest.raises(NotFound) as info:
        client.get_pull_request_comment("PRJ", "web", 3, 9)

    assert info.value.message == "HTTP 404 Not Found"
    assert "not routed" in info.value.detail


@responses.activate
def test_a_stale_version_is_a_conflict(client):
    responses.get(
        f"{REPO}/pull-requests/3",
        status=409,
        json=dc.errors(
            "You are attempting to modify a pull request based on out-of-date information.",
            "com.atlassian.bitbucket.pull.PullRequestOutOfDateException",
        ),
    )

    with pytest.raises(Conflict) as info:
        client.get_pull_request("PRJ", "web", 3)

    assert info.value.detail == "PullRequestOutOfDateException"


@responses.activate
def test_validation_errors_keep_every_message_and_the_fields_they_name(client):
    body = {
        "errors": [
            {"context": "name", "message": "The name is required.", "exceptionName": None},
            {"context": None, "message": "Something else is wrong.", "exceptionName": None},
        ]
    }
    responses.get(f"{REPO}/branches", status=400, json=body)

    with pytest.raises(BadRequest) as info:
        list(client.iter_branches("PRJ", "web"))

    assert info.value.message == "The name is required.; Something else is wrong."
    assert info.value.fields == {"name": ["The name is required."]}


@responses.activate
@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), (None, None)])
def test_429_is_rate_limited_with_retry_after_and_nothing_is_retried(client, header, expected):
    headers = {"Retry-After": header} if header else {}
    responses.get(f"{REPO}/branches", status=429, json={"message": "Rate limit exceeded"}, headers=headers)

    with pytest.raises(RateLimited) as info:
        list(client.iter_branches("PRJ", "web"))

    assert info.value.retry_after == expected
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_unavailable(client, status):
    responses.get(f"{REPO}/branches", status=status, body="")

    with pytest.raises(Unavailable):
        list(client.iter_branches("PRJ", "web"))


@responses.activate
def test_an_unexpected_status_is_still_a_bitbucket_error(client):
    responses.get(f"{REPO}/branches", status=415, json=dc.errors("Unsupported media type", None))

    with pytest.raises(BitbucketError) as info:
        list(client.iter_branches("PRJ", "web"))

    assert info.value.status == 415


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_workspace(".."),
        lambda c: list(c.iter_repositories("PRJ/../OTHER")),
        lambda c: c.get_repository("PRJ", ".."),
        lambda c: c.get_repository("PRJ", "web/../../OTHER/repos/secret"),
        lambda c: c.get_file("PRJ", "web", "main", "src/../../../OTHER/repos/secret/raw/key"),
        lambda c: c.get_file("PRJ", "web", "main", "src/%2e%2e/x"),
        lambda c: list(c.iter_directory("PRJ", "web", "main", "a/./b")),
        lambda c: c.get_commit("PRJ", "web", "../../other"),
        lambda c: list(c.iter_commits("PRJ", "web", branch="feature/../../x")),
        lambda c: list(c.iter_pull_requests(".", "web")),
        lambda c: c.get_pull_request_diff("PRJ", "", 3),
        lambda c: c.get_branch("PRJ", "web", "a/../b"),
    ],
)
def test_unsafe_keys_slugs_paths_and_refs_are_refused_before_any_request(client, call):
    with responses.RequestsMock() as mocked:
        with pytest.raises(UnsafePath):
            call(client)
        assert len(mocked.calls) == 0


def test_only_data_center_credentials_are_accepted():
    from bitbucket_sync.client import ApiToken

    with pytest.raises(TypeError):
        DataCenterClient(ApiToken("ada@example.test", "t"), base_url=dc.SERVER)
    assert DataCenterClient(AccessToken("x"), base_url=dc.SERVER).base_url == dc.SERVER


@responses.activate
def test_an_unlicensed_user_refuses_the_credential(client):
    responses.get(
        REPO,
        status=401,
        json=dc.errors(
            "You are not currently licensed to use Bitbucket.",
            "com.atlassian.bitbucket.auth.NoAccessAuthenticationException",
        ),
    )

    with pytest.raises(AuthError) as info:
        client.get_repository("PRJ", "web")

    assert info.value.refuses_credential
