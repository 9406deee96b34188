"""Benchmark: pages per second gunicorn serves, as `make demo` starts it, to 1, 8 and 32 signed-in clients. Prints JSON.

Each client is a keep-alive `requests.Session` signed in through the login form (CSRF token and all), as alice or
bob in turn, walking inbox -> pull request -> source -> branches again and again; each level runs for `--seconds`
(or `--max-requests`), the levels taking turns. Per level: requests/s, p50/p95/max ms, errors by status, the
Bitbucket (emulator) requests the walk made, the CPU each gunicorn worker and PostgreSQL used, and how idle the
machine's cores were. Goals: no error at 32 clients, and requests/s at 8 clients at least 1.6x that at 1 client on
2 cores (no global lock, no request waiting on another). On a shared machine, read the ratio with the idle figure:
with no idle CPU left at 8 clients, the machine was the bound, not the server.

    .venv/bin/python bench/load.py [--levels 1,8,32] [--seconds 15] [--rounds 3] [--max-requests 0] [--warmup-walks 1]
        [--postgres-url postgres://postgres@127.0.0.1:5432/bbdash_load] [--web-args '--workers 4']

It sets up what the demo does, on its own: a PostgreSQL database (created and dropped here), a temporary var/
folder, the emulator with the demo seed (controls on, to count requests), migrate, the demo users with their emulator
credentials and a first full sync; then the web server with the demo's own command (`service_commands()["web"]`),
on 127.0.0.1. Everything it started stops when it ends, on Ctrl-C, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import secrets
import shlex
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_SPEEDUP = 1.6
PASSWORD = secrets.token_urlsafe(18)  # this run's demo users only
REFUSED_DATABASES = {"postgres", "template0", "template1", "test"}  # never created or dropped here


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,8,32", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured time per level")
    parser.add_argument("--rounds", type=int, default=3, help="the levels take turns this many times")
    parser.add_argument("--max-requests", type=int, default=0, help="stop a level after this many requests (0: none)")
    parser.add_argument("--warmup-walks", type=int, default=1, help="unmeasured walks per client before the levels")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/bbdash_load")
    parser.add_argument(
        "--web-args", default="", help="gunicorn options added after the demo's, to compare (e.g. '--workers 4')"
    )
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",") if n.strip()]
    if not levels or min(levels) < 1:
        parser.error("--levels needs positive numbers of clients")
    database = urlsplit(args.postgres_url).path.strip("/")
    if not database or database in REFUSED_DATABASES:
        parser.error(f"--postgres-url must name a database of the benchmark's own, not {database!r}")

    from dashboard.management.processes import StopSignal

    started = time.monotonic()
    _postgres(args.postgres_url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)", "CREATE DATABASE {name}")
    try:
        with tempfile.TemporaryDirectory(prefix="bbdash-bench-load-") as var_dir:
            result = run(args, levels=levels, var_dir=Path(var_dir))
    except (KeyboardInterrupt, StopSignal):
        print("stopped: everything the benchmark started is stopped, its database dropped", file=sys.stderr)
        return 130
    finally:
        # FORCE: a connection the stopped web server left behind must not keep the database alive.
        _postgres(args.postgres_url, "DROP DATABASE IF EXISTS {name} WITH (FORCE)")
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
    # gunicorn takes the last of a repeated option, so --web-args overrides the demo's own.
    web = [*service_commands(bind=f"127.0.0.1:{_free_port()}")["web"], *shlex.split(args.web_args)]
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
            _walk_at_once(base_url, sessions, walks, into=_Level(len(sessions)), walks_each=1)
        endpoints: Counter[str] = Counter()
        warmup_requests = _counts(emulator, endpoints)

        # The levels take turns, `--rounds` times: the machine's load drifts, and taking turns exposes every level
        # to the same load (the machine is shared; a level measured alone in a busy minute would look slow).
        measured = {clients: _Level(clients) for clients in levels}
        for _ in range(args.rounds):
            for level in measured.values():
                _reset_counts(emulator)
                cpu_before, client_cpu_before = _workers_cpu_seconds(server.pid), time.process_time()
                database_before = _cpu_seconds(_backends(args.postgres_url))
                machine_before = _machine_cpu()
                level.seconds += _walk_at_once(
                    base_url,
                    sessions,
                    walks,
                    into=level,
                    seconds=args.seconds / args.rounds,
                    max_requests=math.ceil(args.max_requests / args.rounds),
                )
                for pid, cpu in _workers_cpu_seconds(server.pid).items():
                    level.server_cpu[pid] = level.server_cpu.get(pid, 0.0) + cpu - cpu_before.get(pid, 0.0)
                level.client_cpu += time.process_time() - client_cpu_before
                database_after = _cpu_seconds(_backends(args.postgres_url))
                level.database_cpu += sum(cpu - database_before.get(pid, 0.0) for pid, cpu in database_after.items())
                level.bitbucket_requests += _counts(emulator, endpoints)
                level.load.append(os.getloadavg()[0])
                machine_after = _machine_cpu()
                level.machine_idle += machine_after[0] - machine_before[0]
                level.machine_total += machine_after[1] - machine_before[1]
            _progress(setup_started, "round done: " + ", ".join(f"{n}: {len(v.timings)}" for n, v in measured.items()))
        results = {str(clients): level.summary() for clients, level in measured.items()}

    per_walk = sum(level["bitbucket_requests"] for level in results.values()) / max(
        1, sum(level["requests"] for level in results.values()) / 4
    )
    first, eight, most = results.get("1"), results.get("8"), results[str(max(levels))]
    speedup = round(eight["requests_per_second"] / first["requests_per_second"], 2) if first and eight else None
    return {
        "server": {
            "command": web,
            "workers": int(_last_option(web, "--workers") or 1),
            "threads": int(_last_option(web, "--threads") or 1),
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
            "by_endpoint": dict(endpoints),
            "how": "counted by the emulator; the source page is the walk's only live read, cached by commit",
        },
        "goals": {
            f"no_error_at_{max(levels)}_clients": not most["errors"],
            "speedup_8_over_1": speedup,
            "speedup_goal": GOAL_SPEEDUP,
            "met": not most["errors"] and speedup is not None and speedup >= GOAL_SPEEDUP,
        },
    }


def _last_option(command: list[str], option: str) -> str | None:
    values = [command[i + 1] for i, word in enumerate(command[:-1]) if word == option]
    return values[-1] if values else None


def _progress(since: float, what: str) -> None:
    print(f"[{time.monotonic() - since:6.1f} s] {what}", file=sys.stderr, flush=True)


# --- set-up: the demo's world, mirrored ---------------------------------------------------------------------------


def _postgres(url: str, *statements: str) -> None:
    """Run statements about the URL's database from the server's maintenance database."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        for statement in statements:
            conn.execute(sql.SQL(statement).format(name=sql.Identifier(parts.path.strip("/"))))


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
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bitbucket_sync.credentials.lifecycle import save_credential
    from bitbucket_sync.sync import access
    from dashboard.management.commands.demo import DEMO_USERS

    call_command("migrate", interactive=False, verbosity=0)
    # Pages name their scripts and styles through collectstatic's manifest, as in the demo.
    call_command("collectstatic", interactive=False, verbosity=0)
    progress("migrated")
    # The emulator started after the settings were read: it is this run's Bitbucket, as the demo makes it.
    settings.BITBUCKET_API_URL = os.environ["BITBUCKET_API_URL"]
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


@dataclass
class _Level:
    """What one number of concurrent clients measured, added up over the rounds."""

    clients: int
    timings: list[float] = field(default_factory=list)
    by_page: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    server_cpu: dict[int, float] = field(default_factory=dict)  # CPU seconds by gunicorn worker
    client_cpu: float = 0.0
    database_cpu: float = 0.0  # the PostgreSQL backends serving the web server
    bitbucket_requests: int = 0
    load: list[float] = field(default_factory=list)
    machine_idle: float = 0.0  # the whole machine's idle and total CPU time (/proc/stat), every tenant included
    machine_total: float = 0.0

    def summary(self) -> dict:
        ordered = sorted(self.timings)
        return {
            "clients": self.clients,
            "requests": len(ordered),
            "requests_per_second": round(len(ordered) / self.seconds, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1),
            "p50_ms_by_page": {page: round(statistics.median(t) * 1000, 1) for page, t in self.by_page.items()},
            "errors": dict(self.errors),
            # Each worker's share shows whether both cores served (a worker holding every connection would not).
            "server_cpu_cores_by_worker": sorted(
                (round(cpu / self.seconds, 2) for cpu in self.server_cpu.values()), reverse=True
            ),
            "client_cpu_cores": round(self.client_cpu / self.seconds, 2),
            "postgres_cpu_cores": round(self.database_cpu / self.seconds, 2),
            # What a request costs, whatever the machine's load: flat across levels means no lock spinning.
            "cpu_ms_per_request": {
                "web": round(sum(self.server_cpu.values()) / len(ordered) * 1000, 1),
                "postgres": round(self.database_cpu / len(ordered) * 1000, 1),
            },
            "bitbucket_requests": self.bitbucket_requests,
            "load_average_1min": round(statistics.mean(self.load), 2),
            # Near 0 while a level runs: the machine's cores were all busy (with other tenants' work too), so the
            # level's requests/s is bounded by the machine, not by a lock or a queue of the server's own.
            "machine_cpu_idle_percent": round(100 * self.machine_idle / max(self.machine_total, 1e-9), 1),
        }


def _walk_at_once(
    base_url: str,
    sessions: list[tuple[str, requests.Session]],
    walks: dict[str, dict[str, str]],
    *,
    into: _Level,
    seconds: float = 0,
    max_requests: int = 0,
    walks_each: int = 0,
) -> float:
    """`into.clients` sessions walk at once until `seconds` pass, `max_requests` are made or each made `walks_each`
    walks; their timings and errors go `into` the level. Returns the seconds it took."""
    stop = threading.Event()
    lock = threading.Lock()
    made = 0
    ready = threading.Barrier(into.clients + 1)

    def client(i: int) -> None:
        nonlocal made
        username, session = sessions[i]
        pages = list(walks[username].items())
        ready.wait()
        step = 0
        while not stop.is_set() and (not walks_each or step < walks_each * len(pages)):
            page, path = pages[(i + step) % len(pages)]  # clients start on different pages
            step += 1
            began = time.perf_counter()
            try:
                response = session.get(base_url + path, allow_redirects=False, timeout=60)
                outcome = None if response.status_code == 200 else str(response.status_code)
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            took = time.perf_counter() - began
            with lock:
                into.timings.append(took)
                into.by_page.setdefault(page, []).append(took)
                if outcome:
                    into.errors[outcome] += 1
                made += 1
                if max_requests and made >= max_requests:
                    stop.set()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(into.clients)]
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
    return time.monotonic() - began


def _reset_counts(emulator: str) -> None:
    requests.post(f"{emulator}/_emulator/requests/reset", timeout=10).raise_for_status()


def _counts(emulator: str, endpoints: Counter[str]) -> int:
    """Requests the emulator answered since the last reset; added by endpoint into `endpoints`."""
    counts = requests.get(f"{emulator}/_emulator/requests", timeout=10).json()
    endpoints.update({endpoint: c["total"] for endpoint, c in counts["by_endpoint"].items()})
    return counts["total"]


def _workers_cpu_seconds(master: int) -> dict[int, float]:
    """CPU seconds of each child of gunicorn's master (its workers)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                children.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return _cpu_seconds(children)


def _backends(url: str) -> list[int]:
    """Process ids of the PostgreSQL backends connected to the benchmark's database (the server is on this host)."""
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [parts.path.strip("/")])
        return [pid for (pid,) in rows]


def _machine_cpu() -> tuple[float, float]:
    """The machine's idle (idle + iowait) and total CPU time since boot, in clock ticks, from /proc/stat."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return ticks[3] + ticks[4], sum(ticks[:8])


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each process, from /proc (Linux); a process gone meanwhile is left out."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


if __name__ == "__main__":
    sys.exit(main())
