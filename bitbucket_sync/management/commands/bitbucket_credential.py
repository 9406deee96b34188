"""Provision and check users' Bitbucket credentials from a shell (what `make demo` and provisioning scripts use).

    echo "$TOKEN" | manage.py bitbucket_credential set ada --kind api_token --login ada@example.com --secret-stdin
    manage.py bitbucket_credential check ada

The secret is read from standard input only (never an argument: arguments show in `ps` and shell history).
"""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bitbucket_sync.credentials.checks import CheckResult, CredentialRejected
from bitbucket_sync.credentials.lifecycle import recheck_credential, save_credential
from bitbucket_sync.models import Credential


class Command(BaseCommand):
    help = "Set (check, then save) or check the Bitbucket credential of a dashboard user."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        set_parser = sub.add_parser("set", help="check a credential with Bitbucket and make it the user's active one")
        set_parser.add_argument("username")
        set_parser.add_argument("--kind", required=True, choices=Credential.Kind.values)
        set_parser.add_argument(
            "--login", default="", help="the Atlassian account email (api_token) or Bitbucket username (app_password)"
        )
        set_parser.add_argument(
            "--secret-stdin", action="store_true", required=True, help="read the secret from standard input"
        )
        set_parser.add_argument("--api-url", default="", help="Bitbucket API base URL (default: BITBUCKET_API_URL)")
        set_parser.add_argument(
            "--workspace", default="", help="for a project or repository access token: the workspace it belongs to"
        )
        set_parser.add_argument("--create-user", action="store_true", help="create the dashboard user if missing")
        set_parser.add_argument("--staff", action="store_true", help="make the user staff (may manage credentials)")
        check_parser = sub.add_parser("check", help="check the user's active credential with Bitbucket now")
        check_parser.add_argument("username")

    def handle(self, *args, action: str, username: str, **options):
        if action == "set":
            self._set(username, **options)
        else:
            self._check(username)

    def _user(self, username: str, *, create: bool = False, staff: bool = False):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            if not create:
                raise CommandError(f"no dashboard user {username!r} (pass --create-user to create one)")
            # No password: the user signs in once an admin sets one (or through the site's own login setup).
            user = User.objects.create_user(username=username, password=None, is_staff=staff)
            self.stdout.write(f"created user {username}" + (" (staff)" if staff else ""))
        elif staff and not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        return user

    def _read_secret(self) -> str:
        if sys.stdin.isatty():
            return getpass.getpass("Secret (not echoed): ")
        return sys.stdin.readline().strip()

    def _set(self, username: str, *, kind, login, api_url, workspace, create_user, staff, **_):
        secret = self._read_secret()
        if not secret:
            raise CommandError("no secret on standard input")
        user = self._user(username, create=create_user, staff=staff)
        try:
            credential, result = save_credential(
                actor=None, owner=user, kind=kind, login=login, secret=secret, api_url=api_url, workspace=workspace
            )
        except CredentialRejected as rejected:
            raise CommandError(f"not saved: {rejected.result.message}") from None
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"saved {credential} ({credential.get_status_display()})"))
        self._report(result)

    def _check(self, username: str) -> None:
        user = self._user(username)
        credential = Credential.objects.active_for(user).first()
        if credential is None:
            raise CommandError(f"{username} has no active credential")
        result = recheck_credential(actor=None, credential=credential)
        self._report(result)
        if not result.valid:
            raise CommandError(f"{username}'s credential is {result.status}: {result.message}")
        self.stdout.write(self.style.SUCCESS(f"{credential} is valid"))

    def _report(self, result: CheckResult) -> None:
        if result.account:
            self.stdout.write(f"  account: {result.account.display_name} {result.account.uuid}")
        if result.scope_kind or result.scope_name:
            self.stdout.write(f"  access token for: {result.scope_kind or 'unknown'} {result.scope_name}")
        for ws in result.workspaces:
            self.stdout.write(f"  workspace: {ws.slug}" + (" (administrator)" if ws.administrator else ""))
        if result.accepted:
            write = {True: "yes", False: "no", None: "not verified"}[result.can_write]
            self.stdout.write(f"  read: {'yes' if result.can_read else 'no'}; write: {write}")
            self.stdout.write(f"  scopes found: {', '.join(result.scopes) or 'none'}")
        if result.missing_scopes:
            self.stdout.write(self.style.WARNING(f"  missing scopes: {', '.join(result.missing_scopes)}"))
        for note in result.notes:
            self.stdout.write(f"  note: {note}")
