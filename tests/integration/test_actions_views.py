"""The action pages end to end: Django views -> services -> the emulator over HTTP -> mirror and audit log."""

import time

import pytest
import requests
from django.test import Client

from bitbucket_sync import sync
from bitbucket_sync.models import ActionReceipt, AuditEvent, Branch, PullRequest
from dashboard.forms.writes import digest

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice(act_world):
    client = Client()
    client.force_login(act_world.users["alice"])
    return client


@pytest.fixture
def bob(act_world):
    client = Client()
    client.force_login(act_world.users["bob"])
    return client


def _emu_repo(act_world, slug="api-server"):
    return act_world.emulator.world.repository("acme", slug)


def _key(response) -> str:
    html = response.content.decode()
    marker = 'name="idempotency_key" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _fresh_branch(act_world, branch, files=None):
    act_world.emulator.world.commit_files("acme", "api-server", branch, "carol", files or {"n.md": "n\n"}, "Note")
    record = act_world.client("alice").get_branch("acme", "api-server", branch)
    sync.upsert_branch(repository=act_world.repo("api-server"), record=record)


# --- branches ------------------------------------------------------------------------------------------------------


def test_branch_create_page_offers_prefixes_and_creates(act_world, alice):
    page = alice.get("/acme/api-server/branches/new")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="feature/"' in html and 'value="release/"' in html and 'value="hotfix/"' in html

    response = alice.post(
        "/acme/api-server/branches/new",
        {"idempotency_key": _key(page), "prefix": "feature/", "name": "search", "target": "main"},
    )

    assert response.status_code == 302 and response["Location"] == "/acme/api-server/branches/"
    assert "feature/search" in _emu_repo(act_world).branches
    assert Branch.objects.filter(repository=act_world.repo("api-server"), name="feature/search").exists()


def test_branch_create_existing_name_keeps_input_and_says_so(act_world, alice):
    page = alice.get("/acme/api-server/branches/new")
    response = alice.post(
        "/acme/api-server/branches/new",
        {"idempotency_key": _key(page), "prefix": "release/", "name": "1.4", "target": "main"},
        **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "already exists" in html
    assert html.lstrip().startswith('<section id="branch-form"')  # only the region, for htmx
    assert 'value="1.4"' in html


def test_branch_create_bad_name_refused_before_sending(act_world, alice):
    page = alice.get("/acme/api-server/branches/new")
    act_world.reset_counts()
    response = alice.post(
        "/acme/api-server/branches/new",
        {"idempotency_key": _key(page), "prefix": "", "name": "has space", "target": "main"},
    )
    assert "cannot contain a space" in response.content.decode()
    assert act_world.counts()["total"] == 0


def test_double_submit_acts_once(act_world, alice):
    page = alice.get("/acme/api-server/branches/new")
    data = {"idempotency_key": _key(page), "prefix": "feature/", "name": "once", "target": "main"}

    first = alice.post("/acme/api-server/branches/new", data)
    second = alice.post("/acme/api-server/branches/new", data)

    assert first.status_code == second.status_code == 302
    assert AuditEvent.objects.filter(action="branch.create").count() == 1
    assert ActionReceipt.objects.filter(key=data["idempotency_key"]).count() == 1


def test_read_only_member_gets_403_and_nothing_is_sent(act_world, bob):
    pr = act_world.open_pr("docs")
    act_world.reset_counts()
    posts = [
        ("/acme/docs/branches/new", {"idempotency_key": "k1", "name": "x", "target": "main"}),
        (
            "/acme/docs/edit",
            {
                "idempotency_key": "k2",
                "branch": "main",
                "path": "README.md",
                "parent": "a" * 40,
                "content": "x",
                "target": "branch",
            },
        ),
        (
            f"/acme/docs/pull-requests/{pr.number}/merge",
            {"idempotency_key": "k3", "strategy": "merge_commit", "expected_source_commit": pr.source_commit},
        ),
        (f"/acme/docs/pull-requests/{pr.number}/decline", {"idempotency_key": "k4"}),
    ]
    for url, data in posts:
        assert bob.post(url, data).status_code == 403, url
    assert act_world.counts()["total"] == 0


def test_no_access_member_gets_404_and_nothing_is_sent(act_world, bob):
    act_world.reset_counts()
    response = bob.post("/acme/infra/branches/new", {"idempotency_key": "k", "name": "x", "target": "main"})
    assert response.status_code == 404
    assert act_world.counts()["total"] == 0


def test_buttons_follow_access(act_world, alice, bob):
    assert "/acme/docs/branches/new" in alice.get("/acme/docs/branches/").content.decode()
    assert "/acme/docs/branches/new" not in bob.get("/acme/docs/branches/").content.decode()
    assert "/acme/api-server/branches/new" in bob.get("/acme/api-server/branches/").content.decode()


# --- file edits ----------------------------------------------------------------------------------------------------


def test_file_edit_commit_to_branch(act_world, alice):
    page = alice.get("/acme/api-server/edit", {"branch": "main", "path": "README.md"})
    html = page.content.decode()
    assert page.status_code == 200 and "# API Server" in html
    tip = _emu_repo(act_world).branches["main"]
    assert f'value="{tip}"' in html

    response = alice.post(
        "/acme/api-server/edit",
        {
            "idempotency_key": _key(page),
            "branch": "main",
            "path": "README.md",
            "parent": tip,
            "content": "# API Server\r\n\r\nEdited in the browser.\r\n",
            "line_ending": "lf",
            "message": "Edit README",
            "target": "branch",
            "original_digest": "x",
        },
    )

    assert response.status_code == 302 and response["Location"] == "/acme/api-server/src/main/README.md"
    new_tip = _emu_repo(act_world).branches["main"]
    assert _emu_repo(act_world).commits[new_tip].tree["README.md"] == b"# API Server\n\nEdited in the browser.\n"
    assert _emu_repo(act_world).commits[new_tip].parents == [tip]


def test_file_edit_unchanged_content_is_not_committed(act_world, alice):
    page = alice.get("/acme/api-server/edit", {"branch": "main", "path": ".gitignore"})
    text = "__pycache__/\n*.pyc\n.venv/\n.env\n"
    act_world.reset_counts()
    response = alice.post(
        "/acme/api-server/edit",
        {
            "idempotency_key": _key(page),
            "branch": "main",
            "path": ".gitignore",
            "parent": _emu_repo(act_world).branches["main"],
            "content": text.replace("\n", "\r\n"),
            "line_ending": "lf",
            "target": "branch",
            "original_digest": digest(text),
        },
    )
    assert "not changed anything" in response.content.decode()
    assert act_world.counts()["total"] == 0


def test_file_edit_stale_keeps_text_then_new_branch_and_pr_succeeds(act_world, alice):
    page = alice.get("/acme/api-server/edit", {"branch": "main", "path": "README.md"})
    started = _emu_repo(act_world).branches["main"]
    mine = "# API Server\n\nMy careful rewrite.\n"
    # Someone else commits to main while alice edits.
    act_world.emulator.world.commit_files(
        "acme", "api-server", "main", "bob", {"CHANGELOG.md": "bob's line\n"}, "Bob's change"
    )
    moved_to = _emu_repo(act_world).branches["main"]
    form = {
        "idempotency_key": _key(page),
        "branch": "main",
        "path": "README.md",
        "parent": started,
        "content": mine,
        "line_ending": "lf",
        "message": "Rewrite README",
        "target": "branch",
    }

    refused = alice.post("/acme/api-server/edit", form, **HX)

    html = refused.content.decode()
    assert refused.status_code == 200
    assert _emu_repo(act_world).branches["main"] == moved_to  # the branch is untouched
    assert "My careful rewrite." in html  # the user's text is still in the form
    assert "bob&#x27;s line" in html or "bob's line" in html  # the diff of what landed
    assert '<input type="radio" name="target" value="new_branch" id="id_target_1" required checked>' in html
    retry = dict(
        form,
        idempotency_key=_key(refused),
        target="new_branch",
        new_branch="feature/readme-rewrite",
        pr_title="Rewrite README",
    )

    accepted = alice.post("/acme/api-server/edit", retry)

    assert accepted.status_code == 302
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/readme-rewrite")
    assert accepted["Location"] == f"/acme/api-server/pull-requests/{pr.number}"
    emu = _emu_repo(act_world)
    assert emu.commits[emu.branches["feature/readme-rewrite"]].tree["README.md"] == mine.encode()
    assert emu.commits[emu.branches["feature/readme-rewrite"]].parents == [started]
    assert emu.pullrequests[pr.number].dest_branch == "main"


def test_file_edit_binary_not_editable_with_reason(act_world, alice):
    act_world.emulator.world.commit_files("acme", "api-server", "main", "alice", {"logo.png": b"\x89PNG\x00\x01"})
    page = alice.get("/acme/api-server/edit", {"branch": "main", "path": "logo.png"})
    html = page.content.decode()
    assert "binary file" in html and "<textarea" not in html


def test_new_file_and_delete_file(act_world, alice):
    page = alice.get("/acme/api-server/edit", {"branch": "main", "new": "1"})
    tip = _emu_repo(act_world).branches["main"]
    created = alice.post(
        "/acme/api-server/edit",
        {
            "idempotency_key": _key(page),
            "branch": "main",
            "path": "docs/added.md",
            "parent": tip,
            "is_new": "True",
            "content": "added\n",
            "line_ending": "lf",
            "target": "branch",
        },
    )
    assert created.status_code == 302
    assert _emu_repo(act_world).commits[_emu_repo(act_world).branches["main"]].tree["docs/added.md"] == b"added\n"

    page = alice.get("/acme/api-server/delete", {"branch": "main", "path": "docs/added.md"})
    deleted = alice.post(
        "/acme/api-server/delete",
        {
            "idempotency_key": _key(page),
            "branch": "main",
            "path": "docs/added.md",
            "parent": _emu_repo(act_world).branches["main"],
            "message": "Remove it",
            "target": "branch",
        },
    )
    assert deleted.status_code == 302 and deleted["Location"] == "/acme/api-server/src/main/docs/"
    assert "docs/added.md" not in _emu_repo(act_world).commits[_emu_repo(act_world).branches["main"]].tree


# --- pull requests -------------------------------------------------------------------------------------------------


def test_pull_request_create_prefills_from_commits_and_opens(act_world, alice):
    _fresh_branch(act_world, "feature/prefill")
    page = alice.get("/acme/api-server/pull-requests/new", {"source": "feature/prefill", "destination": "main"})
    html = page.content.decode()
    assert 'value="Note"' in html  # the one commit's message is the title
    bob_uuid = act_world.emulator.account("bob")["uuid"]

    response = alice.post(
        "/acme/api-server/pull-requests/new",
        {
            "idempotency_key": _key(page),
            "source": "feature/prefill",
            "destination": "main",
            "title": "Prefilled",
            "description": "",
            "reviewers": [bob_uuid],
            "close_source_branch": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()[-3000:]
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/prefill")
    assert response["Location"] == f"/acme/api-server/pull-requests/{pr.number}"
    emu = _emu_repo(act_world).pullrequests[pr.number]
    assert emu.reviewers == [bob_uuid] and emu.close_source_branch


def test_pull_request_update(act_world, alice):
    pr = act_world.open_pr("api-server", author="dave")
    page = alice.get(f"/acme/api-server/pull-requests/{pr.number}/edit")
    assert pr.title in page.content.decode()
    response = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/edit",
        {
            "idempotency_key": _key(page),
            "title": "Renamed",
            "description": "d",
            "destination": "main",
            "reviewers": [act_world.emulator.account("carol")["uuid"]],
        },
    )
    assert response.status_code == 302
    assert _emu_repo(act_world).pullrequests[pr.number].title == "Renamed"
    pr.refresh_from_db()
    assert pr.title == "Renamed"


def test_review_and_comment_from_pull_request_page(act_world, bob):
    pr = act_world.open_pr("api-server", author="dave")
    page = bob.get(f"/acme/api-server/pull-requests/{pr.number}")
    html = page.content.decode()
    assert 'value="approve"' in html or 'value="unapprove"' in html

    approve = bob.post(
        f"/acme/api-server/pull-requests/{pr.number}/review", {"idempotency_key": "r1", "verdict": "request_changes"}
    )
    assert approve.status_code == 302
    bob_uuid = act_world.emulator.account("bob")["uuid"]
    assert _emu_repo(act_world).pullrequests[pr.number].participants[bob_uuid].state == "changes_requested"
    after = bob.get(f"/acme/api-server/pull-requests/{pr.number}").content.decode()
    assert 'value="remove_request_changes"' in after

    commented = bob.post(
        f"/acme/api-server/pull-requests/{pr.number}/comment",
        {"idempotency_key": "c1", "text": "One more thing."},
        **HX,
    )
    assert commented.status_code == 200 and commented["HX-Redirect"]
    assert _emu_repo(act_world).pullrequests[pr.number].comments[-1].raw == "One more thing."


def test_review_failure_shown_in_place(act_world, alice):
    _fresh_branch(act_world, "feature/mine")
    page = alice.get("/acme/api-server/pull-requests/new", {"source": "feature/mine", "destination": "main"})
    alice.post(
        "/acme/api-server/pull-requests/new",
        {"idempotency_key": _key(page), "source": "feature/mine", "destination": "main", "title": "Mine"},
    )
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/mine")
    response = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/review", {"idempotency_key": "r2", "verdict": "approve"}, **HX
    )
    assert response.status_code == 200
    assert "approve your own" in response.content.decode()


def test_merge_page_offers_strategies_default_first_and_merges_squash(act_world, alice):
    _fresh_branch(act_world, "feature/squash-me")
    page = alice.get("/acme/api-server/pull-requests/new", {"source": "feature/squash-me", "destination": "main"})
    alice.post(
        "/acme/api-server/pull-requests/new",
        {"idempotency_key": _key(page), "source": "feature/squash-me", "destination": "main", "title": "Squash me"},
    )
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/squash-me")

    merge_page = alice.get(f"/acme/api-server/pull-requests/{pr.number}/merge")
    html = merge_page.content.decode()
    assert html.index('value="merge_commit"') < html.index('value="squash"') < html.index('value="rebase_merge"')
    message = alice.get(f"/acme/api-server/pull-requests/{pr.number}/merge", {"strategy": "squash"}, **HX)
    assert f"Squash me (pull request #{pr.number})" in message.content.decode()

    response = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/merge",
        {
            "idempotency_key": _key(merge_page),
            "strategy": "squash",
            "message": "Squashed!",
            "expected_source_commit": pr.source_commit,
            "close_source_branch": "on",
        },
    )

    assert response.status_code == 302
    emu = _emu_repo(act_world)
    assert emu.pullrequests[pr.number].state == "MERGED"
    assert emu.commits[emu.branches["main"]].message == "Squashed!"
    pr.refresh_from_db()
    assert pr.state == "MERGED"


def test_merge_202_shows_progress_and_polls_to_success(act_world, alice):
    _fresh_branch(act_world, "feature/slow")
    page = alice.get("/acme/api-server/pull-requests/new", {"source": "feature/slow", "destination": "main"})
    alice.post(
        "/acme/api-server/pull-requests/new",
        {"idempotency_key": _key(page), "source": "feature/slow", "destination": "main", "title": "Slow"},
    )
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/slow")
    act_world.emulator.app.merge_task_delay = 3.5  # longer than the server-side wait: the page has to poll
    merge_page = alice.get(f"/acme/api-server/pull-requests/{pr.number}/merge")

    accepted = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/merge",
        {
            "idempotency_key": _key(merge_page),
            "strategy": "merge_commit",
            "message": "m",
            "expected_source_commit": pr.source_commit,
        },
        **HX,
    )

    html = accepted.content.decode()
    assert "Bitbucket is merging" in html and 'hx-trigger="poll" data-poll="1"' in html
    status_url = html.split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    polls = 0
    while True:
        polls += 1
        assert polls < 30
        answer = alice.get(status_url, **HX)
        if "HX-Redirect" in answer:
            break
        assert "Bitbucket is merging" in answer.content.decode()
        time.sleep(0.3)
    assert polls > 1
    assert _emu_repo(act_world).pullrequests[pr.number].state == "MERGED"
    assert AuditEvent.objects.get(action="pull_request.merge").result == "success"


def test_merge_moved_source_refuses_on_page(act_world, alice):
    pr = act_world.open_pr("api-server", author="dave")
    merge_page = alice.get(f"/acme/api-server/pull-requests/{pr.number}/merge")
    act_world.emulator.world.commit_files(
        "acme", "api-server", pr.source_branch, "dave", {"moved.txt": "moved\n"}, "Moved"
    )
    response = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/merge",
        {
            "idempotency_key": _key(merge_page),
            "strategy": "merge_commit",
            "message": "m",
            "expected_source_commit": pr.source_commit,
        },
    )
    html = response.content.decode()
    assert "moved since you opened this page" in html and "moved.txt" in html
    assert _emu_repo(act_world).pullrequests[pr.number].state == "OPEN"
    # Having seen the new commits, the user merges again from the same form: now it goes through.
    current = html.split('name="expected_source_commit" value="', 1)[1].split('"', 1)[0]
    assert _emu_repo(act_world).pullrequests[pr.number].source_hash.startswith(current)
    again = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/merge",
        {
            "idempotency_key": _key(response),
            "strategy": "merge_commit",
            "message": "m",
            "expected_source_commit": current,
        },
    )
    assert again.status_code == 302
    assert _emu_repo(act_world).pullrequests[pr.number].state == "MERGED"


def test_merge_conflict_explained_on_page(act_world, alice):
    pr = act_world.open_pr("api-server", conflicting=True)
    merge_page = alice.get(f"/acme/api-server/pull-requests/{pr.number}/merge")
    response = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/merge",
        {
            "idempotency_key": _key(merge_page),
            "strategy": "merge_commit",
            "message": "m",
            "expected_source_commit": pr.source_commit,
        },
    )
    html = response.content.decode()
    assert "merge conflicts" in html and "src/api_server/settings.py" in html


def test_decline_with_reason(act_world, alice):
    pr = act_world.open_pr("api-server", author="heidi")
    page = alice.get(f"/acme/api-server/pull-requests/{pr.number}/decline")
    response = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/decline",
        {"idempotency_key": _key(page), "reason": "Out of scope."},
    )
    assert response.status_code == 302
    emu = _emu_repo(act_world).pullrequests[pr.number]
    assert emu.state == "DECLINED" and emu.comments[-1].raw == "Declined: Out of scope."


# --- audit log -----------------------------------------------------------------------------------------------------


def test_audit_log_staff_see_all_members_their_own_and_filters(act_world, alice, bob):
    page = bob.get("/acme/api-server/branches/new")
    bob.post("/acme/api-server/branches/new", {"idempotency_key": _key(page), "name": "bobs", "target": "main"})
    page = alice.get("/acme/api-server/branches/new")
    alice.post(
        "/acme/api-server/branches/new", {"idempotency_key": _key(page), "prefix": "", "name": "main", "target": "main"}
    )

    everything = alice.get("/-/audit/").content.decode()
    assert "bobs" in everything and "already exists" in everything and "api_token" in everything
    own = bob.get("/-/audit/").content.decode()
    assert "bobs" in own and "already exists" not in own
    failures = alice.get("/-/audit/", {"result": "failure"}, **HX).content.decode()
    assert failures.lstrip().startswith('<section id="audit-table"')
    assert "already exists" in failures and "bobs" not in failures


def test_author_is_not_offered_approve_and_fragments_vary(act_world, bob):
    pr = act_world.open_pr("api-server", author="bob")
    html = bob.get(f"/acme/api-server/pull-requests/{pr.number}").content.decode()
    assert 'value="approve"' not in html and 'value="request_changes"' in html
    fragment = bob.get("/acme/api-server/branches/new", **HX)
    assert fragment.content.decode().lstrip().startswith('<section id="branch-form"')
    assert "HX-Request" in fragment["Vary"]


def test_merge_555_explained_on_page_with_retry(act_world, alice):
    pr = act_world.open_pr("api-server", author="heidi")
    merge_page = alice.get(f"/acme/api-server/pull-requests/{pr.number}/merge")
    base = act_world.emulator.base_url
    requests.post(
        f"{base}/_emulator/faults",
        json={
            "every": 1,
            "kind": "555",
            "path": f"/2.0/repositories/acme/api-server/pullrequests/{pr.number}/merge",
        },
        timeout=5,
    )
    response = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/merge",
        {
            "idempotency_key": _key(merge_page),
            "strategy": "merge_commit",
            "message": "My message",
            "expected_source_commit": pr.source_commit,
        },
    )
    html = response.content.decode()
    assert "timed out" in html and "merge again below" in html
    assert ">My message</textarea>" in html  # the user's message is kept for the retry
    requests.delete(f"{base}/_emulator/faults", timeout=5)
    retried = alice.post(
        f"/acme/api-server/pull-requests/{pr.number}/merge",
        {
            "idempotency_key": _key(response),
            "strategy": "merge_commit",
            "message": "My message",
            "expected_source_commit": pr.source_commit,
        },
    )
    assert retried.status_code == 302
    assert _emu_repo(act_world).pullrequests[pr.number].state == "MERGED"


def test_posts_need_the_csrf_token_htmx_sends_it_in_a_header(act_world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(act_world.users["alice"])
    page = client.get("/acme/api-server/branches/new")
    assert 'hx-headers=\'{"X-CSRFToken": "' in page.content.decode()  # base.html gives htmx the token
    data = {"idempotency_key": _key(page), "prefix": "feature/", "name": "csrf", "target": "main"}
    act_world.reset_counts()

    forged = client.post("/acme/api-server/branches/new", data, **HX)
    assert forged.status_code == 403
    assert act_world.counts()["total"] == 0

    token = client.cookies["csrftoken"].value
    sent = client.post("/acme/api-server/branches/new", data, HTTP_X_CSRFTOKEN=token, **HX)
    assert sent.status_code == 200 and sent["HX-Redirect"] == "/acme/api-server/branches/"
    assert "feature/csrf" in _emu_repo(act_world).branches


def test_double_submitted_merge_and_decline_act_once(act_world, alice):
    pr = act_world.open_pr("api-server", author="heidi")
    merge_page = alice.get(f"/acme/api-server/pull-requests/{pr.number}/merge")
    data = {
        "idempotency_key": _key(merge_page),
        "strategy": "merge_commit",
        "message": "m",
        "expected_source_commit": pr.source_commit,
    }

    first = alice.post(f"/acme/api-server/pull-requests/{pr.number}/merge", data)
    second = alice.post(f"/acme/api-server/pull-requests/{pr.number}/merge", data, **HX)

    assert first.status_code == 302
    assert second["HX-Redirect"] == first["Location"]  # the first result, not "this pull request is merged"
    assert AuditEvent.objects.filter(action="pull_request.merge").count() == 1

    other = act_world.open_pr("api-server", author="dave")
    page = alice.get(f"/acme/api-server/pull-requests/{other.number}/decline")
    data = {"idempotency_key": _key(page), "reason": ""}
    assert alice.post(f"/acme/api-server/pull-requests/{other.number}/decline", data).status_code == 302
    assert alice.post(f"/acme/api-server/pull-requests/{other.number}/decline", data).status_code == 302
    assert AuditEvent.objects.filter(action="pull_request.decline").count() == 1
