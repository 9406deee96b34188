"""Credential pages over the emulator: staff manage everyone's credential, members only see (and, when allowed,
replace) their own, and a secret never comes back in a page, a log record or an error."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings
from django.urls import reverse

from bitbucket_sync.credentials.lifecycle import save_credential
from bitbucket_sync.models import AuditEvent, Credential, Workspace
from bitbucket_sync.sync.access import sync_user_access

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", is_staff=True)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob")


@pytest.fixture
def staff_client(client, alice):
    client.force_login(alice)
    return client


def _form(emulator, username: str, **overrides) -> dict:
    account = emulator.account(username)
    return {
        "kind": "api_token",
        "login": account["email"],
        "secret": account["api_token"],
        "api_url": emulator.api_url,
        **overrides,
    }


def _save(emulator, owner, username: str) -> Credential:
    account = emulator.account(username)
    credential, _ = save_credential(
        actor=None,
        owner=owner,
        kind="api_token",
        login=account["email"],
        secret=account["api_token"],
        api_url=emulator.api_url,
    )
    return credential


def test_credential_user_add_checks_and_saves(emulator, staff_client, alice, bob):
    response = staff_client.post(reverse("credential_user", args=[bob.pk]), _form(emulator, "bob"))

    assert response.status_code == 302 and response.url == reverse("credential_user", args=[bob.pk])
    credential = Credential.objects.get(owner=bob, is_active=True)
    assert credential.status == Credential.Status.VALID and credential.created_by == alice
    page = staff_client.get(response.url)
    body = page.content.decode()
    assert "Saved and checked: acts as Bob Brown" in body
    assert f"…{credential.secret_last4}" in body and "Valid" in body
    assert emulator.account("bob")["api_token"] not in body


def test_credential_user_refused_keeps_input_but_not_the_secret(emulator, staff_client, bob):
    wrong = emulator.account("bob")["api_token"] + "-wrong"
    response = staff_client.post(reverse("credential_user", args=[bob.pk]), _form(emulator, "bob", secret=wrong))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Bitbucket refused the credential: Invalid credentials" in body
    assert f'value="{emulator.account("bob")["email"]}"' in body  # the other fields come back as typed
    assert wrong not in body and 'name="secret" autocomplete="new-password"' in body
    assert not Credential.objects.exists()


def test_credential_user_rejects_a_username_for_an_api_token(emulator, staff_client, bob):
    response = staff_client.post(reverse("credential_user", args=[bob.pk]), _form(emulator, "bob", login="bob"))
    assert "Atlassian account email" in response.content.decode()
    assert not Credential.objects.exists() and not AuditEvent.objects.exists()  # Bitbucket was not even asked


def test_credential_list_shows_status_at_a_glance(emulator, staff_client, alice, bob):
    credential = _save(emulator, bob, "bob")
    sync_user_access(user=bob)

    body = staff_client.get(reverse("credential_list")).content.decode()

    assert "bob" in body and "alice" in body and "no credential" in body  # alice has none yet
    assert f"…{credential.secret_last4}" in body and "API token" in body and "Valid" in body
    assert "acme" in body  # the workspaces bob sees
    assert emulator.account("bob")["api_token"] not in body


def test_credential_check_htmx_answers_the_status_region_only(emulator, staff_client, bob):
    credential = _save(emulator, bob, "bob")
    response = staff_client.post(reverse("credential_check", args=[credential.pk]), HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section id="credential-status"')
    assert "<html" not in body and "Valid" in body
    assert response.headers["Vary"].count("HX-Request") == 1
    assert AuditEvent.objects.filter(action="credential.check", result="success").count() == 1


def test_credential_revoke_by_staff(emulator, staff_client, bob):
    credential = _save(emulator, bob, "bob")
    response = staff_client.post(reverse("credential_revoke", args=[credential.pk]))
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.status == Credential.Status.REVOKED and credential.secret_encrypted == ""


def test_workspace_sync_credential_choice(emulator, staff_client, alice, bob):
    credential = _save(emulator, bob, "bob")
    workspace = Workspace.objects.create(bitbucket_uuid="{ws}", slug="acme")
    prefix = f"ws{workspace.pk}"

    page = staff_client.get(reverse("credential_list")).content.decode()
    assert "Prefer a workspace access token" in page

    url = reverse("workspace_sync_credential", args=[workspace.pk])
    staff_client.post(url, {f"{prefix}-credential": credential.pk})
    workspace.refresh_from_db()
    assert workspace.sync_credential == credential
    assert AuditEvent.objects.get(action="workspace.sync_credential").workspace_slug == "acme"

    Credential.objects.filter(pk=credential.pk).update(status=Credential.Status.INVALID)
    page = staff_client.get(reverse("credential_list")).content.decode()
    assert "which is invalid: pick another" in page


@pytest.mark.parametrize("route", ["credential_check", "credential_revoke"])
def test_non_staff_gets_404_on_another_users_credential(emulator, client, alice, bob, route):
    alices = _save(emulator, alice, "alice")
    client.force_login(bob)
    assert client.post(reverse(route, args=[alices.pk])).status_code == 404
    assert client.post(reverse(route, args=[alices.pk]), HTTP_HX_REQUEST="true").status_code == 404
    alices.refresh_from_db()
    assert alices.status == Credential.Status.VALID and alices.is_active
    assert not AuditEvent.objects.exclude(action="credential.add").exists()


def test_non_staff_gets_404_on_the_admin_pages(emulator, client, alice, bob):
    alices = _save(emulator, alice, "alice")
    workspace = Workspace.objects.create(bitbucket_uuid="{ws}", slug="acme", sync_credential=alices)
    client.force_login(bob)
    assert client.get(reverse("credential_list")).status_code == 404
    for user in (alice, bob):
        assert client.get(reverse("credential_user", args=[user.pk])).status_code == 404
        assert client.post(reverse("credential_user", args=[user.pk]), _form(emulator, "bob")).status_code == 404
    sync = client.post(reverse("workspace_sync_credential", args=[workspace.pk]), {f"ws{workspace.pk}-credential": ""})
    assert sync.status_code == 404
    workspace.refresh_from_db()
    assert workspace.sync_credential == alices
    assert Credential.objects.filter(owner=bob).count() == 0


def test_me_detail_shows_own_status_only(emulator, client, alice, bob):
    _save(emulator, alice, "alice")
    bobs = _save(emulator, bob, "bob")
    client.force_login(bob)
    body = client.get(reverse("me_detail")).content.decode()
    assert f"…{bobs.secret_last4}" in body and "Bob Brown" in body
    assert "Alice" not in body
    assert "An administrator manages your credential" in body
    # Without self-service, a member cannot replace their own credential either.
    assert client.post(reverse("me_detail"), _form(emulator, "bob")).status_code == 404
    assert client.post(reverse("me_check")).status_code == 302


@override_settings(BBDASH_CREDENTIAL_SELF_SERVICE=True)
def test_me_detail_self_service_replaces_own_credential(emulator, client, bob):
    first = _save(emulator, bob, "bob")
    client.force_login(bob)
    form = _form(emulator, "bob")
    del form["api_url"]  # members cannot point their credential elsewhere
    with override_settings(BITBUCKET_API_URL=emulator.api_url):
        response = client.post(reverse("me_detail"), form)
    assert response.status_code == 302
    first.refresh_from_db()
    assert not first.is_active
    event = AuditEvent.objects.get(action="credential.replace")
    assert event.actor == bob and event.subject_user == bob


def test_secret_never_in_responses_logs_or_errors(emulator, client, alice, bob, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, every level
    client.force_login(alice)
    secret = emulator.account("bob")["api_token"]
    wrong = secret[::-1]
    bodies = []

    bodies.append(client.post(reverse("credential_user", args=[bob.pk]), _form(emulator, "bob", secret=wrong)))
    bodies.append(client.post(reverse("credential_user", args=[bob.pk]), _form(emulator, "bob"), follow=True))
    credential = Credential.objects.get(owner=bob, is_active=True)
    bodies.append(client.post(reverse("credential_check", args=[credential.pk]), HTTP_HX_REQUEST="true"))
    bodies.append(client.get(reverse("credential_list")))
    sync_user_access(user=bob)  # the sync speaks with the stored secret
    user = next(u for u in emulator.world.users.values() if u.username == "bob")
    user.api_token = "changed-at-bitbucket-1234"  # now every use of the stored secret fails
    bodies.append(client.post(reverse("credential_check", args=[credential.pk]), follow=True))
    # The check marked it invalid, and nothing is sent with a refused credential: made valid again, the sync sends
    # the stored secret, is refused, and marks it (an audit event with Bitbucket's words) as it fails.
    Credential.objects.filter(pk=credential.pk).update(status=Credential.Status.VALID)
    with pytest.raises(Exception) as failed_sync:
        sync_user_access(user=bob)
    client.force_login(bob)
    bodies.append(client.get(reverse("me_detail")))

    texts = [response.content.decode() for response in bodies]
    texts += [record.getMessage() for record in caplog.records]
    texts += [repr(record.__dict__) for record in caplog.records]
    texts += [str(failed_sync.value), repr(failed_sync.value)]
    texts += [f"{event.message} {event.details}" for event in AuditEvent.objects.all()]
    assert AuditEvent.objects.filter(action="credential.refused").exists()
    assert len(caplog.records) > 0
    for candidate in (secret, wrong):
        assert not [text for text in texts if candidate in text]


def test_credential_list_queries_do_not_grow_with_users(staff_client, django_user_model, django_assert_max_num_queries):
    def add_users(names):
        for name in names:
            credential = Credential(owner=django_user_model.objects.create_user(name), kind="api_token", login="x@y.z")
            credential.set_secret(f"secret-of-{name}-1234")
            credential.save()

    add_users(["u1", "u2"])
    with django_assert_max_num_queries(12) as few:
        staff_client.get(reverse("credential_list"))
    add_users([f"u{n}" for n in range(3, 23)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = staff_client.get(reverse("credential_list"))
    assert response.content.decode().count("…1234") == 22


def test_credential_user_access_token_needs_and_keeps_its_workspace(emulator, staff_client, django_user_model):
    robot = django_user_model.objects.create_user("sync-bot")
    token = next(t for t in emulator.access_tokens if t["name"] == "docs-readonly")
    form = {"kind": "access_token", "login": "", "secret": token["token"], "api_url": emulator.api_url}

    refused = staff_client.post(reverse("credential_user", args=[robot.pk]), form)
    assert "enter the workspace it belongs to" in refused.content.decode()
    assert token["token"] not in refused.content.decode()

    saved = staff_client.post(reverse("credential_user", args=[robot.pk]), {**form, "workspace": "acme"}, follow=True)
    body = saved.content.decode()
    assert "repository" in body and "acme/docs" in body and "read only" in body
    assert "missing scopes: repository:write, pullrequest:write" in body
    credential = Credential.objects.get(owner=robot)
    assert (credential.scope_kind, credential.scope_name) == ("repository", "acme/docs")
