"""Acting on Bitbucket in a real browser (Playwright + Debian's Chromium) against the emulator: edit a file and commit
it to a new branch with a pull request in one go, merge that pull request with squash, decline another."""

import pytest

from bitbucket_sync.models import AuditEvent, PullRequest
from tests.fixtures.browser import assert_no_problems, watch_for_problems

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_act_edit_to_new_branch_with_pr_then_squash_merge_and_decline(
    act_world, page, live_server, login, keep_screenshot
):
    emu_repo = act_world.emulator.world.repository("acme", "api-server")
    main_before = emu_repo.branches["main"]
    login("alice")

    # Edit README.md from the source browser and send it to a new branch with a pull request, in one step.
    page.goto(f"{live_server.url}/acme/api-server/src/main/README.md")
    page.get_by_role("link", name="Edit").click()
    editor = page.get_by_label("Content")
    editor.fill("# API Server\n\nThe HTTP API behind Acme's order pipeline, now with a browser-made edit.\n")
    editor.press("End")
    editor.press("Tab")  # the editor indents instead of leaving the field
    page.get_by_label("Commit message").fill("Explain the API in one line")
    page.get_by_label("Commit to a new branch and open a pull request").check()
    page.get_by_label("New branch name").fill("feature/browser-edit")
    page.get_by_label("Pull request title").fill("Explain the API in one line")
    assert keep_screenshot("act-1-edit-form").stat().st_size > 0
    page.get_by_role("button", name="Commit").click()
    page.wait_for_url("**/pull-requests/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Explain the API in one line"
    assert keep_screenshot("act-2-pull-request-opened").stat().st_size > 0
    assert emu_repo.branches["main"] == main_before  # main untouched: the change went to the new branch
    readme = emu_repo.commits[emu_repo.branches["feature/browser-edit"]].tree["README.md"]
    assert readme.endswith(b"browser-made edit.\n\t")
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/browser-edit")
    # The repository's default reviewers were preselected (alice, the author, is never one of them).
    defaults = {act_world.emulator.account(u)["uuid"] for u in ("carol", "erin")}
    assert set(emu_repo.pullrequests[pr.number].reviewers) == defaults

    # Merge it with squash: the message follows the strategy (htmx), then the merge runs.
    page.get_by_role("link", name="Merge", exact=True).click()
    page.get_by_label("Merge strategy").select_option("squash")
    page.wait_for_function(  # a function, not an expression string: Playwright evals those, which the CSP refuses
        "() => document.querySelector('#id_message').value.startsWith('Explain the API in one line (pull request')"
    )
    page.get_by_label("Close the source branch").check()
    assert keep_screenshot("act-3-merge-form-squash").stat().st_size > 0
    page.get_by_role("button", name="Merge").click()
    page.wait_for_url(f"**/pull-requests/{pr.number}")
    page.locator(".badge.merged").wait_for()
    assert keep_screenshot("act-4-merged").stat().st_size > 0
    assert emu_repo.pullrequests[pr.number].state == "MERGED"
    squashed = emu_repo.commits[emu_repo.branches["main"]]
    assert squashed.parents == [main_before] and squashed.tree["README.md"] == readme
    assert "feature/browser-edit" not in emu_repo.branches

    # Decline another open pull request, with a reason.
    other = act_world.open_pr("api-server", author="heidi")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{other.number}")
    page.get_by_role("link", name="Decline").click()
    page.get_by_label("Reason").fill("We will do this in the next quarter.")
    assert keep_screenshot("act-5-decline-form").stat().st_size > 0
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(f"**/pull-requests/{other.number}")
    page.locator(".badge.declined").wait_for()
    assert keep_screenshot("act-6-declined").stat().st_size > 0
    assert emu_repo.pullrequests[other.number].state == "DECLINED"

    # The audit log names all of it.
    page.goto(f"{live_server.url}/-/audit/")
    assert keep_screenshot("act-7-audit-log").stat().st_size > 0
    assert set(AuditEvent.objects.values_list("action", "result")) >= {
        ("file.commit", "success"),
        ("pull_request.open", "success"),
        ("pull_request.merge", "success"),
        ("pull_request.decline", "success"),
    }
    assert page.dialogs == []


def test_act_stale_edit_keeps_text_then_new_branch_and_slow_merge_shows_progress(
    act_world, page, live_server, login, keep_screenshot
):
    emu = act_world.emulator
    emu_repo = emu.world.repository("acme", "api-server")
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/edit?branch=main&path=README.md")
    page.get_by_label("Content").fill("# API Server\n\nMy long, careful rewrite.\n")
    page.get_by_label("Commit message").fill("Rewrite the README")
    # Meanwhile bob pushes to main.
    emu.world.commit_files(
        "acme", "api-server", "main", "bob", {"CHANGELOG.md": "Bob got here first.\n"}, "Bob's changelog"
    )
    moved_to = emu_repo.branches["main"]
    page.get_by_role("button", name="Commit").click()
    page.get_by_role("alert").filter(has_text="Someone committed to main").wait_for()
    assert page.get_by_label("Content").input_value() == "# API Server\n\nMy long, careful rewrite.\n"
    assert page.get_by_label("Commit to a new branch and open a pull request").is_checked()
    assert "Bob got here first." in page.locator(".action-diff").inner_text()
    assert keep_screenshot("act-8-stale-edit").stat().st_size > 0
    assert emu_repo.branches["main"] == moved_to

    page.get_by_label("New branch name").fill("feature/careful-rewrite")
    page.get_by_role("button", name="Commit").click()
    page.wait_for_url("**/pull-requests/*")
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch="feature/careful-rewrite")

    # Bitbucket takes a while to merge: the page shows the running task and polls it to the end.
    emu.app.merge_task_delay = 4.0
    page.get_by_role("link", name="Merge", exact=True).click()
    page.get_by_role("button", name="Merge").click()
    progress = page.locator(".merge-progress")
    progress.wait_for()
    assert keep_screenshot("act-9-merge-in-progress").stat().st_size > 0
    page.wait_for_url(f"**/pull-requests/{pr.number}", timeout=20_000)
    page.locator(".badge.merged").wait_for()
    assert emu_repo.pullrequests[pr.number].state == "MERGED"


def test_act_without_javascript_branch_merge_and_decline(act_world, browser, live_server):
    """The same forms work as plain HTML: POST, redirect, and the merge's "Check now" link instead of polling."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems = watch_for_problems(context, page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    emu = act_world.emulator
    emu_repo = emu.world.repository("acme", "api-server")

    page.goto(f"{live_server.url}/acme/api-server/branches/new")
    page.get_by_label("Type").select_option("hotfix/")
    page.get_by_label("Branch name").fill("no-js")
    page.get_by_role("button", name="Create branch").click()
    page.wait_for_url("**/acme/api-server/branches/")
    assert "hotfix/no-js" in emu_repo.branches

    pr = act_world.open_pr("api-server", author="dave")
    emu.app.merge_task_delay = 3.0  # longer than the server's own wait: the page shows the running task
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}/merge")
    page.get_by_label("Merge strategy").select_option("squash")
    page.get_by_role("button", name="Merge").click()
    page.get_by_text("Bitbucket is merging").wait_for()
    for _ in range(20):
        if emu_repo.pullrequests[pr.number].state == "MERGED":
            break
        page.wait_for_timeout(300)
    page.get_by_role("link", name="Check now").click()
    page.wait_for_url(f"**/pull-requests/{pr.number}")
    page.locator(".badge.merged").wait_for()

    other = act_world.open_pr("api-server", author="heidi")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{other.number}/decline")
    page.get_by_role("button", name="Decline").click()
    page.wait_for_url(f"**/pull-requests/{other.number}")
    assert emu_repo.pullrequests[other.number].state == "DECLINED"
    assert_no_problems(page, problems)
    context.close()
