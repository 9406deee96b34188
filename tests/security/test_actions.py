"""Action holes: a merge's status polled through another pull request's URL, and a decline's reason posted before
Bitbucket accepted the decline (so a retry posted it again)."""

from __future__ import annotations

import pytest
import requests
from django.contrib.messages import get_messages
from django.test import Client

from bitbucket_sync import actions, sync
from bitbucket_sync.models import ActionReceipt, AuditEvent, PullRequest

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice(act_world):
    client = Client()
    client.force_login(act_world.users["alice"])
    return client


def _key(response) -> str:
    html = response.content.decode()
    marker = 'name="idempotency_key" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _emu_pr(act_world, pr: PullRequest):
    return act_world.emulator.world.repository("acme", pr.repository.slug).pullrequests[pr.number]


def _fault(act_world, path: str) -> None:
    requests.post(
        f"{act_world.emulator.base_url}/_emulator/faults", json={"every": 1, "kind": "500", "path": path}, timeout=5
    )


def _no_faults(act_world) -> None:
    requests.delete(f"{act_world.emulator.base_url}/_emulator/faults", timeout=5)


# -- merge status ----------------------------------------------------------------------------------------------------


def _pending_merge(act_world, alice, slug: str, branch: str) -> tuple[PullRequest, str]:
    """A pull request whose merge Bitbucket accepted and is still running, and its status URL's key."""
    act_world.emulator.world.commit_files("acme", slug, branch, "carol", {"n.md": "n\n"}, "Note")
    repository = act_world.repo(slug)
    sync.upsert_branch(repository=repository, record=act_world.client("alice").get_branch("acme", slug, branch))
    pr = actions.open_pull_request(
        user=act_world.users["alice"], repository=repository, source=branch, destination="main", title="Slow"
    )
    act_world.emulator.app.merge_task_delay = 30  # still running while the test looks
    page = alice.get(f"/acme/{slug}/pull-requests/{pr.number}/merge")
    key = _key(page)
    accepted = alice.post(
        f"/acme/{slug}/pull-requests/{pr.number}/merge",
        {
            "idempotency_key": key,
            "strategy": "merge_commit",
            "message": "m",
            "expected_source_commit": pr.source_commit,
        },
        **HX,
    )
    assert "Bitbucket is merging" in accepted.content.decode()
    assert ActionReceipt.objects.get(key=key).task_url
    return pr, key


def test_merge_status_key_of_another_pull_request_is_404(act_world, alice):
    merging, key = _pending_merge(act_world, alice, "api-server", "feature/slow")
    other = act_world.open_pr("api-server", author="heidi")  # alice can see and merge it too
    elsewhere = act_world.open_pr("web-frontend")
    assert alice.get(f"/acme/api-server/pull-requests/{merging.number}/merge/status/{key}", **HX).status_code == 200

    for pr in (other, elsewhere):
        act_world.reset_counts()
        url = f"/acme/{pr.repository.slug}/pull-requests/{pr.number}/merge/status/{key}"
        assert alice.get(url, **HX).status_code == 404
        assert alice.get(url).status_code == 404
        assert act_world.counts()["total"] == 0  # the other merge's task was not polled
    assert AuditEvent.objects.filter(action="pull_request.merge").count() == 1


def test_merge_form_key_of_another_pull_request_is_404(act_world, alice):
    _merging, key = _pending_merge(act_world, alice, "api-server", "feature/slow")
    other = act_world.open_pr("api-server", author="heidi")
    response = alice.post(
        f"/acme/api-server/pull-requests/{other.number}/merge",
        {
            "idempotency_key": key,
            "strategy": "merge_commit",
            "message": "m",
            "expected_source_commit": other.source_commit,
        },
        **HX,
    )
    assert response.status_code == 404
    assert _emu_pr(act_world, other).state == "OPEN"


# -- decline ---------------------------------------------------------------------------------------------------------


def test_decline_reason_not_posted_when_bitbucket_refuses_the_decline(act_world):
    pr = act_world.open_pr("api-server", author="heidi")
    _fault(act_world, f"/2.0/repositories/acme/api-server/pullrequests/{pr.number}/decline")
    with pytest.raises(actions.ActionFailed):
        actions.decline_pull_request(user=act_world.users["alice"], pull_request=pr, reason="Out of scope.")
    _no_faults(act_world)
    emu = _emu_pr(act_world, pr)
    assert emu.state == "OPEN"
    assert [c.raw for c in emu.comments if c.raw.startswith("Declined:")] == []


def test_decline_retried_after_a_failure_posts_the_reason_once(act_world, alice):
    pr = act_world.open_pr("api-server", author="heidi")
    url = f"/acme/api-server/pull-requests/{pr.number}/decline"
    page = alice.get(url)
    _fault(act_world, f"/2.0/repositories/acme/api-server/pullrequests/{pr.number}/decline")
    failed = alice.post(url, {"idempotency_key": _key(page), "reason": "Out of scope."})
    assert failed.status_code == 200 and "Out of scope." in failed.content.decode()  # the form again, input kept
    _no_faults(act_world)

    retried = alice.post(url, {"idempotency_key": _key(failed), "reason": "Out of scope."})
    again = alice.post(url, {"idempotency_key": _key(failed), "reason": "Out of scope."})  # sent twice

    assert (retried.status_code, again.status_code) == (302, 302)
    emu = _emu_pr(act_world, pr)
    assert emu.state == "DECLINED"
    assert [c.raw for c in emu.comments if c.raw.startswith("Declined:")] == ["Declined: Out of scope."]


def test_decline_reason_comment_refused_still_declines_once(act_world, alice):
    pr = act_world.open_pr("api-server", author="heidi")
    url = f"/acme/api-server/pull-requests/{pr.number}/decline"
    page = alice.get(url)
    _fault(act_world, f"/2.0/repositories/acme/api-server/pullrequests/{pr.number}/comments")
    declined = alice.post(url, {"idempotency_key": _key(page), "reason": "Out of scope."})
    _no_faults(act_world)

    assert declined.status_code == 302  # the decline happened: the page says so, and the reason could not be posted
    emu = _emu_pr(act_world, pr)
    assert emu.state == "DECLINED"
    assert [c.raw for c in emu.comments if c.raw.startswith("Declined:")] == []
    (said,) = [m.message for m in get_messages(declined.wsgi_request)]
    assert said.startswith(f"Declined pull request #{pr.number}. Bitbucket refused to post the reason")
    event = AuditEvent.objects.get(action="pull_request.decline")
    assert event.result == "success" and "refused to post the reason" in event.message
