"""Tags and the branching model in the client: fields, bodies, strict parsing, names kept inside the URL."""

import json

import pytest
import responses

from bitbucket_sync.client import ApiToken, BadRequest, BitbucketClient, BitbucketSchemaError, UnsafePath

BASE = "https://api.example.test/2.0"
R = f"{BASE}/repositories/acme/web"
HASH = "a" * 40


def _tag(name: str, message: str | None = "Release\n") -> dict:
    out: dict = {
        "type": "tag",
        "name": name,
        "target": {"type": "commit", "hash": HASH, "date": "2026-09-01T10:00:00+00:00", "message": "m\n"},
        "date": "2026-09-02T10:00:00+00:00",
        "tagger": {"type": "author", "raw": "Ada <ada@example.test>"},
    }
    if message is not None:
        out["message"] = message
    return out


@pytest.fixture
def client():
    return BitbucketClient(ApiToken("ada@example.test", "tok-secret-0001"), base_url=BASE)


@responses.activate
def test_iter_tags_reads_message_date_and_tagger(client):
    responses.get(f"{R}/refs/tags", json={"values": [_tag("v1"), _tag("light", message=None)]})
    tags = list(client.iter_tags("acme", "web"))
    assert [(t.name, t.message, t.target.hash) for t in tags] == [("v1", "Release", HASH), ("light", "", HASH)]
    assert tags[0].tagger is not None and tags[0].tagger.raw == "Ada <ada@example.test>"
    params = responses.calls[0].request.params
    assert params["sort"] == "-target.date" and "values.tagger.raw" in params["fields"].split(",")


@responses.activate
def test_iter_tags_without_a_target_fails_at_the_boundary(client):
    responses.get(f"{R}/refs/tags", json={"values": [{"type": "tag", "name": "v1"}]})
    with pytest.raises(BitbucketSchemaError, match="target"):
        list(client.iter_tags("acme", "web"))


@responses.activate
def test_create_tag_sends_the_message_only_when_given(client):
    responses.post(f"{R}/refs/tags", json=_tag("v2"), status=201)
    client.create_tag("acme", "web", name="v2", target=HASH, message="Release")
    client.create_tag("acme", "web", name="v2", target=HASH)
    bodies = [json.loads(call.request.body) for call in responses.calls]
    assert bodies == [
        {"name": "v2", "target": {"hash": HASH}, "message": "Release"},
        {"name": "v2", "target": {"hash": HASH}},
    ]


@responses.activate
def test_create_tag_refused_carries_bitbuckets_fields(client):
    responses.post(
        f"{R}/refs/tags",
        json={"type": "error", "error": {"message": "Tag 'v2' already exists.", "fields": {"name": ["exists"]}}},
        status=400,
    )
    with pytest.raises(BadRequest) as caught:
        client.create_tag("acme", "web", name="v2", target=HASH)
    assert caught.value.fields == {"name": ["exists"]}


@responses.activate
def test_delete_tag_encodes_the_name_as_one_segment(client):
    responses.delete(f"{R}/refs/tags/rel%2F1.0%20%23x", status=204)
    client.delete_tag("acme", "web", "rel/1.0 #x")
    assert responses.calls[0].request.url == f"{R}/refs/tags/rel%2F1.0%20%23x"


def test_delete_tag_refuses_a_dot_dot_name_before_sending(client):
    with pytest.raises(UnsafePath):
        client.delete_tag("acme", "web", "../../x")


@responses.activate
def test_effective_branching_model_enabled_prefixes_and_development(client):
    responses.get(
        f"{R}/effective-branching-model",
        json={
            "type": "effective_repo_branching_model",
            "development": {
                "name": "develop",
                "use_mainbranch": False,
                "branch": {"type": "branch", "name": "develop"},
            },
            "production": {"name": "main", "use_mainbranch": True},
            "branch_types": [{"kind": "feature", "prefix": "feat/"}, {"kind": "hotfix", "prefix": "hotfix/"}],
        },
    )
    model = client.get_effective_branching_model("acme", "web")
    assert (model.development, model.development_exists, model.production) == ("develop", True, "main")
    assert model.branch_types == (("feature", "feat/"), ("hotfix", "hotfix/"))
    assert "branch_types.prefix" in responses.calls[0].request.params["fields"].split(",")


@responses.activate
def test_effective_branching_model_null_name_spelled_as_text(client):
    responses.get(
        f"{R}/effective-branching-model",
        json={"type": "effective_repo_branching_model", "development": {"name": "null", "use_mainbranch": True}},
    )
    model = client.get_effective_branching_model("acme", "web")
    assert model.development is None and not model.development_exists and model.branch_types == ()
