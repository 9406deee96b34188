"""Secrets at rest: the database never holds a secret in clear, a removed key fails loudly, rotation keeps every
credential readable, and a process without a key refuses to start."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from bitbucket_sync.credentials import encryption
from bitbucket_sync.credentials.rotation import rotate_keys
from bitbucket_sync.models import AuditEvent, Credential

SECRET = "ATATT3xFfGF0-unit-secret-Zq9w"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _credential(owner, secret: str = SECRET, kind: str = Credential.Kind.API_TOKEN) -> Credential:
    credential = Credential(owner=owner, kind=kind, login=f"{owner.username}@example.com")
    credential.set_secret(secret)
    credential.save()
    return credential


def _raw_rows() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Credential._meta.db_table}")  # noqa: S608 - a table name from the model
        return repr(cursor.fetchall())


@pytest.mark.django_db
def test_credential_row_never_holds_the_secret(django_user_model):
    owner = django_user_model.objects.create_user("ada")
    credential = _credential(owner)

    raw = _raw_rows()
    assert SECRET not in raw
    assert SECRET[:-4] not in raw  # not even the part that is not shown as "last four"
    assert credential.secret_last4 == "Zq9w"
    assert Credential.objects.get(pk=credential.pk).get_secret() == SECRET
    assert SECRET not in repr(credential) and SECRET not in str(credential)


@pytest.mark.django_db
def test_short_secret_keeps_no_last_four(django_user_model):
    owner = django_user_model.objects.create_user("ada")
    credential = _credential(owner, secret="abc123")
    assert credential.secret_last4 == ""


@pytest.mark.django_db
def test_decrypt_with_removed_key_fails_loudly(django_user_model):
    owner = django_user_model.objects.create_user("ada")
    with override_settings(BBDASH_ENCRYPTION_KEYS=[OLD_KEY]):
        credential = _credential(owner)
    with (
        override_settings(BBDASH_ENCRYPTION_KEYS=[NEW_KEY]),
        pytest.raises(encryption.SecretUnreadable, match="was its key removed") as caught,
    ):
        Credential.objects.get(pk=credential.pk).get_secret()
    assert SECRET not in str(caught.value)


@pytest.mark.django_db
def test_rotate_keys_keeps_every_credential_working(django_user_model):
    owners = [django_user_model.objects.create_user(name) for name in ("ada", "bea", "cy")]
    secrets = [f"{SECRET}-{owner.username}" for owner in owners]
    with override_settings(BBDASH_ENCRYPTION_KEYS=[OLD_KEY]):
        for owner, secret in zip(owners, secrets, strict=True):
            _credential(owner, secret=secret)
    before = dict(Credential.objects.values_list("pk", "secret_encrypted"))

    with override_settings(BBDASH_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert rotate_keys(actor=None) == 3

    with override_settings(BBDASH_ENCRYPTION_KEYS=[NEW_KEY]):  # the old key is gone
        for credential in Credential.objects.order_by("owner__username"):
            assert credential.secret_encrypted != before[credential.pk]
            assert credential.get_secret() == f"{SECRET}-{credential.owner.username}"
    event = AuditEvent.objects.get(action="credential.rotate")
    assert event.result == AuditEvent.Result.SUCCESS
    assert "3 secret(s)" in event.message


@pytest.mark.django_db
def test_rotate_keys_changes_nothing_when_a_secret_is_unreadable(django_user_model):
    readable = _credential(django_user_model.objects.create_user("ada"))
    with override_settings(BBDASH_ENCRYPTION_KEYS=[OLD_KEY]):
        orphan = _credential(django_user_model.objects.create_user("bea"))
    before = dict(Credential.objects.values_list("pk", "secret_encrypted"))

    with (
        override_settings(BBDASH_ENCRYPTION_KEYS=[NEW_KEY, *encryption.settings.BBDASH_ENCRYPTION_KEYS]),
        pytest.raises(encryption.SecretUnreadable, match=f"credential {orphan.pk}"),
    ):
        rotate_keys(actor=None)

    assert dict(Credential.objects.values_list("pk", "secret_encrypted")) == before
    assert readable.pk in before
    failure = AuditEvent.objects.get(action="credential.rotate")
    assert failure.result == AuditEvent.Result.FAILURE and "nothing changed" in failure.message


@pytest.mark.django_db
def test_rotate_keys_command_reports_and_fails_clearly(django_user_model):
    with override_settings(BBDASH_ENCRYPTION_KEYS=[OLD_KEY]):
        _credential(django_user_model.objects.create_user("ada"))
    out = StringIO()
    with override_settings(BBDASH_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("bitbucket_rotate_keys", stdout=out)
    assert "1 secret(s) re-encrypted under the newest of 2 key(s)" in out.getvalue()
    assert "can now be removed" in out.getvalue()

    with (
        override_settings(BBDASH_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]),
        pytest.raises(CommandError, match="rotation stopped, nothing changed"),
    ):
        call_command("bitbucket_rotate_keys", stdout=StringIO())


def test_system_check_refuses_to_start_without_a_key():
    with override_settings(BBDASH_ENCRYPTION_KEYS=[]):
        errors = encryption.check_keys()
        with pytest.raises(encryption.ImproperlyConfigured, match="BBDASH_ENCRYPTION_KEYS"):
            encryption.require_keys()
    assert [error.id for error in errors] == ["bitbucket_sync.E001"]
    assert "BBDASH_ENCRYPTION_KEYS" in errors[0].msg
    assert "Fernet.generate_key()" in errors[0].msg


def test_system_check_names_a_malformed_key():
    with override_settings(BBDASH_ENCRYPTION_KEYS=[NEW_KEY, "not-a-key"]):
        errors = encryption.check_keys()
    assert len(errors) == 1 and "key number 2 is not a Fernet key" in errors[0].msg


def test_system_check_passes_with_the_configured_key():
    assert encryption.check_keys() == []


def test_write_key_file_creates_a_private_usable_key_once(tmp_path):
    key_file = tmp_path / "encryption_keys"
    assert encryption.write_key_file(key_file) is True
    assert encryption.write_key_file(key_file) is False  # never overwrites a key: secrets depend on it
    assert key_file.stat().st_mode & 0o777 == 0o600
    keys = [line for line in key_file.read_text().splitlines() if line and not line.startswith("#")]
    assert len(keys) == 1 and encryption.key_problem(keys) is None


@pytest.mark.django_db
def test_recheck_credential_with_removed_key_marks_it_invalid(django_user_model):
    from bitbucket_sync.credentials.lifecycle import recheck_credential

    owner = django_user_model.objects.create_user("ada")
    with override_settings(BBDASH_ENCRYPTION_KEYS=[OLD_KEY]):
        credential = _credential(owner)
    with override_settings(BBDASH_ENCRYPTION_KEYS=[NEW_KEY]):
        result = recheck_credential(actor=None, credential=credential)  # no request is made: nothing to send

    assert result.status == credential.status == Credential.Status.INVALID
    assert "cannot be decrypted" in credential.last_error
    assert AuditEvent.objects.get(action="credential.check").result == AuditEvent.Result.FAILURE
