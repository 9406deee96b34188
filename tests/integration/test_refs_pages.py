"""Tags, branch deletion, the clean-up page, recreating from the audit log and the branching model in branch
creation, end to end: views -> actions -> the emulator over HTTP -> mirror and audit log."""

import pytest
from django.test import Client

from bitbucket_emulator.world import restrictions
from bitbucket_sync.models import AuditEvent, Branch, Tag
from bitbucket_sync.sync import tags as tag_sync

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
MERGED = "feature/validate-currency-codes"  # merged, source branch kept, not moved since
DECLINED = "feature/switch-to-structured-logging"


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


def _emu(act_world, slug="api-server"):
    return act_world.emulator.world.repository("acme", slug)


# --- tags ----------------------------------------------------------------------------------------------------------


def test_tags_are_mirrored_with_the_branches(act_world):
    tag = Tag.objects.live().get(repository=act_world.repo("api-server"), name="v1.4.0")
    assert tag.target_hash == _emu(act_world).tags["v1.4.0"]
    assert tag.message.startswith("Added tag v1.4.0 for changeset")
    again = tag_sync.Counts()
    tag_sync.sync_tags(repository=act_world.repo("api-server"), client=act_world.client(), counts=again)
    assert not again  # a second listing changes nothing
    with act_world.emulator.world.lock:
        _emu(act_world).tags.pop("v1.4.0")
    counts = tag_sync.Counts()
    tag_sync.sync_tags(repository=act_world.repo("api-server"), client=act_world.client(), counts=counts)
    assert counts.removed == 1 and not Tag.objects.live().filter(name="v1.4.0").exists()


def test_tag_page_creates_an_annotated_tag_and_deletes_it(act_world, alice):
    page = alice.get("/acme/api-server/tags/")
    assert page.status_code == 200 and "v1.4.0" in page.content.decode()
    response = alice.post(
        "/acme/api-server/tags/",
        {"idempotency_key": _key(page), "name": "v1.5.0", "target": "main", "message": "Fifth <b>release</b>"},
    )
    assert response.status_code == 302 and response["Location"] == "/acme/api-server/tags/"
    emu = _emu(act_world)
    assert emu.tags["v1.5.0"] == emu.branches["main"]
    assert emu.tag_objects["v1.5.0"]["tagger_raw"].startswith("Alice Adams")
    listing = alice.get("/acme/api-server/tags/").content.decode()
    assert "Fifth &lt;b&gt;release&lt;/b&gt;" in listing
    event = AuditEvent.objects.get(action="tag.create", target="v1.5.0")
    assert event.result == "success" and event.details["commit"] == emu.branches["main"]

    confirm = alice.get("/acme/api-server/tags/delete?name=v1.5.0")
    assert confirm.status_code == 200 and "v1.5.0" in confirm.content.decode()
    deleted = alice.post("/acme/api-server/tags/delete?name=v1.5.0", {"idempotency_key": _key(confirm)})
    assert deleted.status_code == 302 and "v1.5.0" not in emu.tags
    assert not Tag.objects.live().filter(name="v1.5.0").exists()
    assert AuditEvent.objects.get(action="tag.delete", target="v1.5.0").details["commit"] == emu.branches["main"]


def test_tag_create_existing_name_keeps_input_and_says_so(act_world, alice):
    page = alice.get("/acme/api-server/tags/")
    response = alice.post(
        "/acme/api-server/tags/",
        {"idempotency_key": _key(page), "name": "v1.4.0", "target": "main", "message": "keep me"},
        **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="tag-form"')
    assert "already exists" in html and "keep me" in html


# --- the branching model -------------------------------------------------------------------------------------------


def test_branch_create_offers_the_repositorys_model(act_world, alice):
    html = alice.get("/acme/mobile-app/branches/new").content.decode()
    assert 'value="fix/"' in html and 'value="hotfix/"' in html and 'value="release/"' not in html
    assert 'name="target" value="develop"' in html and "development branch is" in html
    default = alice.get("/acme/api-server/branches/new").content.decode()
    assert 'value="release/"' in default and 'name="target" value="main"' in default


def test_branch_model_is_read_once_per_credential_then_cached(act_world, alice):
    act_world.reset_counts()
    alice.get("/acme/mobile-app/branches/new")
    alice.get("/acme/mobile-app/branches/new")
    family = "GET /2.0/repositories/{workspace}/{repo_slug}/effective-branching-model"
    assert act_world.counts()["by_endpoint"][family]["total"] == 1


def test_branch_create_falls_back_when_the_model_cannot_be_read(act_world, alice):
    act_world.emulator.controls.set_fault(
        1, "500", path="/2.0/repositories/acme/web-frontend/effective-branching-model"
    )
    try:
        html = alice.get("/acme/web-frontend/branches/new").content.decode()
    finally:
        act_world.emulator.controls.set_fault(None)
    assert "could not be read" in html and 'value="release/"' in html


# --- deleting one branch -------------------------------------------------------------------------------------------


def test_branch_delete_names_open_pull_requests_and_records_the_tip(act_world, alice):
    name = "feature/raise-page-size"  # has an open pull request
    tip = _emu(act_world).branches[name]
    confirm = alice.get(f"/acme/api-server/branches/delete?name={name}")
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "open pull request" in html and "Raise the default page size" in html
    response = alice.post(
        f"/acme/api-server/branches/delete?name={name}", {"idempotency_key": _key(confirm), "expected_tip": tip}
    )
    assert response.status_code == 302 and name not in _emu(act_world).branches
    assert Branch.objects.get(repository=act_world.repo("api-server"), name=name).removed_at is not None
    event = AuditEvent.objects.get(action="branch.delete", target=name)
    assert event.details["tip"] == tip and event.details["open_pull_requests"]


def test_branch_delete_protected_shows_bitbuckets_reason(act_world, alice):
    rule = {"kind": "delete", "pattern": "develop"}
    emu = act_world.emulator
    with emu.world.lock:
        restrictions.create(emu.world, _emu(act_world, "mobile-app"), rule)
    confirm = alice.get("/acme/mobile-app/branches/delete?name=develop")
    response = alice.post("/acme/mobile-app/branches/delete?name=develop", {"idempotency_key": _key(confirm)}, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "branch restriction protects it" in html
    assert "develop" in _emu(act_world, "mobile-app").branches
    event = AuditEvent.objects.get(action="branch.delete", target="develop")
    assert event.result == "failure" and event.details["kind"] == "protected" and event.details["status"] == 403


def test_main_branch_is_never_offered_for_deletion(act_world, alice):
    assert alice.get("/acme/api-server/branches/delete?name=main").status_code == 404
    assert ':main"' not in alice.get("/acme/api-server/branches/cleanup?days=1").content.decode()
    # Named by hand in a confirmation, it is dropped: nothing is sent for it.
    tip = _emu(act_world).branches["main"]
    confirm = alice.get("/acme/api-server/branches/cleanup/confirm", {"branch": [f"{tip}:main"]})
    assert confirm.status_code == 302 and confirm["Location"] == "/acme/api-server/branches/cleanup"


# --- the clean-up --------------------------------------------------------------------------------------------------


def test_cleanup_lists_merged_and_declined_branches_not_open_ones(act_world, alice):
    html = alice.get("/acme/api-server/branches/cleanup?days=3650").content.decode()
    assert MERGED in html and DECLINED in html
    assert "feature/raise-page-size" not in html  # its pull request is open
    assert ':main"' not in html
    stale = alice.get("/acme/api-server/branches/cleanup?days=1").content.decode()
    assert "hotfix/timeout" in stale and "feature/raise-page-size" not in stale


def test_cleanup_deletes_in_bulk_after_confirmation_then_recreates_one(act_world, alice):
    emu = _emu(act_world)
    tips = {name: emu.branches[name] for name in (MERGED, DECLINED)}
    picks = [f"{tips[n]}:{n}" for n in (MERGED, DECLINED)]
    confirm = alice.get("/acme/api-server/branches/cleanup/confirm", {"branch": picks})
    html = confirm.content.decode()
    assert confirm.status_code == 200 and MERGED in html and DECLINED in html and "Delete 2 branches" in html
    assert all(n in emu.branches for n in tips)  # nothing is deleted by looking
    form = {"idempotency_key": _key(confirm), "branch": picks}
    response = alice.post("/acme/api-server/branches/cleanup/confirm", form)
    assert response.status_code == 302 and "/branches/cleanup/result?batch=" in response["Location"]
    assert not any(n in emu.branches for n in tips)
    events = AuditEvent.objects.filter(action="branch.delete", result="success")
    assert {e.target: e.details["tip"] for e in events} == tips
    # The same form again: the first result, nothing deleted twice.
    again = alice.post("/acme/api-server/branches/cleanup/confirm", form)
    assert again["Location"] == response["Location"] and events.count() == 2

    result = alice.get(response["Location"]).content.decode()
    assert result.count("deleted") >= 2 and result.count("Recreate branch") == 2

    audit = alice.get("/-/audit/").content.decode()
    assert audit.count("Recreate branch") == 2
    event = events.get(target=MERGED)
    key = audit.split(f'action="/-/audit/{event.pk}/recreate"')[1].split('name="idempotency_key" value="')[1][:64]
    key = key.split('"')[0]
    back = alice.post(f"/-/audit/{event.pk}/recreate", {"idempotency_key": key})
    assert back.status_code == 302 and emu.branches[MERGED] == tips[MERGED]
    assert Branch.objects.live().filter(repository=act_world.repo("api-server"), name=MERGED).exists()
    # A fresh submit of a recreate that already happened is a success that changes nothing.
    audit = alice.get("/-/audit/").content.decode()
    key2 = audit.split(f'action="/-/audit/{event.pk}/recreate"')[1].split('name="idempotency_key" value="')[1]
    alice.post(f"/-/audit/{event.pk}/recreate", {"idempotency_key": key2.split('"')[0]})
    recreations = AuditEvent.objects.filter(action="branch.recreate", target=MERGED)
    assert [e.result for e in recreations] == ["success", "success"] and emu.branches[MERGED] == tips[MERGED]


def test_cleanup_keeps_a_branch_that_moved_and_reports_each(act_world, alice):
    emu = _emu(act_world)
    tips = {name: emu.branches[name] for name in (MERGED, DECLINED)}
    picks = [f"{tips[n]}:{n}" for n in (MERGED, DECLINED)]
    confirm = alice.get("/acme/api-server/branches/cleanup/confirm", {"branch": picks})
    act_world.emulator.world.commit_files("acme", "api-server", DECLINED, "carol", {"late.md": "x\n"}, "Late work")
    response = alice.post(
        "/acme/api-server/branches/cleanup/confirm", {"idempotency_key": _key(confirm), "branch": picks}
    )
    assert MERGED not in emu.branches and DECLINED in emu.branches
    result = alice.get(response["Location"]).content.decode()
    assert "moved to" in result and "kept" in result and result.count("Recreate branch") == 1
