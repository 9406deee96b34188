"""A diff's review threads read the code they were made on from each comment's `links.code`, a URL from Bitbucket
data: it must never choose where a request goes.

What guards it: only the two commit hashes are taken from the link, and only when it names the pull request's own
repository; the request is built from the mirror's names and sent to the viewer's own Bitbucket; the comment's path
(also Bitbucket data) goes through the client's path check, so a traversal is refused before any request.
"""

import pytest
import responses

from bitbucket_sync.browse import comment_code_spec
from bitbucket_sync.client import ApiToken, BitbucketClient, UnsafePath
from bitbucket_sync.models import PullRequest, Repository

BASE = "http://bitbucket.test/2.0"
AB = "a31d1b70c972..b563d040b08e"


@pytest.mark.parametrize(
    "link",
    [
        f"https://evil.example/2.0/repositories/acme/api-server/diff/acme/api-server:{AB}?path=x",
        f"https://api.bitbucket.org/2.0/repositories/acme/api-server/diff/acme/api-server:{AB}?path=../../x",
    ],
)
def test_a_code_link_gives_only_commit_hashes_never_a_host_or_a_path(link):
    pull_request = PullRequest(repository=Repository(full_name="acme/api-server"))
    assert comment_code_spec(link, pull_request=pull_request) == AB


@pytest.mark.parametrize(
    "link",
    [
        f"https://api.bitbucket.org/2.0/repositories/alice-labs/experiments/diff/alice-labs/experiments:{AB}",
        f"https://api.bitbucket.org/2.0/repositories/acme/api-server/diff/alice-labs/experiments:{AB}",
        f"https://api.bitbucket.org/2.0/repositories/acme/api-server/diff/acme/api-server:{AB}/../../../alice-labs",
        f"https://api.bitbucket.org/2.0/repositories/acme/api-server/diff/acme/api-server:{AB}%2f..%2f..%2fx",
        f"file:///2.0/repositories/acme/api-server/diff/{AB}",
    ],
)
def test_a_code_link_to_another_repository_or_stepping_out_is_ignored(link):
    pull_request = PullRequest(repository=Repository(full_name="acme/api-server"))
    assert comment_code_spec(link, pull_request=pull_request) is None


@pytest.mark.parametrize("path", ["../../../../alice-labs/experiments/src/main/README.md", "src/../../x", "a//b"])
def test_a_comment_path_that_steps_out_is_refused_before_any_request(path):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        client = BitbucketClient(ApiToken("ada@example.com", "token"), base_url=BASE)
        with pytest.raises(UnsafePath):
            client.get_diff("acme", "api-server", AB, path=path)
        assert len(mock.calls) == 0
