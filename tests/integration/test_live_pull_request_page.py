"""An open pull request page follows the mirror: its mirrored regions (title, state and branches; reviewers) come back
alone for the live poller, and the changed-since endpoint scoped to the pull request reports its changes, and only
its own.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bitbucket_sync.models import Participant, PullRequest
from dashboard.views.changes import EVENT

pytestmark = pytest.mark.django_db


def _open_pr(*, besides: PullRequest | None = None) -> PullRequest:
    others = PullRequest.objects.filter(repository__slug="api-server", state="OPEN").order_by("number")
    if besides is not None:
        others = others.exclude(pk=besides.pk)
    pr = others.first()
    assert pr is not None, "the demo's api-server has open pull requests"
    return pr


def _page_url(pr: PullRequest, rest: str = "") -> str:
    return reverse("pull_request_detail", args=["acme", "api-server", pr.number]) + rest


def _region(client, url: str, target: str):
    return client.get(url, headers={"HX-Request": "true", "HX-Target": target})


def _poll(client, pr: PullRequest, since: str, **extra: str):
    params = {"workspace": "acme", "repository": "api-server", "pull_request": str(pr.number), "since": since}
    return client.get(reverse("change_poll"), {**params, "target": "pr-summary", **extra})


def _token(html: str) -> str:
    match = re.search(r"since=(v[0-9a-f]+)", html)
    assert match, "no live poller with a token on the page"
    return match.group(1)


@pytest.fixture
def alice(live_mirror, client):
    client.force_login(live_mirror.alice)
    return client


def test_pull_request_detail_live_region_alone_for_the_poller(live_mirror, alice):
    pr = _open_pr()
    page = alice.get(_page_url(pr)).content.decode()
    assert 'id="pr-summary"' in page and 'id="pr-reviewers"' in page
    assert f"pull_request={pr.number}" in page and 'hx-target="#pr-reviewers"' in page
    live_mirror.emulator.controls.reset_counts()

    # From the /diff URL too: the region alone, read from the mirror, the diff not fetched from Bitbucket.
    summary = _region(alice, _page_url(pr, "/diff"), "pr-summary")
    assert summary.status_code == 200 and "HX-Target" in summary["Vary"]
    html = summary.content.decode()
    assert html.lstrip().startswith('<div id="pr-summary"') and pr.title in html
    assert "<html" not in html and 'id="pr-reviewers"' not in html and 'id="pr-diff"' not in html
    # The buttons come along out of band; the comment box (and what is typed in it) is left alone.
    assert '<div id="pr-action-bar" hx-swap-oob="true">' in html and ">Merge</a>" in html
    assert "comment-box" not in html and 'id="pr-actions"' not in html
    reviewers = _region(alice, _page_url(pr), "pr-reviewers").content.decode()
    assert reviewers.lstrip().startswith('<section id="pr-reviewers"') and "<html" not in reviewers
    assert 'id="pr-summary"' not in reviewers and 'id="pr-actions"' not in reviewers
    assert live_mirror.emulator.controls.counts()["total"] == 0
    # Any other htmx target still gets what it got before: the section the URL names.
    assert 'id="pr-diff"' in _region(alice, _page_url(pr, "/diff"), "pr-diff").content.decode()


def test_change_poll_reports_a_pull_request_merged_and_retitled_in_bitbucket(live_mirror, alice):
    emu, pr = live_mirror.emulator, live_mirror.mergeable_open_pr()
    token = _token(alice.get(_page_url(pr)).content.decode())
    assert _poll(alice, pr, token).status_code == 204

    other = _open_pr(besides=pr)
    emu.world.update_pull_request_title("acme", "api-server", other.number, "bob", "Someone else's change")
    live_mirror.sync()
    assert PullRequest.objects.get(pk=other.pk).title == "Someone else's change"
    assert _poll(alice, pr, token).status_code == 204  # scoped to this pull request

    emu.world.update_pull_request_title("acme", "api-server", pr.number, "bob", "Retitled in Bitbucket")
    live_mirror.sync()
    changed = _poll(alice, pr, token)
    assert changed.status_code == 200 and changed["HX-Trigger"] == EVENT
    new_token = _token(changed.content.decode())
    assert new_token != token and f"pull_request={pr.number}" in changed.content.decode()
    assert _poll(alice, pr, new_token).status_code == 204
    assert "Retitled in Bitbucket" in _region(alice, _page_url(pr), "pr-summary").content.decode()

    live_mirror.merge_in_bitbucket(pr)
    live_mirror.sync()
    merged = _poll(alice, pr, new_token)
    assert merged.status_code == 200 and merged["HX-Trigger"] == EVENT
    summary = _region(alice, _page_url(pr), "pr-summary").content.decode()
    assert 'class="badge merged"' in summary and "merged as" in summary
    assert '<div id="pr-action-bar" hx-swap-oob="true">' in summary and ">Merge</a>" not in summary


def test_change_poll_reports_a_review_that_leaves_the_row_alone(live_mirror, alice):
    pr = _open_pr()
    token = _token(alice.get(_page_url(pr)).content.decode())
    reviewer = Participant.objects.filter(pull_request=pr, role="REVIEWER").first()
    assert reviewer is not None, "the demo's first open api-server pull request has reviewers"
    Participant.objects.filter(pk=reviewer.pk).update(approved=not reviewer.approved, state="")
    assert _poll(alice, pr, token)["HX-Trigger"] == EVENT


def test_change_poll_pull_request_against_render_time(live_mirror, alice):
    """A poller rendered without a token (`t<epoch seconds>`) compares the pull request's last write with that time."""
    pr = _open_pr()
    before = f"t{pr.synced_at.timestamp() - 60:.0f}"
    after = f"t{pr.synced_at.timestamp() + 60:.0f}"
    assert _poll(alice, pr, before)["HX-Trigger"] == EVENT
    answer = _poll(alice, pr, after)
    assert answer.status_code == 200 and "HX-Trigger" not in answer  # a poller with the real token, no refresh
    assert _poll(alice, pr, _token(answer.content.decode())).status_code == 204


def test_change_poll_pull_request_bad_input(live_mirror, alice):
    pr = _open_pr()
    # Fullwidth digits pass str.isdigit(); 2**31 is beyond the id column.
    for number in ("abc", "-1", "\uff11\uff12", "2147483648"):
        answer = _poll(alice, pr, "v0", pull_request=number)
        assert answer.status_code == 400, number
        assert b"pull_request must be" in answer.content
    assert alice.get(reverse("change_poll"), {"workspace": "acme", "pull_request": "1"}).status_code == 400
    assert _poll(alice, pr, "v0", pull_request="9999").status_code == 404
    assert _poll(alice, pr, "v0", repository="no-such-repo").status_code == 404


def _live(html: str, name: str) -> str:
    """What the summary says section `name` should show (data-live-<name>)."""
    match = re.search(rf'data-live-{name}="([^"]*)"', html)
    assert match, f"no data-live-{name}"
    return match.group(1)


def _section_version(html: str, region: str) -> tuple[str, str]:
    """The URL a loaded section re-reads itself from and the version it shows."""
    match = re.search(
        rf'<section id="{region}"[^>]*data-live-url="([^"]*)" data-live-follows="[a-z]+" '
        rf'data-live-version="([^"]*)"',
        html,
    )
    assert match, f"{region} does not say how it refreshes"
    return match.group(1).replace("&amp;", "&"), match.group(2)


def test_pull_request_sections_say_what_they_follow(live_mirror, alice):
    """The discussion, commits and diff sections each name their own URL and what they were read for; the summary
    the live refresh brings names what they should show now: a comment moves the discussion's version only, a push
    to the source branch the commits' and the diff's (static/js/live-sections.js compares them)."""
    emu, pr = live_mirror.emulator, live_mirror.mergeable_open_pr()
    page = alice.get(_page_url(pr)).content.decode()
    assert "js/live-sections" in page
    assert "data-live-follows" not in page  # the sections load themselves first
    sections = {
        "pr-discussion": _section_version(
            _region(alice, _page_url(pr, "/activity"), "pr-discussion").content.decode(), "pr-discussion"
        ),
        "pr-commits": _section_version(
            _region(alice, _page_url(pr, "/commits"), "pr-commits").content.decode(), "pr-commits"
        ),
        "pr-diff": _section_version(_region(alice, _page_url(pr, "/diff?w=1"), "pr-diff").content.decode(), "pr-diff"),
    }
    assert sections["pr-discussion"][0] == _page_url(pr, "/activity")
    assert sections["pr-commits"][0] == _page_url(pr, "/commits")
    assert sections["pr-diff"][0].startswith(_page_url(pr, "/diff?w=1"))  # whitespace still ignored when re-read
    summary = _region(alice, _page_url(pr), "pr-summary").content.decode()
    assert _live(summary, "discussion") == sections["pr-discussion"][1]
    assert _live(summary, "commits") == sections["pr-commits"][1] == _live(summary, "diff") == sections["pr-diff"][1]

    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        emu.world.add_comment(repo, emu.world.pull_request(repo, pr.number), emu.world.user("bob").uuid, "Looks good")
    live_mirror.sync()
    commented = _region(alice, _page_url(pr), "pr-summary").content.decode()
    assert _live(commented, "discussion") != sections["pr-discussion"][1]
    assert _live(commented, "diff") == sections["pr-diff"][1]  # a comment does not reload the diff

    emu.world.commit_files("acme", "api-server", pr.source_branch, "bob", {"docs/pushed.md": "Pushed.\n"}, "push")
    live_mirror.sync()
    pushed = _region(alice, _page_url(pr), "pr-summary").content.decode()
    assert _live(pushed, "diff") != sections["pr-diff"][1] and _live(pushed, "commits") != sections["pr-commits"][1]
    assert _section_version(_region(alice, _page_url(pr, "/diff"), "pr-diff").content.decode(), "pr-diff")[1] == (
        _live(pushed, "diff")
    )
