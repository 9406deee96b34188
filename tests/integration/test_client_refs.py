"""Tags and the branching model through the client against the emulator over HTTP."""

from bitbucket_sync.client import ApiToken, BitbucketClient, NotFound


def _client(emulator, username: str) -> BitbucketClient:
    account = emulator.account(username)
    return BitbucketClient(ApiToken(account["email"], account["api_token"]), base_url=emulator.api_url)


def test_tag_round_trip(emulator):
    client = _client(emulator, "bob")
    tip = client.get_branch("acme", "api-server", "main").target.hash
    created = client.create_tag("acme", "api-server", name="rel/2.0", target=tip, message="Second release")
    assert (created.name, created.message, created.target.hash) == ("rel/2.0", "Second release", tip)
    assert created.tagger is not None and "bob@acme.test" in created.tagger.raw
    names = [t.name for t in client.iter_tags("acme", "api-server")]
    assert set(names) == {"v1.4.0", "rel/2.0"}
    client.delete_tag("acme", "api-server", "rel/2.0")
    assert [t.name for t in client.iter_tags("acme", "api-server")] == ["v1.4.0"]
    try:
        client.delete_tag("acme", "api-server", "rel/2.0")
    except NotFound:
        pass
    else:
        raise AssertionError("deleting a deleted tag should be a 404")


def test_effective_branching_model_of_the_demo(emulator):
    client = _client(emulator, "grace")
    model = client.get_effective_branching_model("acme", "mobile-app")
    assert (model.development, model.development_exists) == ("develop", True)
    assert model.branch_types == (("feature", "feature/"), ("bugfix", "fix/"), ("hotfix", "hotfix/"))
    default = client.get_effective_branching_model("acme", "api-server")
    assert default.development == "main" and [p for _, p in default.branch_types][:2] == ["feature/", "bugfix/"]
