"""Pages against the emulator over HTTP: a pull request page reads the merge preview once per pair of tips with the
viewer's credential, and a merge Bitbucket refuses by the branch's rules shows its words in the merge form."""

from __future__ import annotations

import pytest
import requests
from django.test import Client

from bitbucket_sync import conflicts
from bitbucket_sync.actions.pull_requests import _refused_by_rules
from bitbucket_sync.client import AuthError, BadRequest
from bitbucket_sync.models import AuditEvent, PullRequest

DIFFSTAT = "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/diffstat"
REFUSAL = "You can\u2019t merge until you resolve all merge checks."


def _requests(emu, username: str) -> int:
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


def _login(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


def _key(response) -> str:
    html = response.content.decode()
    marker = 'name="idempotency_key" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _merge(client: Client, pr: PullRequest):
    url = f"/acme/{pr.repository.slug}/pull-requests/{pr.number}/merge"
    page = client.get(url)
    assert page.status_code == 200
    return client.post(
        url,
        {
            "idempotency_key": _key(page),
            "strategy": "merge_commit",
            "message": "Merge",
            "expected_source_commit": pr.source_commit,
        },
    )


def test_pull_request_page_reads_unchecked_conflicts_once_with_the_viewers_credential(demo_world):
    emu = demo_world.emulator
    pr = demo_world.pr("api-server", 3)
    PullRequest.objects.filter(pk=pr.pk).update(conflict_state="", conflict_paths=[], conflicts_checked_for="")
    bob = _login(demo_world, "bob")
    emu.controls.reset_counts()

    assert bob.get(f"/acme/api-server/pull-requests/{pr.number}").status_code == 200

    assert _requests(emu, "bob") == 2 and _requests(emu, "alice") == 0  # the 302 and the merge preview
    pr.refresh_from_db()
    assert pr.conflict_state == "conflicted" and pr.conflict_paths == ["src/api_server/settings.py"]
    assert pr.conflicts_checked_for == conflicts.pair_of(pr.source_commit, pr.destination_commit)
    assert "merge conflict" in pr.turn_reasons

    bob.get(f"/acme/api-server/pull-requests/{pr.number}")
    assert _requests(emu, "bob") == 2  # the same tips: not read again


def test_pull_request_page_opens_when_the_preview_cannot_be_read(demo_world):
    emu = demo_world.emulator
    pr = demo_world.pr("api-server", 4)
    PullRequest.objects.filter(pk=pr.pk).update(conflict_state="", conflicts_checked_for="")
    emu.controls.set_fault(1, "500", path="/2.0/repositories/acme/api-server/pullrequests/4/diffstat")

    response = _login(demo_world, "bob").get(f"/acme/api-server/pull-requests/{pr.number}")

    emu.controls.set_fault(None)
    assert response.status_code == 200
    pr.refresh_from_db()
    assert pr.conflict_state == "" and pr.conflicts_checked_for == ""  # still unknown, asked again next time


def test_merge_refused_by_enforced_checks_shows_bitbuckets_words_in_the_form(demo_world):
    pr = demo_world.pr("mobile-app", 2)  # main there needs 2 approvals, enforced; it has 1
    response = _merge(_login(demo_world, "alice"), pr)

    assert response.status_code == 200
    html = response.content.decode()
    assert REFUSAL in html.replace("&#x27;", "'")
    assert "rules" in html and 'id="merge-form"' in html and 'name="strategy"' in html  # the same form, to try again
    assert demo_world.emulator.world.repository("acme", "mobile-app").pullrequests[2].state == "OPEN"
    event = AuditEvent.objects.filter(action="pull_request.merge").latest("pk")
    assert event.result == AuditEvent.Result.FAILURE and REFUSAL in event.message


def test_merge_refused_by_restrict_merges_says_so(demo_world):
    emu = demo_world.emulator
    account = emu.account("alice")
    session = requests.Session()
    session.auth, session.trust_env = (account["email"], account["api_token"]), False
    carol = {"uuid": emu.account("carol")["uuid"]}
    session.post(
        f"{emu.api_url}/repositories/acme/api-server/branch-restrictions",
        json={"kind": "restrict_merges", "pattern": "main", "users": [carol]},
    ).raise_for_status()
    pr = demo_world.mergeable_open_pr("api-server")

    html = _merge(_login(demo_world, "alice"), pr).content.decode()

    assert "rules" in html and "merge into main" in html
    assert emu.world.repository("acme", "api-server").pullrequests[pr.number].state == "OPEN"


@pytest.mark.parametrize("refusal", ["fields", "fast-forward"])
def test_a_400_about_the_request_is_not_called_a_rule(refusal):
    if refusal == "fields":
        exc = BadRequest("Bad request", status=400, fields={"merge_strategy": ["not allowed"]})
    else:
        exc = BadRequest("Unable to fast-forward merge", status=400)
    assert not _refused_by_rules(exc)
    assert _refused_by_rules(BadRequest(REFUSAL, status=400))
    assert not _refused_by_rules(AuthError("scopes", status=403, required_scopes=("write:pullrequest:bitbucket",)))
    assert _refused_by_rules(AuthError("You may not merge into main.", status=403))
