"""Benchmark: requests per second the emulator serves for a paged pull-request list, 8 concurrent clients.

The emulator runs in its own process (as in the demo and the sync benchmarks) with the `scale` seed; eight client
threads, each with its own keep-alive `requests.Session` and API token, walk every page of
`/2.0/repositories/acme/{repo}/pullrequests?state=...&pagelen=50&sort=-updated_on` again and again: first the plain
list, then the list as the sync asks for it (its `fields=` with reviewers and participants, and its `q=`).

    .venv/bin/python bench/emulator.py [--seconds 10] [--clients 8] [--repos 10] [--pull-requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

STATES = "state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repos", type=int, default=10)
    parser.add_argument("--pull-requests", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        creds_path = Path(tmp) / "creds.json"
        started = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bitbucket_emulator.cli",
                "--port",
                "0",
                "--seed",
                "scale",
                "--repos",
                str(args.repos),
                "--pull-requests",
                str(args.pull_requests),
                "--members",
                "20",
                "--credentials-out",
                str(creds_path),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line.startswith("Bitbucket emulator listening on "):
                print("the emulator did not start", file=sys.stderr)
                return 1
            api = line.split(" on ", 1)[1].strip()
            boot = time.monotonic() - started
            accounts = json.loads(creds_path.read_text())["accounts"]
            return run(api, accounts, args, boot, proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to tell whether the server or the clients are saturated."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sync_query() -> str:
    """The query string the product's sync sends for pull requests (its own `fields=`), when it can be imported."""
    try:
        from bitbucket_sync.client.records import PullRequest, fields_param
    except ImportError:  # the benchmark also runs without the product installed
        fields = "values.id,values.title,values.state,values.updated_on,values.reviewers,values.participants,next"
    else:
        fields = fields_param(PullRequest.FIELDS, paginated=True)
    q = 'updated_on > 2000-01-01T00:00:00+00:00 AND state IN ("OPEN", "MERGED", "DECLINED", "SUPERSEDED")'
    return urlencode({"fields": fields, "q": q})


def run(api: str, accounts: list[dict], args, boot: float, pid: int) -> int:
    print(f"emulator: scale seed ({args.repos} repos x {args.pull_requests} PRs) up in {boot:.2f} s")
    failures = phase("plain", "", api, accounts, args, pid)
    failures += phase("as the sync asks (fields=, q=)", "&" + sync_query(), api, accounts, args, pid)
    return 1 if failures else 0


def phase(label: str, extra: str, api: str, accounts: list[dict], args, pid: int) -> int:
    counts = [0] * args.clients
    errors = [0] * args.clients
    stop = threading.Event()

    def client(i: int) -> None:
        account = accounts[i % len(accounts)]
        s = requests.Session()
        s.trust_env = False
        s.auth = (account["email"], account["api_token"])
        repo = i % args.repos + 1
        first = f"{api}/repositories/acme/repo-{repo:04d}/pullrequests?{STATES}&pagelen=50&sort=-updated_on{extra}"
        while not stop.is_set():
            url: str | None = first
            while url and not stop.is_set():
                r = s.get(url, timeout=30)
                if r.status_code != 200:
                    errors[i] += 1
                    break
                counts[i] += 1
                url = r.json().get("next")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    t0 = time.monotonic()
    server_cpu0, client_cpu0 = cpu_seconds(pid), time.process_time()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    server_cpu, client_cpu = cpu_seconds(pid) - server_cpu0, time.process_time() - client_cpu0
    total = sum(counts)
    print(
        f"paged PR list, {label} (pagelen=50, all states), {args.clients} concurrent clients, {elapsed:.1f} s: "
        f"{total} requests, {total / elapsed:.0f} requests/s, {sum(errors)} errors"
    )
    print(
        f"  CPU: emulator {server_cpu / elapsed:.0%} of a core, clients {client_cpu / elapsed:.0%} of a core "
        f"({os.cpu_count()} cores); emulator CPU per request {server_cpu / max(total, 1) * 1000:.1f} ms"
    )
    return sum(errors)


if __name__ == "__main__":
    sys.exit(main())
