"""Provision and check users' Bitbucket credentials from a shell (what `make demo` and provisioning scripts use).

    echo "$TOKEN" | manage.py bitbucket_credential set ada --kind api_token --login ada@example.com --secret-stdin
    echo "$TOKEN" | manage.py bitbucket_credential set ada --kind http_access_token --login ada --secret-stdin \
        --api-url https://git.example.com
    manage.py bitbucket_credential check ada [--api-url URL]
    manage.py bitbucket_credential show ada
    manage.py bitbucket_credential list

A user holds one credential per site (Bitbucket Cloud, each Data Center site): `set` replaces the one of its site.

The secret is read from standard input only (never an argument: arguments show in `ps` and shell history).
"""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bitbucket_sync import sites
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
            "--login",
            default="",
            help="the Atlassian account email (api_token), Bitbucket username (app_password), or Data Center username "
            "(basic; http_access_token: a personal token's user, empty for a project or repository token)",
        )
        set_parser.add_argument(
            "--secret-stdin", action="store_true", required=True, help="read the secret from standard input"
        )
        set_parser.add_argument(
            "--api-url",
            default="",
            help="the site: BITBUCKET_API_URL (default) or a Data Center site of BBDASH_DATACENTER_URLS",
        )
        set_parser.add_argument(
            "--workspace",
            default="",
            help="for a project or repository access token: the workspace it belongs to (Data Center: KEY or KEY/repo)",
        )
        set_parser.add_argument("--create-user", action="store_true", help="create the dashboard user if missing")
        set_parser.add_argument("--staff", action="store_true", help="make the user staff (may manage credentials)")
        check_parser = sub.add_parser("check", help="check the user's active credentials with Bitbucket now")
        check_parser.add_argument("username")
        check_parser.add_argument("--api-url", default="", help="only the credential of this site")
        show_parser = sub.add_parser("show", help="the user's active credentials, one per site (never the secret)")
        show_parser.add_argument("username")
        sub.add_parser("list", help="every active credential: user, site, kind, status")

    def handle(self, *args, action: str, username: str = "", **options):
        if action == "set":
            self._set(username, **options)
        elif action == "check":
            self._check(username, api_url=options.get("api_url", ""))
        elif action == "show":
            self._show(username)
        else:
            self._list()

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
        self.stdout.write(
            self.style.SUCCESS(f"saved {credential} for {credential.api_url} ({credential.get_status_display()})")
        )
        self._report(result)

    def _credentials(self, user, *, api_url: str = "") -> list[Credential]:
        credentials = Credential.objects.active_for(user).select_related("account").order_by("api_url")
        if api_url:
            try:
                site = sites.checked_api_url(api_url)
            except sites.ApiUrlNotAllowed as error:
                raise CommandError(str(error)) from None
            credentials = credentials.filter(api_url=site)
        return list(credentials)

    def _check(self, username: str, *, api_url: str = "") -> None:
        user = self._user(username)
        credentials = self._credentials(user, api_url=api_url)
        if not credentials:
            raise CommandError(f"{username} has no active credential" + (f" for {api_url}" if api_url else ""))
        invalid = []
        for credential in credentials:
            self.stdout.write(f"{credential.api_url}:")
            result = recheck_credential(actor=None, credential=credential)
            self._report(result)
            if result.valid:
                self.stdout.write(self.style.SUCCESS(f"{credential} is valid"))
            else:
                site = f" for {credential.api_url}" if len(credentials) > 1 else ""
                invalid.append(f"{username}'s credential{site} is {result.status}: {result.message}")
        if invalid:
            raise CommandError("; ".join(invalid))

    def _show(self, username: str) -> None:
        user = self._user(username)
        credentials = self._credentials(user)
        if not credentials:
            raise CommandError(f"{username} has no active credential")
        for credential in credentials:
            self.stdout.write(f"{credential.api_url} ({sites.site_kind(credential.api_url)}):")
            self.stdout.write(f"  {self._describe(credential)}")
            if credential.account:
                self.stdout.write(f"  account: {credential.account.display_name} {credential.account.bitbucket_uuid}")
            if credential.scope_kind or credential.scope_name:
                self.stdout.write(f"  token for: {credential.scope_kind or 'unknown'} {credential.scope_name}")
            if credential.last_error:
                self.stdout.write(self.style.WARNING(f"  last error: {credential.last_error}"))

    def _list(self) -> None:
        credentials = Credential.objects.active().select_related("owner").order_by("owner__username", "api_url")
        for credential in credentials:
            self.stdout.write(f"{credential.owner.get_username()}\t{credential.api_url}\t{self._describe(credential)}")

    @staticmethod
    def _describe(credential: Credential) -> str:
        login = f" as {credential.login}" if credential.login else ""
        last4 = f" {credential.masked}" if credential.masked else ""
        return f"{credential.kind}{login}{last4}, {credential.status}"

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
