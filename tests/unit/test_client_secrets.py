"""No secret appears in a repr, an error's str/repr, or a log line."""

import logging

import pytest
import requests
import responses

from bitbucket_sync.client import AccessToken, ApiToken, AppPassword, BitbucketClient, BitbucketError

BASE = "https://api.example.test/2.0"
SECRETS = {
    "api": "ATATT3xFfGF0-api-token-SECRET-1234",
    "app": "app-password-SECRET-5678",
    "access": "ATCTT3xFfGN0-access-token-SECRET-9012",
}
CREDENTIALS = [
    ApiToken("ada@example.test", SECRETS["api"]),
    AppPassword("ada", SECRETS["app"]),
    AccessToken(SECRETS["access"]),
]


@pytest.mark.parametrize("credential", CREDENTIALS, ids=lambda c: c.kind)
def test_credential_repr_and_str_hide_the_secret(credential):
    for text in (repr(credential), str(credential), f"{credential}", repr([credential])):
        assert credential.secret not in text
    assert credential.last4 == credential.secret[-4:]


def test_short_secrets_show_no_last4():
    assert AccessToken("abc").last4 == ""


@pytest.mark.parametrize("credential", CREDENTIALS, ids=lambda c: c.kind)
@responses.activate
def test_errors_and_logs_never_carry_the_secret(credential, caplog):
    caplog.set_level(logging.DEBUG)
    secret = credential.secret
    client = BitbucketClient(credential, base_url=BASE)
    assert secret not in repr(client)
    # A server that echoes the credential back must not get it into our errors.
    responses.get(f"{BASE}/user", status=401, json={"type": "error", "error": {"message": f"bad token {secret}"}})
    responses.get(
        f"{BASE}/workspaces/acme",
        status=403,
        json={"type": "error", "error": {"message": "no", "detail": f"granted nothing to {secret}"}},
    )
    responses.get(f"{BASE}/repositories/acme", status=429, body=f"slow down {secret}", content_type="text/plain")
    responses.get(f"{BASE}/repositories/acme/web", body=requests.ConnectionError(f"dropped {secret}"))
    responses.get(f"{BASE}/repositories/acme/web", body=requests.ConnectionError(f"dropped {secret}"))
    responses.get(f"{BASE}/repositories/acme/web/refs/branches", body=requests.ReadTimeout(f"slow {secret}"))

    calls = [
        client.get_current_user,
        lambda: client.get_workspace("acme"),
        lambda: list(client.iter_repositories("acme")),
        lambda: client.get_repository("acme", "web"),
        lambda: list(client.iter_branches("acme", "web")),
    ]
    errors = []
    for call in calls:
        with pytest.raises(BitbucketError) as info:
            call()
        errors.append(info.value)

    for err in errors:
        for text in (str(err), repr(err), err.message, str(err.detail), str(err.__cause__), str(err.__context__)):
            assert secret not in text, text
    assert secret not in caplog.text
    assert caplog.records  # something was logged, and none of it was the secret
