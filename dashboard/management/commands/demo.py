"""`make demo`: the whole product on one machine, started and stopped by one command.

Migrates, creates the demo users, starts the web server, a Celery worker and beat, prints where to sign in, and
stops everything it started on Ctrl-C.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USERS = [
    # username, full name, staff + superuser
    ("alice", "Alice Adams", True),
    ("bob", "Bob Brown", False),
]


class Command(BaseCommand):
    help = "Run the demo: web server, Celery worker and beat, on the embedded defaults unless configured otherwise."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        password = os.environ.get("DEMO_PASSWORD", "demo")
        call_command("migrate", interactive=False, verbosity=0)
        self._create_users(password)

        bin_dir = Path(sys.executable).parent
        logs = settings.VAR_DIR / "logs"
        logs.mkdir(exist_ok=True)
        processes: list[tuple[str, subprocess.Popen]] = []

        def start(name: str, command: list[str]) -> subprocess.Popen:
            log = (logs / f"{name}.log").open("a")
            process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            processes.append((name, process))
            return process

        try:
            start(
                "web",
                [str(bin_dir / "gunicorn"), "dashboard.wsgi", "--bind", f"{host}:{port}", "--workers", "2",
                 "--threads", "4", "--access-logfile", "-"],
            )  # fmt: skip
            start("worker", [str(bin_dir / "celery"), "-A", "dashboard", "worker", "--loglevel", "INFO"])
            start("beat", [str(bin_dir / "celery"), "-A", "dashboard", "beat", "--loglevel", "INFO"])
            self._wait_for_web(host, port, processes)
            self._print_welcome(host, port, password, logs)
            while True:
                for name, process in processes:
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with {process.returncode}; see {logs / name}.log")
                        return
                time.sleep(1)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo…")
        finally:
            for _, process in reversed(processes):
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for _, process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            self.stdout.write("Demo stopped.")

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

    def _wait_for_web(self, host: str, port: int, processes) -> None:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{host}:{port}/-/health", timeout=2):
                    return
            except OSError:
                if any(process.poll() is not None for _, process in processes):
                    return
                time.sleep(0.5)

    def _print_welcome(self, host: str, port: int, password: str, logs: Path) -> None:
        self.stdout.write(
            self.style.SUCCESS(f"\nbbdash is running at http://{host}:{port}/\n")
            + f"  sign in as alice / {password} (admin) or bob / {password} (member)\n"
            + f"  logs: {logs}/\n"
            + "  Ctrl-C stops everything the demo started.\n"
        )
