"""Pull request comments as review threads: what the client sends to create, edit, delete, resolve and reopen them,
how it reads the shapes Bitbucket answers with, and how it names Bitbucket's refusals."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from bitbucket_sync.client import (
    AlreadyResolved,
    ApiToken,
    AuthError,
    BitbucketClient,
    BitbucketSchemaError,
    CommentRefused,
    Conflict,
    NotFound,
    UnsafePath,
    records,
)

BASE = "https://api.example.test/2.0"
PR = f"{BASE}/repositories/acme/web/pullrequests/7"
WHEN = "2026-09-18T06:44:26.594293+00:00"
ADA = {"type": "user", "uuid": "{u-ada}", "account_id": "557058:ada", "display_name": "Ada", "nickname": "ada"}

# The shape of an inline comment in a list: inline has exactly from/to/path/start_from/start_to, nulls kept, and
# links.code points at the diff the comment was made on.
LISTED_INLINE = {
    "id": 105331691,
    "type": "pullrequest_comment",
    "created_on": "2019-06-11T21:00:24.444899+00:00",
    "updated_on": "2019-06-11T21:00:24.456257+00:00",
    "content": {"type": "rendered", "raw": "**Nit**", "markup": "markdown", "html": "<p><strong>Nit</strong></p>"},
    "user": ADA,
    "deleted": False,
    "pending": False,
    "inline": {"from": None, "to": 5, "path": "src/a.py", "start_from": None, "start_to": None},
    "links": {
        "self": {"href": f"{PR}/comments/105331691"},
        "html": {"href": "https://bitbucket.example.test/acme/web/pull-requests/7/_/diff#comment-105331691"},
        "code": {"href": f"{BASE}/repositories/acme/web/diff/acme/web:a31d1b70c972..b563d040b08e?path=src%2Fa.py"},
    },
    "pullrequest": {"type": "pullrequest", "id": 7, "title": "T", "draft": False, "queued": False},
}
RESOLUTION = {"type": "comment_resolution", "user": ADA, "created_on": WHEN}


@pytest.fixture
def client():
    return BitbucketClient(ApiToken("ada@example.test", "tok-secret-0001"), base_url=BASE)


def _error(message: str, **extra) -> dict:
    return {"type": "error", "error": {"message": message, **extra}}


# -- reading ---------------------------------------------------------------------------------------------------


def test_a_listed_inline_comment_reads_its_anchor_content_author_and_links():
    c = records.Comment.from_json(LISTED_INLINE, endpoint="GET x")

    assert (c.id, c.content, c.html) == (105331691, "**Nit**", "<p><strong>Nit</strong></p>")
    assert c.user is not None and c.user.uuid == "{u-ada}"
    assert c.created_on == datetime(2019, 6, 11, 21, 0, 24, 444899, tzinfo=UTC)
    assert c.updated_on is not None and c.updated_on > c.created_on
    assert (c.inline_path, c.inline_from, c.inline_to, c.inline_start_from, c.inline_start_to) == (
        "src/a.py",
        None,
        5,
        None,
        None,
    )
    # Lists leave `outdated` out: unknown, not "current".
    assert c.inline_outdated is None
    assert c.is_inline and not c.is_reply and not c.resolved and not c.pending and not c.deleted
    assert c.html_url.endswith("#comment-105331691")
    assert c.code_url.endswith("a31d1b70c972..b563d040b08e?path=src%2Fa.py")


def test_the_post_answer_carries_outdated_and_revisions_and_a_range():
    data = {
        **LISTED_INLINE,
        "inline": {
            "from": None,
            "to": 14,
            "path": "src/a.py",
            "start_from": None,
            "start_to": 11,
            "outdated": False,
            "context_lines": "",
            "src_rev": "a31d1b70c972",
            "dest_rev": "b563d040b08e",
            "base_rev": None,
        },
    }
    c = records.Comment.from_json(data, endpoint="POST x")

    assert (c.inline_start_to, c.inline_to, c.inline_outdated) == (11, 14, False)


def test_an_old_side_range_and_an_outdated_anchor():
    data = {**LISTED_INLINE, "inline": {"path": "b.txt", "from": 9, "start_from": 7, "to": None, "outdated": True}}
    c = records.Comment.from_json(data, endpoint="GET x")

    assert (c.inline_start_from, c.inline_from, c.inline_to, c.inline_outdated) == (7, 9, None, True)


def test_a_reply_a_resolved_root_a_draft_and_a_deleted_comment():
    reply = records.Comment.from_json(
        {
            "id": 12,
            "created_on": WHEN,
            "content": {"raw": "Thanks", "html": "<p>Thanks</p>"},
            "user": ADA,
            "parent": {"id": 11, "links": {"self": {"href": f"{PR}/comments/11"}}},
        },
        endpoint="GET x",
    )
    resolved = records.Comment.from_json(
        {"id": 11, "created_on": WHEN, "updated_on": WHEN, "content": {"raw": "Fix"}, "resolution": RESOLUTION},
        endpoint="GET x",
    )
    draft = records.Comment.from_json({"id": 13, "created_on": WHEN, "pending": True}, endpoint="GET x")
    deleted = records.Comment.from_json(
        {"id": 14, "created_on": WHEN, "updated_on": WHEN, "deleted": True, "content": {"raw": "", "html": ""}},
        endpoint="GET x",
    )

    assert reply.parent_id == 11 and reply.is_reply and not reply.is_inline
    assert resolved.resolved and resolved.resolution.user.uuid == "{u-ada}"
    assert resolved.resolution.created_on == datetime(2026, 9, 18, 6, 44, 26, 594293, tzinfo=UTC)
    assert draft.pending and draft.user is None and draft.content == ""
    assert deleted.deleted and deleted.content == "" and deleted.html == ""


def test_a_resolution_without_its_date_is_a_schema_error():
    with pytest.raises(BitbucketSchemaError, match=r"resolution\.created_on"):
        records.Comment.from_json({"id": 1, "created_on": WHEN, "resolution": {"user": ADA}}, endpoint="GET x")


def test_the_comment_fields_ask_for_everything_the_record_reads():
    fields = set(records.Comment.FIELDS)
    for path in (
        "parent.id",
        "inline.start_from",
        "inline.start_to",
        "inline.outdated",
        "pending",
        "resolution.created_on",
        "resolution.user.uuid",
        "links.code.href",
        "links.html.href",
    ):
        assert path in fields, path
    # Not the condensed pull request each comment repeats, nor whole link maps.
    assert not any(f.startswith("pullrequest") or f == "links" for f in fields)


# -- listing and one comment ----------------------------------------------------------------------------------


@responses.activate
def test_listing_asks_only_for_the_stored_fields(client):
    responses.get(f"{PR}/comments", json={"values": [LISTED_INLINE]})

    (c,) = client.iter_pull_request_comments("acme", "web", 7)

    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    fields = query["fields"][0].split(",")
    assert "values.inline.start_to" in fields and "values.resolution.created_on" in fields and "next" in fields
    assert query["pagelen"] == ["100"]
    assert c.inline_to == 5


@responses.activate
def test_one_comment_is_read_with_the_same_fields(client):
    responses.get(f"{PR}/comments/11", json={**LISTED_INLINE, "id": 11, "resolution": RESOLUTION})

    c = client.get_pull_request_comment("acme", "web", 7, 11)

    fields = responses.calls[0].request.params["fields"].split(",")
    assert "resolution.user.uuid" in fields and not any(f.startswith("values.") for f in fields)
    assert c.resolved


# -- creating -----------------------------------------------------------------------------------------------------


def _created(**extra) -> dict:
    return {"id": 50, "created_on": WHEN, "content": {"raw": "x"}, "user": ADA, **extra}


@responses.activate
@pytest.mark.parametrize(
    ("kwargs", "inline"),
    [
        ({"inline_path": "src/a.py", "inline_to": 12}, {"path": "src/a.py", "to": 12}),
        ({"inline_path": "src/a.py", "inline_from": 4}, {"path": "src/a.py", "from": 4}),
        (
            {"inline_path": "src/a.py", "inline_start_to": 10, "inline_to": 12},
            {"path": "src/a.py", "start_to": 10, "to": 12},
        ),
        (
            {"inline_path": "src/a.py", "inline_start_from": 3, "inline_from": 4},
            {"path": "src/a.py", "start_from": 3, "from": 4},
        ),
        ({"inline_path": "docs/read me.md"}, {"path": "docs/read me.md"}),
    ],
)
def test_inline_anchors_are_sent_as_bitbucket_reads_them(client, kwargs, inline):
    responses.post(
        f"{PR}/comments",
        match=[matchers.json_params_matcher({"content": {"raw": "Nit"}, "inline": inline})],
        json=_created(inline=inline),
        status=201,
    )

    c = client.comment_pull_request("acme", "web", 7, content="Nit", **kwargs)

    assert c.inline_path == inline["path"]


@responses.activate
def test_a_reply_names_its_parent_and_a_draft_says_pending(client):
    responses.post(
        f"{PR}/comments",
        match=[matchers.json_params_matcher({"content": {"raw": "Thanks"}, "parent": {"id": 11}, "pending": True})],
        json=_created(parent={"id": 11}, pending=True),
        status=201,
    )
    responses.post(
        f"{PR}/comments",
        match=[matchers.json_params_matcher({"content": {"raw": "Global"}})],
        json=_created(),
        status=201,
    )

    reply = client.comment_pull_request("acme", "web", 7, content="Thanks", parent_id=11, pending=True)
    plain = client.comment_pull_request("acme", "web", 7, content="Global")

    assert reply.parent_id == 11 and reply.pending and not plain.pending


@pytest.mark.parametrize(
    "kwargs",
    [
        {"inline_to": 3},
        {"inline_path": "a.py", "inline_start_to": 3},
        {"inline_path": "a.py", "inline_start_to": 5, "inline_to": 3},
        {"inline_path": "a.py", "inline_to": 0},
        {"inline_path": "a.py", "inline_start_from": 2},
    ],
)
def test_anchors_that_cannot_be_right_are_refused_before_any_request(client, kwargs):
    with responses.RequestsMock() as mocked, pytest.raises(ValueError):
        client.comment_pull_request("acme", "web", 7, content="x", **kwargs)
    assert not mocked.calls


def test_an_inline_path_climbing_out_is_refused(client):
    with responses.RequestsMock() as mocked, pytest.raises(UnsafePath):
        client.comment_pull_request("acme", "web", 7, content="x", inline_path="../etc/passwd", inline_to=1)
    assert not mocked.calls


# -- editing, deleting, resolving, reopening -------------------------------------------------------------------


@responses.activate
def test_edit_puts_the_new_raw_content(client):
    responses.put(
        f"{PR}/comments/11",
        match=[matchers.json_params_matcher({"content": {"raw": "Better words"}})],
        json=_created(id=11, content={"raw": "Better words", "html": "<p>Better words</p>"}, updated_on=WHEN),
    )

    c = client.update_pull_request_comment("acme", "web", 7, 11, content="Better words")

    assert (c.id, c.content, c.html) == (11, "Better words", "<p>Better words</p>")


@responses.activate
def test_publish_puts_pending_false_and_nothing_else(client):
    responses.put(
        f"{PR}/comments/11",
        match=[matchers.json_params_matcher({"pending": False})],
        json=_created(id=11, pending=False),
    )

    c = client.publish_pull_request_comment("acme", "web", 7, 11)

    assert c.id == 11 and c.pending is False


@responses.activate
def test_publish_someone_elses_draft_is_not_found(client):
    responses.put(f"{PR}/comments/12", status=404, json=_error("Comment 12 not found"))

    with pytest.raises(NotFound):
        client.publish_pull_request_comment("acme", "web", 7, 12)


@responses.activate
def test_delete_sends_a_bodiless_delete(client):
    responses.delete(f"{PR}/comments/11", status=204)

    assert client.delete_pull_request_comment("acme", "web", 7, 11) is None

    assert responses.calls[0].request.method == "DELETE" and not responses.calls[0].request.body


@responses.activate
def test_resolve_posts_and_reads_the_resolution_reopen_deletes_it(client):
    responses.post(f"{PR}/comments/11/resolve", json=RESOLUTION)
    responses.delete(f"{PR}/comments/11/resolve", status=204)

    resolution = client.resolve_pull_request_comment("acme", "web", 7, 11)
    reopened = client.reopen_pull_request_comment("acme", "web", 7, 11)

    assert resolution.user.uuid == "{u-ada}" and resolution.created_on.tzinfo is not None
    assert reopened is None
    assert [(c.request.method, c.request.body) for c in responses.calls] == [("POST", None), ("DELETE", None)]


def test_a_comment_id_cannot_smuggle_a_path(client):
    with responses.RequestsMock() as mocked, pytest.raises(ValueError):
        client.delete_pull_request_comment("acme", "web", 7, "11/../../approve")
    assert not mocked.calls


# -- refusals -------------------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize(
    ("call", "method", "path"),
    [
        (lambda c: c.update_pull_request_comment("acme", "web", 7, 11, content="x"), "PUT", "/comments/11"),
        (lambda c: c.delete_pull_request_comment("acme", "web", 7, 11), "DELETE", "/comments/11"),
        (lambda c: c.publish_pull_request_comment("acme", "web", 7, 11), "PUT", "/comments/11"),
        (lambda c: c.resolve_pull_request_comment("acme", "web", 7, 12), "POST", "/comments/12/resolve"),
        (lambda c: c.reopen_pull_request_comment("acme", "web", 7, 12), "DELETE", "/comments/12/resolve"),
    ],
)
def test_a_403_about_the_comment_is_a_comment_refusal_with_bitbucket_words(client, call, method, path):
    responses.add(
        method,
        f"{PR}{path}",
        status=403,
        json=_error("Comment is not a top-level comment"),
        headers={"X-Request-Id": "req-403"},
    )

    with pytest.raises(CommentRefused) as info:
        call(client)

    err = info.value
    assert isinstance(err, AuthError)  # callers catching the family still catch it
    assert err.message == "Comment is not a top-level comment"
    assert (err.status, err.request_id) == (403, "req-403")
    assert err.endpoint == f"{method} /repositories/acme/web/pullrequests/7{path}"


@responses.activate
def test_a_403_naming_missing_scopes_stays_a_credential_problem(client):
    responses.put(
        f"{PR}/comments/11",
        status=403,
        json=_error(
            "Your credentials lack one or more required privilege scopes.",
            detail={"granted": ["read:pullrequest:bitbucket"], "required": ["write:pullrequest:bitbucket"]},
        ),
    )

    with pytest.raises(AuthError) as info:
        client.update_pull_request_comment("acme", "web", 7, 11, content="x")

    assert not isinstance(info.value, CommentRefused)
    assert info.value.required_scopes == ("write:pullrequest:bitbucket",)


@responses.activate
def test_resolving_a_resolved_thread_is_already_resolved(client):
    responses.post(f"{PR}/comments/11/resolve", status=409, json=_error("Comment has already been resolved."))

    with pytest.raises(AlreadyResolved) as info:
        client.resolve_pull_request_comment("acme", "web", 7, 11)

    assert isinstance(info.value, Conflict) and info.value.status == 409
    assert info.value.message == "Comment has already been resolved."


@responses.activate
def test_an_unknown_comment_or_a_reopen_of_an_open_thread_is_not_found(client):
    responses.delete(f"{PR}/comments/99/resolve", status=404, json=_error("Comment not found"))
    responses.put(f"{PR}/comments/99", status=404, json=_error("Comment not found"))

    with pytest.raises(NotFound):
        client.reopen_pull_request_comment("acme", "web", 7, 99)
    with pytest.raises(NotFound):
        client.update_pull_request_comment("acme", "web", 7, 99, content="x")
