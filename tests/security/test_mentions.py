"""Mentions leak no one and run nothing.

The holes: the `@` type-ahead listing people of a workspace the viewer cannot see (or of another workspace than the
one in the URL, or who left it); a display name from Bitbucket running as HTML in the suggestions or in a rendered
mention; a crafted `@{…}` in a description or comment becoming markup or a link to somewhere else.
"""

from datetime import UTC, datetime

import pytest

from tests import factories as f

HOSTILE_NAME = '<script>alert("name")</script><img src=x onerror=alert(1)>'
HOSTILE_NICK = '"><svg onload=alert(2)>'


@pytest.fixture
def two_workspaces(db, browse_encryption_key):
    viewer = f.user("viewer")
    acme, globex = f.workspace("acme"), f.workspace("globex")
    repo = f.repository(acme, "api")
    f.grant(viewer, repo)
    f.repository(globex, "secret")  # the viewer has no access to any of globex's repositories
    people = people_around(viewer, acme, globex, outsider="Oscar Outsider", former="Olivia Oldmember")
    return {"viewer": viewer, "repo": repo} | people


def people_around(viewer, seen, unseen, *, outsider: str, former: str) -> dict:
    """The people a visibility test needs around `viewer`: their own account (`me`, vera) in workspace `seen` with
    their credential, a member of `seen` with a hostile name (`hostile`), a member of `unseen` only (`outsider`,
    oscar) and one who has left `seen` (`left`, olivia). Shared with the pickers' holes (test_pickers)."""
    me = f.account("Vera Viewer", nickname="vera")
    f.member(seen, me)
    f.credential(viewer, acct=me)
    hostile = f.account("Mallory", nickname="mallory")
    hostile.display_name, hostile.nickname = HOSTILE_NAME, HOSTILE_NICK
    hostile.save(update_fields=["display_name", "nickname"])
    f.member(seen, hostile)
    stranger = f.account(outsider, nickname="oscar")
    f.member(unseen, stranger)
    left = f.account(former, nickname="olivia")
    f.member(seen, left)
    left.memberships.update(removed_at=datetime(2026, 1, 1, tzinfo=UTC))
    return {"me": me, "hostile": hostile, "outsider": stranger, "left": left}


def test_suggestions_never_list_another_workspaces_members_or_former_members(client, two_workspaces):
    client.force_login(two_workspaces["viewer"])
    text = client.get("/acme/members/suggest", {"q": "er"}).content.decode()
    assert "Vera Viewer" in text  # the query matched someone, so the list was really built
    assert "Oscar" not in text and two_workspaces["outsider"].account_id not in text
    assert "Olivia" not in text and two_workspaces["left"].account_id not in text
    assert client.get("/globex/members/suggest", {"q": "er"}).status_code == 404


def test_hostile_display_names_are_inert_in_suggestions(client, two_workspaces):
    client.force_login(two_workspaces["viewer"])
    text = client.get("/acme/members/suggest", {"q": "script"}).content.decode()
    assert 'role="option"' in text
    assert "<script" not in text and "<img" not in text and "<svg" not in text
    assert "&lt;script&gt;" in text and 'data-display-name="&lt;script&gt;' in text


def test_hostile_display_names_and_crafted_mentions_are_inert_on_the_page(client, two_workspaces):
    hostile = two_workspaces["hostile"]
    description = "\n\n".join(
        [
            f"Ping @{{{hostile.account_id}}}",
            '@{"><script>alert(3)</script>}',
            f'@{{{hostile.account_id}"><img src=x onerror=alert(4)>}}',
            "@{javascript:alert(5)}",
        ]
    )
    pr = f.pull_request(two_workspaces["repo"], description=description)
    client.force_login(two_workspaces["viewer"])
    text = client.get(f"/acme/api/pull-requests/{pr.number}").content.decode()
    description_html = text[text.index("Ping ") : text.index("alert(5)") + 20]
    assert f'<a class="mention" href="/-/people/{hostile.account_id}/"' in description_html
    assert '>@&lt;script&gt;alert("name")&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</a>' in description_html
    for tag in ("<script", "<img", "<svg"):
        assert tag not in description_html
    assert 'href="javascript' not in text


def test_preview_names_no_one_the_viewer_could_not_open(client, two_workspaces):
    """The Preview tab's renderer reads the mirror only for mentions' names: those of the workspace in the URL's
    live members, and only for a workspace the viewer sees. Someone of a hidden workspace, or who left, stays an
    unknown user; a hidden workspace's preview is a 404, whatever the text."""
    outsider, left, hostile = two_workspaces["outsider"], two_workspaces["left"], two_workspaces["hostile"]
    text = f"@{{{outsider.account_id}}} @{{{left.account_id}}} @{{{hostile.account_id}}}"
    client.force_login(two_workspaces["viewer"])
    html = client.post("/-/markdown/acme/preview", {"text": text}).content.decode()
    assert html.count("@unknown user") == 2 and f'href="/-/people/{hostile.account_id}/"' in html
    assert "Oscar" not in html and "Olivia" not in html
    assert outsider.account_id not in html and left.account_id not in html
    assert "<script" not in html and "<img" not in html and "<svg" not in html  # the hostile name, escaped
    assert "&lt;script&gt;" in html
    refused = client.post("/-/markdown/globex/preview", {"text": text})
    assert refused.status_code == 404 and "Oscar" not in refused.content.decode()
