"""Benchmark: pages per second gunicorn serves, as `make demo` starts it, to 1, 8 and 32 signed-in clients. Prints JSON.

Each client is a keep-alive `requests.Session` signed in through the login form (CSRF token and all), as alice or
bob in turn, walking inbox -> pull request -> source -> branches again and again; each level runs for `--seconds`
(or `--max-requests`). Per level: requests/s, p50/p95/max ms, errors by status, the Bitbucket (emulator) requests the
walk made, the CPU the server used and the machine's load. Goals: no error at 32 clients, and requests/s at 8
clients at least 1.6x that at 1 client on 2 cores (no global lock, no request waiting on another).

    .venv/bin/python bench/load.py [--levels 1,8,32] [--seconds 20] [--max-requests 0] [--warmup-walks 1]
        [--postgres-url postgres://postgres@127.0.0.1:5432/bbdash_load]

It sets up what the demo does, on its own: a PostgreSQL database (created and dropped here), a temporary var/
folder, the emulator with the demo seed (controls on, to count requests), migrate, the demo users with their emulator
credentials and a first full sync; then the web server with the demo's own command (`service_commands()["web"]`),
on 127.0.0.1. Everything it started stops when it ends, on Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import _drop_postgres, _recreate_postgres  # noqa: E402

GOAL_SPEEDUP = 1.6
PASSWORD = secrets.token_urlsafe(18)  # this run's demo users only
REFUSED_DATABASES = {"postgres", "template0", "template1", "test"}  # never created or dropped here


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,8,32", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per level")
    parser.add_argument("--max-requests", type=int, default=0, help="stop a level after this many requests (0: none)")
    parser.add_argument("--warmup-walks", type=int, default=1, help="unmeasured walks per client before the levels")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/bbdash_load")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",") if n.strip()]
    if not levels or min(levels) < 1:
        parser.error("--levels needs positive numbers of clients")
    database = urlsplit(args.postgres_url).path.strip("/")
    if not database or database in REFUSED_DATABASES:
        parser.error(f"--postgres-url must name a database of the benchmark's own, not {database!r}")

    started = time.monotonic()
    _recreate_postgres(args.postgres_url)
    try:
        with tempfile.TemporaryDirectory(prefix="bbdash-bench-load-") as var_dir:
            result = run(args, levels=levels, var_dir=Path(var_dir))
    finally:
        _drop_postgres(args.postgres_url)
    result["total_seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))
    return 0


def run(args, *, levels: list[int], var_dir: Path) -> dict:
    from cryptography.fernet import Fernet

    # The settings of every process started from here (the web server too): this run's database and var/ only.
    os.environ.update(
        {
            "DATABASE_URL": args.postgres_url,
            "BBDASH_VAR_DIR": str(var_dir),
            "BBDASH_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "DJANGO_DEBUG": "0",
            "BBDASH_LOG_LEVEL": "WARNING",
        }
    )
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_ALLOWED_HOSTS"):
        os.environ.pop(name, None)  # the embedded defaults, under this run's var/
    import django

    django.setup()
    from django.db import connections

    from dashboard.management.commands.demo import service_commands
    from dashboard.management.processes import ChildProcesses

    logs = var_dir / "logs"
    logs.mkdir()
    bin_dir = Path(sys.executable).parent
    web = service_commands(bind=f"127.0.0.1:{_free_port()}")["web"]
    base_url = "http://" + web[web.index("--bind") + 1]
    with ChildProcesses(cwd=ROOT, logs=logs) as processes:
        setup_started = time.monotonic()
        emulator = _start_emulator(processes, bin_dir, var_dir)
        _progress(setup_started, "emulator up")
        try:
            walks = _mirror_the_demo(var_dir, progress=lambda what: _progress(setup_started, what))
        finally:
            connections.close_all()  # from here on only the web server uses the database (dropped at the end)
        _progress(setup_started, "demo world mirrored")
        server = processes.start("web", [str(bin_dir / web[0]), *web[1:]])
        _wait_for(base_url + "/-/health", processes, logs / "web.log")
        _progress(setup_started, "web server up")
        sessions = _sign_in(base_url, max(levels), users=list(walks))
        _progress(setup_started, f"{len(sessions)} sessions signed in")
        setup_seconds = time.monotonic() - setup_started

        _reset_counts(emulator)
        for _ in range(args.warmup_walks):
            _run_level(base_url, sessions, walks, clients=len(sessions), seconds=0, max_requests=0, walks_each=1)
        warmup_requests = _counts(emulator)

        results = {}
        for clients in levels:
            _reset_counts(emulator)
            cpu_before = _tree_cpu_seconds(server.pid)
            level = _run_level(
                base_url, sessions, walks, clients=clients, seconds=args.seconds, max_requests=args.max_requests
            )
            level["server_cpu_cores"] = round((_tree_cpu_seconds(server.pid) - cpu_before) / level.pop("seconds"), 2)
            level["bitbucket_requests"] = _counts(emulator)
            level["load_average_1min"] = round(os.getloadavg()[0], 2)
            results[str(clients)] = level
            _progress(setup_started, f"{clients} clients: {level['requests_per_second']} requests/s")

    per_walk = sum(level["bitbucket_requests"] for level in results.values()) / max(
        1, sum(level["requests"] for level in results.values()) / 4
    )
    first, eight, most = results.get("1"), results.get("8"), results[str(max(levels))]
    speedup = round(eight["requests_per_second"] / first["requests_per_second"], 2) if first and eight else None
    return {
        "server": {
            "command": web,
            "workers": int(web[web.index("--workers") + 1]),
            "threads": int(web[web.index("--threads") + 1]),
            "database": "postgresql",
            "cores": os.cpu_count(),
        },
        "walk": {user: list(paths.values()) for user, paths in walks.items()},
        "signed_in_sessions": len(sessions),
        "setup_seconds": round(setup_seconds, 1),
        "levels": results,
        "bitbucket_requests": {
            "warmup": warmup_requests,
            "per_walk_after_warmup": round(per_walk, 3),
            "how": "counted by the emulator; the source page is the walk's only live read, cached by commit",
        },
        "goals": {
            f"no_error_at_{max(levels)}_clients": not most["errors"],
            "speedup_8_over_1": speedup,
            "speedup_goal": GOAL_SPEEDUP,
            "met": not most["errors"] and speedup is not None and speedup >= GOAL_SPEEDUP,
        },
    }


def _progress(since: float, what: str) -> None:
    print(f"[{time.monotonic() - since:6.1f} s] {what}", file=sys.stderr, flush=True)


# --- set-up: the demo's world, mirrored ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_emulator(processes, bin_dir: Path, var_dir: Path) -> str:
    """The emulator with the demo seed, as the demo starts it, with the controls that count its requests."""
    credentials = var_dir / "emulator-credentials.json"
    port = _free_port()
    processes.start(
        "emulator",
        [str(bin_dir / "bbdash-emulator"), "--host", "127.0.0.1", "--port", str(port), "--seed", "demo", "--controls",
         "--credentials-out", str(credentials)],
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not credentials.exists() or not credentials.stat().st_size:
        if time.monotonic() > deadline or processes.exited():
            raise RuntimeError(f"the emulator did not start; see {var_dir / 'logs' / 'emulator.log'}")
        time.sleep(0.2)
    time.sleep(0.2)  # the file is written in one go after the server listens; let the write finish
    os.environ["BITBUCKET_API_URL"] = f"http://127.0.0.1:{port}/2.0"
    return f"http://127.0.0.1:{port}"


def _mirror_the_demo(var_dir: Path, *, progress) -> dict[str, dict[str, str]]:
    """Migrate, the demo users with their emulator credentials, a first full sync; then each user's walk."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bitbucket_sync.credentials import save_credential
    from bitbucket_sync.sync import access
    from dashboard.management.commands.demo import DEMO_USERS

    call_command("migrate", interactive=False, verbosity=0)
    progress("migrated")
    accounts = {a["username"]: a for a in json.loads((var_dir / "emulator-credentials.json").read_text())["accounts"]}
    User = get_user_model()
    users = []
    for username, _, is_admin in DEMO_USERS:
        user = User.objects.create_user(username, password=PASSWORD, is_staff=is_admin, is_superuser=is_admin)
        users.append(user)
        # What the demo's provisioning command does: the credential checked against the emulator, then saved.
        account = accounts[username]
        save_credential(
            actor=None,
            owner=user,
            kind="api_token",
            login=account["email"],
            secret=account["api_token"],
            api_url=os.environ["BITBUCKET_API_URL"],
        )
    progress("credentials set")
    # The demo's first sync, in this process: alice's credential discovers the workspaces and mirrors them.
    call_command("bitbucket_sync", "--as", DEMO_USERS[0][0], "--full", stdout=io.StringIO())
    for user in users:
        access.sync_user_access(user=user)
    return {user.get_username(): _walk(user) for user in users}


def _walk(user) -> dict[str, str]:
    """Inbox, pull request, source and branches of the first repository with an open pull request the user sees."""
    from django.urls import reverse

    from bitbucket_sync.models import PullRequest

    pull_request = (
        PullRequest.objects.filter(
            state=PullRequest.State.OPEN,
            repository__removed_at__isnull=True,
            repository__user_access__user=user,
        )
        .select_related("repository__workspace")
        .order_by("repository__workspace__slug", "repository__slug", "number")
        .first()
    )
    if pull_request is None:
        raise RuntimeError(f"{user} sees no open pull request after the first sync")
    repository = pull_request.repository
    ws = repository.workspace.slug
    return {
        "inbox": reverse("pull_request_list", args=[ws]),
        "pull_request": reverse("pull_request_detail", args=[ws, repository.slug, pull_request.number]),
        "source": reverse("source_detail", args=[ws, repository.slug, f"{repository.main_branch}/README.md"]),
        "branches": reverse("branch_list", args=[ws, repository.slug]),
    }


def _wait_for(url: str, processes, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if processes.exited():
            break
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the web server did not answer {url}; see {log}")


def _sign_in(base_url: str, count: int, *, users: list[str]) -> list[tuple[str, requests.Session]]:
    """`count` sessions signed in through the login form, alternating users; done in parallel (hashing is slow)."""

    def sign_in(i: int) -> tuple[str, requests.Session]:
        username = users[i % len(users)]
        session = requests.Session()
        session.trust_env = False  # 127.0.0.1 only, never through a proxy from the environment
        page = session.get(f"{base_url}/accounts/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status_code != 200 or token is None:
            raise RuntimeError(f"the login page answered {page.status_code} without a CSRF token")
        answer = session.post(
            f"{base_url}/accounts/login/",
            data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD},
            allow_redirects=False,
            timeout=60,
        )
        if answer.status_code != 302 or "sessionid" not in session.cookies:
            raise RuntimeError(f"signing in as {username} answered {answer.status_code}")
        return username, session

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(sign_in, range(count)))


# --- the measured walk --------------------------------------------------------------------------------------------


def _run_level(
    base_url: str,
    sessions: list[tuple[str, requests.Session]],
    walks: dict[str, dict[str, str]],
    *,
    clients: int,
    seconds: float,
    max_requests: int,
    walks_each: int = 0,
) -> dict:
    """`clients` sessions walk at once until `seconds` pass, `max_requests` are made or each made `walks_each`."""
    stop = threading.Event()
    lock = threading.Lock()
    timings: list[float] = []
    errors: Counter[str] = Counter()
    ready = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        username, session = sessions[i]
        paths = list(walks[username].values())
        ready.wait()
        step = 0
        while not stop.is_set() and (not walks_each or step < walks_each * len(paths)):
            path = paths[(i + step) % len(paths)]  # clients start on different pages
            step += 1
            began = time.perf_counter()
            try:
                response = session.get(base_url + path, allow_redirects=False, timeout=60)
                outcome = None if response.status_code == 200 else str(response.status_code)
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            took = time.perf_counter() - began
            with lock:
                timings.append(took)
                if outcome:
                    errors[outcome] += 1
                if max_requests and len(timings) >= max_requests:
                    stop.set()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.monotonic()
    try:
        while any(t.is_alive() for t in threads) and not stop.is_set():
            if seconds and time.monotonic() - began >= seconds:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    elapsed = time.monotonic() - began
    ordered = sorted(timings)
    return {
        "clients": clients,
        "requests": len(ordered),
        "requests_per_second": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "errors": dict(errors),
        "seconds": elapsed,
    }


def _reset_counts(emulator: str) -> None:
    requests.post(f"{emulator}/_emulator/requests/reset", timeout=10).raise_for_status()


def _counts(emulator: str) -> int:
    return requests.get(f"{emulator}/_emulator/requests", timeout=10).json()["total"]


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn's master and workers), from /proc (Linux)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


if __name__ == "__main__":
    sys.exit(main())
