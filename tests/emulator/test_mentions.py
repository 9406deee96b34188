"""Mentions in Markdown (`@{account_id}`) come back in `content.html` as Bitbucket renders them: a span carrying the
account id, with the person's display name."""

from __future__ import annotations

from bitbucket_emulator import Emulator

from .helpers import open_pr, session

R = "/repositories/acme/api-server"


def test_comment_and_description_mentions_render_as_bitbucket_spans(emulator: Emulator):
    s = session(emulator, "alice")
    carol = emulator.account("carol")
    pr = open_pr(emulator, "api-server", "mentions/render")
    unknown = "557058:00000000-0000-4000-8000-000000000000"
    raw = f"Over to @{{{carol['account_id']}}} <b>now</b>\n\nand @{{{unknown}}}, @{{not-an-id}}"

    r = s.post(f"{emulator.api_url}{R}/pullrequests/{pr}/comments", json={"content": {"raw": raw}})
    assert r.status_code == 201, r.text
    content = r.json()["content"]
    assert content["raw"] == raw
    assert content["html"] == (
        f'<p>Over to <span class="ap-mention" data-atlassian-id="{carol["account_id"]}">@{carol["display_name"]}</span>'
        f" &lt;b&gt;now&lt;/b&gt;</p><p>and @{{{unknown}}}, @{{not-an-id}}</p>"
    )
    listed = s.get(f"{emulator.api_url}{R}/pullrequests/{pr}/comments").json()["values"]
    assert listed[-1]["content"]["html"] == content["html"]

    body = {"title": "PR with a mention", "description": f"Thanks @{{{carol['account_id']}}}"}
    assert s.put(f"{emulator.api_url}{R}/pullrequests/{pr}", json=body).status_code == 200
    got = s.get(f"{emulator.api_url}{R}/pullrequests/{pr}").json()
    span = f'<span class="ap-mention" data-atlassian-id="{carol["account_id"]}">@{carol["display_name"]}</span>'
    assert got["rendered"]["description"]["html"] == f"<p>Thanks {span}</p>"
    assert got["summary"]["html"] == f"<p>Thanks {span}</p>"
