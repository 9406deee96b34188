"""`make demo`: the whole product on one machine, started and stopped by one command.

Migrates, collects the static files, creates the demo users, starts the emulator (Bitbucket Cloud and a Bitbucket
Data Center site), gives each demo user a credential for both, syncs, starts the web server, a Celery worker and beat,
prints where to sign in, and stops everything it started on Ctrl-C, SIGTERM or SIGHUP.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from bitbucket_sync import sites
from bitbucket_sync.credentials.encryption import write_key_file
from bitbucket_sync.models import Credential
from bitbucket_sync.sync import access
from dashboard.management.processes import ChildProcesses, StopSignal

DEMO_USERS = [
    # username, full name, staff + superuser
    ("alice", "Alice Adams", True),
    ("bob", "Bob Brown", False),
]


def service_commands(*, bind: str) -> dict[str, list[str]]:
    """The web server, Celery worker and beat: docker-compose.yml and the image run the same commands."""
    return {
        "web": ["gunicorn", "dashboard.wsgi", "--bind", bind, "--workers", "2", "--threads", "4",
                "--access-logfile", "-"],
        "worker": ["celery", "-A", "dashboard", "worker", "--loglevel", "INFO"],
        "beat": ["celery", "-A", "dashboard", "beat", "--loglevel", "INFO"],
    }  # fmt: skip


class Command(BaseCommand):
    help = "Run the demo: web server, Celery worker and beat, on the embedded defaults unless configured otherwise."
    # The system checks refuse to run without a credential encryption key; the demo makes one first (below).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--emulator-port", type=int, default=7990)

    def handle(self, *args, host: str, port: int, emulator_port: int, **options):
        password = os.environ.get("DEMO_PASSWORD", "demo")
        self._ensure_encryption_key()
        self.check()
        call_command("migrate", interactive=False, verbosity=0)
        # Pages name their scripts and styles through collectstatic's manifest (content-hashed names).
        call_command("collectstatic", interactive=False, verbosity=0)
        self._create_users(password)

        logs = settings.VAR_DIR / "logs"
        logs.mkdir(exist_ok=True)

        try:
            with ChildProcesses(cwd=settings.BASE_DIR, logs=logs) as processes:
                try:
                    self._run(processes, host=host, port=port, emulator_port=emulator_port, password=password)
                except (KeyboardInterrupt, StopSignal):
                    self.stdout.write("\nStopping the demo…")
        finally:
            self.stdout.write("Demo stopped.")

    def _run(self, processes: ChildProcesses, *, host: str, port: int, emulator_port: int, password: str) -> None:
        """Start everything, then return when a child exits (leaving `processes` stops the others)."""
        bin_dir = Path(sys.executable).parent
        api_url = self._start_emulator(processes, bin_dir, emulator_port)
        datacenter_url = self._datacenter_site()
        # Web, worker and beat (and the commands run below) speak to the emulator: its Cloud API and its Data Center
        # site. This process reads the same settings for the steps it runs itself (discovery, users' access).
        os.environ["BITBUCKET_API_URL"] = settings.BITBUCKET_API_URL = api_url
        datacenter_urls = list(dict.fromkeys([*settings.BBDASH_DATACENTER_URLS, datacenter_url]))
        os.environ["BBDASH_DATACENTER_URLS"] = ",".join(datacenter_urls)
        settings.BBDASH_DATACENTER_URLS = datacenter_urls
        # Where the emulator delivers webhooks once an admin turns live updates on from the sync page.
        os.environ.setdefault("BBDASH_PUBLIC_URL", f"http://{host}:{port}")
        self._provision_credentials(api_url)
        self._provision_datacenter_credentials(datacenter_url)
        self._first_sync()
        for name, (program, *arguments) in service_commands(bind=f"{host}:{port}").items():
            processes.start(name, [str(bin_dir / program), *arguments])
        self._wait_for_web(host, port, processes)
        self._print_welcome(host, port, password, processes.logs)
        while (exited := processes.exited()) is None:
            time.sleep(1)
        name, process = exited
        self.stderr.write(f"{name} exited with {process.returncode}; see {processes.logs / name}.log")

    def _ensure_encryption_key(self) -> None:
        """Credentials are encrypted at rest: make the demo's key once into var/ (never overwritten)."""
        if settings.BBDASH_ENCRYPTION_KEYS:
            return
        if write_key_file(settings.ENCRYPTION_KEY_FILE):
            self.stdout.write(f"Generated a credential encryption key into {settings.ENCRYPTION_KEY_FILE}")
        lines = settings.ENCRYPTION_KEY_FILE.read_text().splitlines()
        settings.BBDASH_ENCRYPTION_KEYS = [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    def _start_emulator(self, processes: ChildProcesses, bin_dir: Path, emulator_port: int) -> str:
        """The Bitbucket emulator, its world kept in var/ so a restarted demo keeps its commits."""
        credentials_file = settings.VAR_DIR / "emulator-credentials.json"
        credentials_file.unlink(missing_ok=True)
        processes.start(
            "emulator",
            [str(bin_dir / "bbdash-emulator"), "--host", "127.0.0.1", "--port", str(emulator_port), "--seed", "demo",
             "--state-file", str(settings.VAR_DIR / "emulator-state.json"),
             "--credentials-out", str(credentials_file)],
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not credentials_file.exists() or not credentials_file.stat().st_size:
            if time.monotonic() > deadline or processes.exited():
                raise CommandError(f"the emulator did not start; see {settings.VAR_DIR / 'logs' / 'emulator.log'}")
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written in one go, after the server listens; let the write finish
        return f"http://127.0.0.1:{emulator_port}/2.0"

    def _provision_credentials(self, api_url: str) -> None:
        """Give each demo user their emulator account's API token, through the provisioning command (checked with
        the emulator like any credential; the secret goes over stdin, never in an argument)."""
        accounts = json.loads((settings.VAR_DIR / "emulator-credentials.json").read_text())["accounts"]
        by_username = {account["username"]: account for account in accounts}
        for username, _, _ in DEMO_USERS:
            account = by_username[username]
            subprocess.run(
                [sys.executable, "manage.py", "bitbucket_credential", "set", username, "--kind", "api_token",
                 "--login", account["email"], "--secret-stdin", "--api-url", api_url],
                input=account["api_token"] + "\n", text=True, check=True, cwd=settings.BASE_DIR,
            )  # fmt: skip

    def _datacenter_site(self) -> str:
        """The emulator's Data Center site, as a credential names it: its server root with the context path."""
        written = json.loads((settings.VAR_DIR / "emulator-credentials.json").read_text())
        return sites.normalise_api_url(written["datacenter"]["url"])

    def _provision_datacenter_credentials(self, datacenter_url: str) -> None:
        """And each demo user's Data Center account (username and password, Basic): a second active credential, for
        the other site. Saved through the same command, so checked with the emulator's Data Center site first."""
        users = json.loads((settings.VAR_DIR / "emulator-credentials.json").read_text())["datacenter"]["users"]
        by_name = {user["name"]: user for user in users}
        for username, _, _ in DEMO_USERS:
            user = by_name[username]
            subprocess.run(
                [sys.executable, "manage.py", "bitbucket_credential", "set", username, "--kind", "basic",
                 "--login", user["name"], "--secret-stdin", "--api-url", datacenter_url],
                input=user["password"] + "\n", text=True, check=True, cwd=settings.BASE_DIR,
            )  # fmt: skip

    def _first_sync(self) -> None:
        """A full sync with alice's credentials before the pages open, so the first page shows the demo's Cloud
        workspace and Data Center projects; from then on beat keeps them fresh. Her credential of each site finds
        that site's workspaces (Data Center: projects PLAT and ~alice), which take it as their sync credential."""
        self.stdout.write("First sync of the demo workspaces and projects…")
        alice = get_user_model().objects.get(username="alice")
        handles: list[str] = []
        for credential in Credential.objects.active_for(alice).order_by("pk"):
            found = access.discover_workspaces(credential=credential)
            self.stdout.write(f"alice on {credential.api_url}: {', '.join(ws.slug for ws, _ in found) or 'nothing'}")
            handles += [ws.slug for ws, _ in found]
        for handle in handles:  # each with its sync credential (hers, unless a better one found it)
            command = [sys.executable, "manage.py", "bitbucket_sync", "--workspace", handle, "--full"]
            subprocess.run(command, check=True, cwd=settings.BASE_DIR)
        # Each user's own view (what their credential may see) now that the repositories are in the mirror.
        for user in get_user_model().objects.filter(username__in=[username for username, _, _ in DEMO_USERS]):
            access.sync_user_access(user=user)

    def _create_users(self, password: str) -> None:
        User = get_user_model()
        for username, full_name, is_admin in DEMO_USERS:
            first, last = full_name.split(" ", 1)
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@acme.test",
                    "is_staff": is_admin,
                    "is_superuser": is_admin,
                },
            )
            user.set_password(password)
            user.save()

    def _wait_for_web(self, host: str, port: int, processes: ChildProcesses) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{host}:{port}/-/health", timeout=2):
                    return
            except OSError:
                if processes.exited():
                    return
                time.sleep(0.5)

    def _print_welcome(self, host: str, port: int, password: str, logs: Path) -> None:
        self.stdout.write(
            self.style.SUCCESS(f"\nbbdash is running at http://{host}:{port}/\n")
            + f"  sign in as alice / {password} (admin) or bob / {password} (member)\n"
            + f"  logs: {logs}/\n"
            + "  Ctrl-C (or SIGTERM, or SIGHUP) stops everything the demo started.\n"
        )
