"""Cleaning up branches in a real browser against the emulator: two merged or declined branches deleted in bulk after
a confirmation that names them, then one recreated from the audit log at its recorded tip."""

import pytest

from bitbucket_sync.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MERGED = "feature/validate-currency-codes"
DECLINED = "feature/switch-to-structured-logging"


def test_clean_up_two_branches_then_recreate_one(act_world, page, live_server, login, keep_screenshot):
    emu_repo = act_world.emulator.world.repository("acme", "api-server")
    tips = {name: emu_repo.branches[name] for name in (MERGED, DECLINED)}
    login("alice")

    page.goto(f"{live_server.url}/acme/api-server/branches/")
    page.get_by_role("link", name="Clean up").click()
    page.wait_for_url("**/branches/cleanup")
    page.get_by_label(f"Delete {MERGED}").check()
    page.get_by_label(f"Delete {DECLINED}").check()
    keep_screenshot("cleanup-1-candidates")
    page.get_by_role("button", name="Delete the chosen branches…").click()

    confirmation = page.locator("#cleanup-confirm")
    confirmation.wait_for()
    assert MERGED in confirmation.inner_text() and DECLINED in confirmation.inner_text()
    assert all(name in emu_repo.branches for name in tips)  # nothing is deleted before the confirmation
    keep_screenshot("cleanup-2-confirmation")
    page.get_by_role("button", name="Delete 2 branches").click()
    page.wait_for_url("**/branches/cleanup/result?batch=*")
    assert page.locator("#cleanup-result .badge.succeeded").count() == 2
    assert not any(name in emu_repo.branches for name in tips)
    keep_screenshot("cleanup-3-result")

    page.goto(f"{live_server.url}/-/audit/")
    keep_screenshot("cleanup-4-audit-log")
    row = page.locator("tr", has_text=MERGED).filter(has=page.get_by_role("button", name="Recreate branch"))
    row.get_by_role("button", name="Recreate branch").click()
    page.wait_for_url("**/acme/api-server/branches/")
    page.get_by_text(f"Recreated branch {MERGED}").wait_for()
    assert emu_repo.branches[MERGED] == tips[MERGED] and DECLINED not in emu_repo.branches
    assert AuditEvent.objects.filter(action="branch.recreate", target=MERGED, result="success").count() == 1
    assert page.dialogs == []  # the page fixture fails the test on console errors and CSP violations
