"""Mentions over the emulator: a comment written with `@{account_id}` shows in the pull request's discussion as a link
to the person's page, with the name the mirror knows, and one query names everyone the discussion mentions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bitbucket_sync.models import Account

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice(client, demo_mirror):
    client.force_login(demo_mirror.users["alice"])
    return demo_mirror


def test_discussion_links_mentions_to_the_persons_page(client, alice):
    pr = alice.open_pr("api-server")
    carol, dave = (Account.objects.get(account_id=alice.emulator.account(u)["account_id"]) for u in ("carol", "dave"))
    bob = alice.client("bob")
    bob.comment_pull_request("acme", "api-server", pr.number, content=f"@{{{carol.account_id}}} can you look?")
    bob.comment_pull_request(
        "acme", "api-server", pr.number, content=f"and @{{{dave.account_id}}}, not `@{{{carol.account_id}}}`"
    )
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/acme/api-server/pull-requests/{pr.number}/activity", **HX)
    text = response.content.decode()
    assert f'<a class="mention" href="/-/people/{carol.account_id}/"' in text and f">@{carol.display_name}</a>" in text
    assert f'href="/-/people/{dave.account_id}/"' in text
    assert f"<code>@{{{carol.account_id}}}</code>" in text
    names = [q for q in queries if q["sql"].startswith('SELECT "bitbucket_sync_account"."account_id"')]
    assert len(names) == 1  # one query names everyone the discussion mentions
    # The link leads to a page the viewer may open.
    assert client.get(f"/-/people/{carol.account_id}/").status_code == 200
