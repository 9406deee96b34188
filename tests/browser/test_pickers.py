"""Type-ahead pickers in Chromium: on "New pull request" the reviewer box suggests workspace members as you type,
picking one adds a chip, a chip is removed from the keyboard, and the pull request opens with exactly those reviewers.
The branch boxes suggest the repository's branches."""

from __future__ import annotations

import re

import pytest

from bitbucket_sync import sync
from bitbucket_sync.models import PullRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _branch(world, name: str) -> None:
    world.emulator.world.commit_files("acme", "api-server", name, "carol", {"picked.md": "picked\n"}, "Picked")
    record = world.client("alice").get_branch("acme", "api-server", name)
    sync.upsert_branch(repository=world.repo("api-server"), record=record)


def test_pick_a_reviewer_by_typing_part_of_the_name(act_world, page, live_server, login, screenshot):
    _branch(act_world, "feature/picked-reviewer")
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/new?source=feature/picked-reviewer&destination=main")

    # The repository's default reviewers (carol, and erin from its project) are chips already.
    chips = page.get_by_role("list", name="Chosen reviewers").get_by_role("listitem")
    assert sorted(text.split("\n")[0] for text in chips.all_inner_texts()) == ["Carol Chen", "Erin Evans"]

    # The source box suggests branches from the mirror, not from a list sent with the page.
    source = page.get_by_role("combobox", name="Source branch")
    assert source.get_attribute("list") == "id_source-options"
    source.fill("picked")
    page.locator('#id_source-options option[value="feature/picked-reviewer"]').wait_for(state="attached")
    source.fill("feature/picked-reviewer")  # what picking the option writes in the box

    # Typing part of Bob's surname asks the server; his option arrives in the box's datalist.
    box = page.get_by_label("Add reviewers")
    box.press_sequentially("Bro")
    option = page.locator('#id_add_reviewers-options option[value="bob"]')
    option.wait_for(state="attached")
    assert option.inner_text() == "Bob Brown"
    assert page.locator("#id_add_reviewers-options option").count() == 1  # "Bro" names nobody else
    screenshot("picker-suggestions")

    # Picking him (the datalist fills the box with his nickname; Enter confirms) makes a chip and empties the box.
    box.fill("bob")
    box.press("Enter")
    page.get_by_role("button", name="Remove reviewer Bob Brown").wait_for()
    assert box.input_value() == ""
    assert page.get_by_text("Added reviewer Bob Brown.").count() == 1  # said to screen readers

    # Erin is removed from the keyboard; the focus stays among the chips (the next one's button), not lost.
    order = [name.split("\n")[0] for name in chips.all_inner_texts()]
    page.get_by_role("button", name="Remove reviewer Erin Evans").focus()
    page.keyboard.press("Enter")
    assert page.get_by_role("button", name="Remove reviewer Erin Evans").count() == 0
    after_erin = order[order.index("Erin Evans") + 1]
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == f"Remove reviewer {after_erin}"
    screenshot("picker-chips")

    page.get_by_role("button", name="Create pull request").click()
    page.wait_for_url("**/pull-requests/*")
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/picked-reviewer")
    emulated = act_world.emulator.world.repository("acme", "api-server").pullrequests[pr.number]
    assert set(emulated.reviewers) == {act_world.emulator.account(u)["uuid"] for u in ("carol", "bob")}


def test_an_unknown_reviewer_name_is_refused_in_the_form(act_world, page, live_server, login):
    _branch(act_world, "feature/unknown-reviewer")
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/new?source=feature/unknown-reviewer&destination=main")
    box = page.get_by_label("Add reviewers")
    box.fill("nobody-at-all")
    box.press("Enter")  # not in the list: no chip, and the form is not sent
    assert page.get_by_text("Pick a name from the list.").count() == 1
    page.get_by_role("button", name="Create pull request").click()  # sent anyway: the server says no, text kept
    page.get_by_text("Nobody here is called \u201cnobody-at-all\u201d").wait_for()
    assert page.get_by_label("Add reviewers").input_value() == "nobody-at-all"
    assert not PullRequest.objects.filter(source_branch="feature/unknown-reviewer").exists()


def test_filter_by_author_typed_in_the_pull_request_list(demo_mirror, page, live_server, login, screenshot):
    login("alice")
    page.goto(f"{live_server.url}/acme/pull-requests/?tab=all")
    author = page.get_by_label("Author")
    assert author.get_attribute("list") == "id_author-options"
    author.press_sequentially("hei")
    page.locator('#id_author-options option[value="heidi"]').wait_for(state="attached")
    author.fill("heidi")
    author.press("Enter")  # the filter form applies itself and puts the filter in the address bar
    page.wait_for_url(re.compile(r"[?&]author=heidi(&|$)"))
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    heidis = PullRequest.objects.filter(workspace__slug="acme", author__nickname="heidi").count()
    assert heidis and page.locator("#pr-table a.pr-title").count() == heidis
    assert author.input_value() == "heidi"
    screenshot("picker-filter")
