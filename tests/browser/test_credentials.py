"""An admin gives bob his Bitbucket credential in the browser; bob then sees his workspaces."""

import pytest
from django.contrib.auth import get_user_model

from bitbucket_sync.models import Credential, WorkspaceAccess


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_admin_adds_credential_for_bob_who_then_sees_his_workspaces(
    page, live_server, login, screenshot, emulator, celery_worker
):
    User = get_user_model()
    User.objects.create_user("alice", password="demo", is_staff=True)
    bob = User.objects.create_user("bob", password="demo")
    account = emulator.account("bob")

    login("alice")
    page.get_by_role("link", name="Credentials").click()
    page.get_by_role("link", name="bob").click()
    page.get_by_label("Kind").select_option("api_token")
    page.get_by_label("Email or username").fill(account["email"])
    page.get_by_label("Secret").fill(account["api_token"])
    page.get_by_label("API base URL").fill(emulator.api_url)
    page.get_by_role("button", name="Check and save").click()

    status = page.locator("#credential-status")
    status.get_by_text("Valid").wait_for()
    assert "Bob Brown" in status.inner_text()
    assert f"…{account['api_token'][-4:]}" in status.inner_text()
    assert page.get_by_label("Secret").input_value() == ""  # the replace form never holds the secret
    assert account["api_token"] not in page.content()
    page.get_by_role("button", name="Check now").click()
    page.locator("#credential-status").get_by_text("checked").wait_for()
    screenshot("credential-saved")
    page.get_by_role("link", name="Credentials").first.click()
    row = page.locator("#credential-table").get_by_role("row").filter(has_text="bob")
    assert "Valid" in row.inner_text() and f"…{account['api_token'][-4:]}" in row.inner_text()
    screenshot("credential-list")

    # The save enqueued bob's access sync; the worker runs it against the emulator.
    credential = Credential.objects.get(owner=bob, is_active=True)
    assert credential.status == Credential.Status.VALID
    page.context.clear_cookies()
    login("bob")
    for _ in range(60):
        if WorkspaceAccess.objects.filter(user=bob).exists():
            break
        page.wait_for_timeout(500)
    page.reload()
    workspaces = page.get_by_role("table").filter(has_text="Your workspaces")
    for slug in account["workspaces"]:
        workspaces.get_by_role("link", name=slug, exact=True).wait_for()
    assert "alice-labs" not in workspaces.inner_text()  # only alice belongs to it
    assert page.dialogs == []
    screenshot("bob-home")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_refused_credential_is_a_banner_for_its_owner_and_a_column_for_staff(page, live_server, login, screenshot):
    from datetime import timedelta

    from django.utils import timezone

    from tests import factories

    User = get_user_model()
    User.objects.create_user("alice", password="demo", is_staff=True)
    bob = User.objects.create_user("bob", password="demo")
    factories.credential(
        bob,
        status=Credential.Status.INVALID,
        last_checked_at=timezone.now() - timedelta(hours=2),
        last_error="Bitbucket refused it (401) while syncing: Token is invalid, expired, or not supported.",
    )

    login("bob")
    banner = page.get_by_role("region", name="Your Bitbucket credential was refused")
    assert "for Bitbucket Cloud was refused 2 hours ago" in banner.inner_text().replace("\xa0", " ")
    banner.get_by_role("link").first.click()
    page.wait_for_url("**/-/me/")
    assert "refused by Bitbucket" in page.locator("#credential-status").inner_text()
    screenshot("credential-refused-banner-owner")
    page.emulate_media(color_scheme="dark")
    screenshot("credential-refused-banner-owner-dark")

    page.context.clear_cookies()
    login("alice")
    assert page.locator(".credential-refused").count() == 0  # bob's refusal is not on alice's pages
    page.goto(f"{live_server.url}/-/credentials/")
    row = page.locator("#credential-table").get_by_role("row").filter(has_text="bob")
    assert "Invalid" in row.inner_text() and "refused 2" in row.inner_text()
    screenshot("credential-refused-staff-list")
