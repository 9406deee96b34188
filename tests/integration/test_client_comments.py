"""Review threads through the client against the emulator over real HTTP: inline comments on either side of the
diff, replies, and the listing (with its ``fields=``) read back into full records."""

from __future__ import annotations

import pytest

from bitbucket_sync.client import ApiToken, BitbucketClient, NotFound

WS = "acme"
REPO = "api-server"


def _client(emulator, username: str) -> BitbucketClient:
    account = emulator.account(username)
    return BitbucketClient(ApiToken(account["email"], account["api_token"]), base_url=emulator.api_url)


@pytest.fixture
def pr_id(emulator) -> int:
    alice = _client(emulator, "alice")
    tip = alice.get_branch(WS, REPO, "main").target.hash
    alice.create_branch(WS, REPO, name="feature/threads", target=tip)
    alice.commit_files(
        WS, REPO, branch="feature/threads", message="Threads", files={"src/threads.py": "a\nb\nc\n"}, parents=[tip]
    )
    return alice.create_pull_request(WS, REPO, title="Threads", source_branch="feature/threads").id


def test_inline_comments_and_a_reply_come_back_as_one_thread(emulator, pr_id):
    alice, bob = _client(emulator, "alice"), _client(emulator, "bob")
    bob_uuid = emulator.account("bob")["uuid"]

    new_side = bob.comment_pull_request(
        WS, REPO, pr_id, content="Rename **b**", inline_path="src/threads.py", inline_to=2
    )
    old_side = bob.comment_pull_request(WS, REPO, pr_id, content="Gone?", inline_path="src/threads.py", inline_from=1)
    reply = alice.comment_pull_request(WS, REPO, pr_id, content="Done", parent_id=new_side.id)
    general = alice.comment_pull_request(WS, REPO, pr_id, content="Ready for another look")

    assert (new_side.inline_path, new_side.inline_to, new_side.inline_from) == ("src/threads.py", 2, None)
    assert (old_side.inline_from, old_side.inline_to) == (1, None)
    assert reply.parent_id == new_side.id and not reply.is_inline
    assert not general.is_inline and not general.is_reply

    listed = {c.id: c for c in alice.iter_pull_request_comments(WS, REPO, pr_id)}

    assert list(listed) == [new_side.id, old_side.id, reply.id, general.id]
    root = listed[new_side.id]
    assert root.user is not None and root.user.uuid == bob_uuid
    assert root.content == "Rename **b**" and "Rename" in root.html  # rendered by Bitbucket, never by us
    assert (root.inline_path, root.inline_to) == ("src/threads.py", 2)
    assert root.html_url is not None and root.html_url.endswith(f"#comment-{new_side.id}")
    assert not root.pending and not root.deleted and not root.resolved
    assert listed[reply.id].parent_id == new_side.id
    assert listed[old_side.id].inline_from == 1

    assert alice.get_pull_request_comment(WS, REPO, pr_id, reply.id).parent_id == new_side.id
    with pytest.raises(NotFound):
        alice.get_pull_request_comment(WS, REPO, pr_id, 999_999)
