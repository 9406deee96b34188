"""What a sync costs in Bitbucket requests, time and memory, against the emulator's `scale` seed. Prints JSON.

    .venv/bin/python bench/sync_cost.py [--repos 200] [--prs 10] [--members 60] [--branches 5] [--latency-ms 50]
                                        [--memory-prs 10000,100000]

* full sync through a Celery worker with default settings: requests made and the theoretical minimum given the page
  caps (100 per page, 50 for pull requests), one build-statuses request per open pull request (a status change
  does not move a PR's `updated_on`) and one branch-restrictions page per repository, and the wall time with the
  injected latency (goal: ratio <= 1.05); the merge previews read after the run, within the budget reserve, are
  reported beside it;
* incremental sync with nothing changed (goal: at most one pull request listing per repository, the member pages and
  the repository listing, plus the in-progress builds due: none right after a full sync), the same once the
  build poll interval has passed (plus exactly one request per pull request whose build is still running), and with
  20 pull requests changed;
* the same full sync done the naive way (default page size of 10, a GET per object) as the baseline, in requests;
* live updates: requests per hour to keep the workspace fresh with webhooks on versus polling alone, and the delay
  from a change in the emulator to the mirror (signed deliveries to a local receiver, applied by a real worker);
* peak memory (max RSS) of a process doing the full sync of a workspace of N pull requests (1,000 per repository),
  for each N of --memory-prs, each in a fresh process against an emulator in its own process (whose memory is not
  counted).

* Data Center (``datacenter``): the demo site's project PLAT (``--dc-extra-prs`` more pull requests in api-gateway,
  so its listing is several pages), synced inline with a Basic credential: the full sync against the minimum (one
  request per listing page: the project, its repositories, its members, and per repository the pull request
  pages at 100 a page, one page of branches and one of tags, and one build-status read per open pull request;
  watchers and restrictions are not read on Data Center), an idle incremental with the open-PR reconcile not due
  (goal: one pull request page per repository, plus the repository and member listings) and one with it due (plus
  each repository's open listing and, on that cadence, its branches and tags). ``--datacenter-only`` skips the
  Cloud sections.

It runs on a throwaway SQLite database under a temporary directory, never the project's var/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup_django(var_dir: str) -> None:
    from cryptography.fernet import Fernet

    os.environ["BBDASH_VAR_DIR"] = var_dir
    os.environ.setdefault("BBDASH_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ["DJANGO_SETTINGS_MODULE"] = "dashboard.settings"
    os.environ.pop("DATABASE_URL", None)
    os.environ["BBDASH_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_workspace(api_url: str, person: dict):
    from django.contrib.auth import get_user_model

    from bitbucket_sync.models import Credential, Workspace
    from bitbucket_sync.sync import access

    user = get_user_model().objects.create_user(person["username"])
    credential = Credential(owner=user, kind="api_token", login=person["email"], api_url=api_url, status="valid")
    credential.set_secret(person["api_token"])
    credential.save()
    access.discover_workspaces(credential=credential)
    return Workspace.objects.get(slug="acme")


def sync(workspace, kind: str):
    from bitbucket_sync.models import SyncRun
    from bitbucket_sync.sync import engine

    run = SyncRun.objects.create(
        workspace=workspace, kind=kind, trigger="command", credential=workspace.sync_credential
    )
    started = time.monotonic()
    run = engine.run_inline(run=run, sleep=time.sleep)
    return run, time.monotonic() - started


def access_requests(emu) -> int:
    """Requests of the access sync a finished run queues for its users (not part of the workspace sync)."""
    endpoints = emu.controls.counts()["by_endpoint"]
    return sum(v["total"] for k, v in endpoints.items() if "/user/workspaces" in k)


def worker_full_sync(workspace):
    """A full sync through a real Celery worker started with the default settings, timed from enqueue to the end."""
    from bitbucket_sync import tasks
    from bitbucket_sync.sync import engine

    log_path = Path(os.environ["BBDASH_VAR_DIR"]) / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "dashboard", "worker", "--loglevel", "INFO", "--without-mingle",
               "--without-gossip", "--without-heartbeat"]  # fmt: skip
    with log_path.open("w") as log:
        worker = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        started = time.monotonic()
        run = tasks.request_sync(workspace=workspace, kind="full", trigger="command")
        while True:
            run.refresh_from_db()
            if run.status not in engine.ACTIVE:
                break
            if time.monotonic() - started > 1200:
                raise RuntimeError(f"the full sync did not end:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        seconds = time.monotonic() - started
        time.sleep(2)  # let the access sync the run queued at its end finish, so it is not counted in the next step
        return run, seconds
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)


def theoretical_minimum(world, slug: str = "acme") -> int:
    """Requests a full sync cannot do without, given the page caps: each listing's pages, plus the workspace."""
    with world.lock:
        ws = world.workspace(slug)
        repos = world.repos_in(ws)
        pages = 1  # GET /workspaces/{ws}: the workspace's name (the discovery listing gives only uuid and slug)
        pages += max(1, math.ceil(len(ws.projects) / 100))
        pages += max(1, math.ceil(len(repos) / 100))
        pages += max(1, math.ceil(len(ws.members) / 100))
        for repo in repos:
            pages += max(1, math.ceil(len(repo.pullrequests) / 50))
            # Build statuses of each open pull request: one page of up to 100 (the scale seed gives one each).
            pages += sum(1 for pr in repo.pullrequests.values() if pr.state == "OPEN")
            pages += max(1, math.ceil(len(repo.branches) / 100))
            pages += max(1, math.ceil(len(repo.watchers) / 100))
            # Merge rules: one page of branch restrictions (the bench's credential is a repository admin).
            pages += max(1, math.ceil(len(repo.restrictions) / 100))
    return pages


STATUSES = "GET /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/statuses"


def merge_preview_requests(counts: dict) -> int:
    """Requests of the merge previews read after the run (a pull request's diffstat and the redirect's target): not
    part of the sync, they run in the background within the budget reserve and stop there."""
    return sum(v.get("total", 0) for family, v in counts["by_endpoint"].items() if "/diffstat" in family)


def open_pull_requests(world, slug: str = "acme") -> int:
    with world.lock:
        return sum(
            1
            for repo in world.repos_in(world.workspace(slug))
            for pr in repo.pullrequests.values()
            if pr.state == "OPEN"
        )


def running_builds(workspace) -> int:
    """Open pull requests of the mirror with a build in progress."""
    from bitbucket_sync.models import PullRequest

    return (
        PullRequest.objects.filter(repository__workspace=workspace, state="OPEN", statuses__state="INPROGRESS")
        .distinct()
        .count()
    )


def age_status_reads(workspace) -> None:
    """Move every status read back past the poll interval, as if that much time had gone by."""
    from datetime import timedelta

    from django.utils import timezone

    from bitbucket_sync.models import PullRequest

    PullRequest.objects.filter(repository__workspace=workspace).update(
        statuses_synced_at=timezone.now() - timedelta(minutes=poll_minutes() + 1)
    )


def poll_minutes() -> int:
    from bitbucket_sync.sync.statuses import poll_minutes as minutes

    return minutes()


def naive_full_sync(api_url: str, person: dict) -> None:
    """The common client's way: default page size (10), then a GET for every object it listed."""
    import requests

    session = requests.Session()
    session.auth = (person["email"], person["api_token"])

    def listing(url: str, params: dict | None = None):
        while url:
            page = session.get(url, params=params, timeout=30).json()
            params = None
            yield from page.get("values", [])
            url = page.get("next")

    states = {"state": ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]}
    for repo in listing(f"{api_url}/repositories/acme"):
        base = f"{api_url}/repositories/{repo['full_name']}"
        session.get(base, timeout=30)
        for pr in listing(f"{base}/pullrequests", states):
            session.get(f"{base}/pullrequests/{pr['id']}", timeout=30)
            if pr["state"] == "OPEN":
                list(listing(f"{base}/pullrequests/{pr['id']}/statuses"))
        for branch in listing(f"{base}/refs/branches"):
            session.get(f"{base}/refs/branches/{requests.utils.quote(branch['name'], safe='')}", timeout=30)
        list(listing(f"{base}/watchers"))
    list(listing(f"{api_url}/workspaces/acme/members"))


def cost(args) -> dict:
    from bitbucket_emulator import Emulator

    emu = Emulator.start(
        seed="scale",
        controls=True,
        repos=args.repos,
        pull_requests=args.prs,
        members=args.members,
        branches=args.branches,
    )
    try:
        world = emu.world
        with world.lock:
            for repo in world.repos_in(world.workspace("acme")):
                # The scale seed gives two watchers per repository; the brief's world has three.
                carol = next(u for u in world.users.values() if u.username not in ("alice", "bob"))
                if carol.uuid not in repo.watchers:
                    repo.watchers.append(carol.uuid)
        person = emu.account("alice")
        workspace = make_workspace(emu.api_url, person)
        emu.controls.set_latency(ms=args.latency_ms)
        minimum = theoretical_minimum(world)

        emu.controls.reset_counts()
        full, full_seconds = worker_full_sync(workspace)
        full_counts = emu.controls.counts()
        previews = merge_preview_requests(full_counts)
        full_requests = full_counts["total"] - access_requests(emu) - previews
        full_status_reads = full_counts["by_endpoint"].get(STATUSES, {}).get("total", 0)

        emu.controls.reset_counts()
        incremental, incremental_seconds = sync(workspace, "incremental")
        incremental_requests = emu.controls.counts()["total"]

        # The build poll interval passes: the running builds (and only they) are read again.
        running = running_builds(workspace)
        age_status_reads(workspace)
        emu.controls.reset_counts()
        polled, polled_seconds = sync(workspace, "incremental")
        polled_counts = emu.controls.counts()
        polled_requests = polled_counts["total"]
        polled_status_reads = polled_counts["by_endpoint"].get(STATUSES, {}).get("total", 0)

        with world.lock:
            repos = world.repos_in(world.workspace("acme"))
            changed = 0
            for repo in repos:
                for pr in repo.pullrequests.values():
                    if pr.state == "OPEN" and changed < 20:
                        world.update_pull_request_title("acme", repo.slug, pr.id, "alice", f"{pr.title} (edited)")
                        changed += 1
                        break
        emu.controls.reset_counts()
        changed_run, changed_seconds = sync(workspace, "incremental")
        changed_requests = emu.controls.counts()["total"]

        emu.controls.set_latency(ms=0)  # the baseline is counted, not timed: at 50 ms a request it takes minutes
        emu.controls.reset_counts()
        naive_full_sync(emu.api_url, person)
        naive_requests = emu.controls.counts()["total"]
        live = webhook_cost(emu, workspace, incremental_requests=incremental_requests)
        assert full.status == incremental.status == changed_run.status == polled.status == "succeeded", (
            full.errors,
            full.message,
        )
        listings = args.repos + math.ceil(args.repos / 100) + math.ceil(args.members / 100)
        return {
            "world": {
                "repositories": args.repos,
                "pull_requests": args.repos * args.prs,
                "members": args.members,
                "extra_branches_per_repository": args.branches,
                "watchers_per_repository": 3,
                "latency_ms": args.latency_ms,
            },
            "full_sync": {
                "requests": full_requests,
                "theoretical_minimum": minimum,
                "ratio": round(full_requests / minimum, 3),
                "ratio_goal": 1.05,
                "meets_goal": full_requests / minimum <= 1.05,
                "build_status_requests": full_status_reads,
                "merge_preview_requests_after_the_run": previews,
                "open_pull_requests": open_pull_requests(world),
                "wall_seconds": round(full_seconds, 1),
                "mode": f"a Celery worker with default settings ({os.cpu_count()} processes), one task per repository",
                "stats": full.stats,
            },
            "incremental_unchanged": {
                "requests": incremental_requests,
                "one_per_repository_plus_listings": listings,
                "goal": listings,  # no running build is due right after the full sync read them
                "meets_goal": incremental_requests <= listings,
                "wall_seconds": round(incremental_seconds, 1),
            },
            "incremental_builds_due": {
                "requests": polled_requests,
                "pull_requests_with_a_running_build": running,
                "build_status_requests": polled_status_reads,
                "goal": listings + running,
                "meets_goal": polled_requests <= listings + running and polled_status_reads == running,
                "poll_minutes": poll_minutes(),
                "wall_seconds": round(polled_seconds, 1),
            },
            "incremental_20_prs_changed": {
                "requests": changed_requests,
                "pull_requests_updated": changed_run.stats.get("pull_requests", {}).get("updated", 0),
                "wall_seconds": round(changed_seconds, 1),
            },
            "naive_full_sync_baseline": {
                "requests": naive_requests,
                "times_ours": round(naive_requests / full_requests, 1),
                "how": "pagelen 10 (the default) and a GET per repository, pull request and branch",
            },
            "webhooks": live,
        }
    finally:
        emu.stop()


# -- Data Center ---------------------------------------------------------------------------------------------------


def datacenter_cost(args) -> dict:
    """The demo Data Center site's project PLAT: full sync, idle incrementals with the reconcile due and not."""
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import get_user_model

    from bitbucket_emulator import Emulator
    from bitbucket_emulator.world import datacenter as dc_world
    from bitbucket_sync.models import Credential, PullRequest, Repository, Workspace
    from bitbucket_sync.sync import access

    emu = Emulator.start(seed="demo", controls=True)
    try:
        settings.BBDASH_DATACENTER_URLS = [emu.datacenter_url]
        site = emu.world.datacenter
        with emu.world.lock:
            repo = site.repository("PLAT", "api-gateway")
            start = repo.pull_requests[1].created
            for n in range(args.dc_extra_prs):
                dc_world.create_pull_request(
                    site,
                    repo,
                    title=f"Change {n}",
                    from_branch=f"change/{n}",
                    from_commit=repo.git.branches["main"],
                    author_slug="bob",
                    reviewers=["alice"],
                    when=start - timedelta(minutes=args.dc_extra_prs - n),
                )
                if n % 3 == 0:
                    dc_world.close(emu.world, site, repo, max(repo.pull_requests), "alice", "DECLINED", start)
        user = get_user_model().objects.create_user("alice-dc")
        password = next(u["password"] for u in emu.datacenter_credentials["users"] if u["name"] == "alice")
        credential = Credential(owner=user, kind="basic", login="alice", api_url=emu.datacenter_url, status="valid")
        credential.set_secret(password)
        credential.save()
        access.discover_workspaces(credential=credential)
        workspace = Workspace.objects.get(key="PLAT")

        with emu.world.lock:
            repos = [r for r in site.repositories if r.project_key == "PLAT"]
            people = len(site.projects["PLAT"].permissions)
            pr_pages = {r.slug: max(1, math.ceil(len(r.pull_requests) / 100)) for r in repos}
            open_pages = {
                r.slug: max(1, math.ceil(sum(pr.state == "OPEN" for pr in r.pull_requests.values()) / 100))
                for r in repos
            }
        listings = 1 + max(1, math.ceil(people / 500))  # repositories and members: one page each
        open_prs = sum(pr.state == "OPEN" for r in repos for pr in r.pull_requests.values())
        # The project; branches and tags; the build statuses of each open pull request's source commit (as on Cloud:
        # a build does not move a pull request's order, so each is read once).
        minimum = 1 + listings + sum(pr_pages.values()) + 2 * len(repos) + open_prs

        emu.controls.reset_counts()
        full, full_seconds = sync(workspace, "full")
        full_counts = emu.controls.counts()

        emu.controls.reset_counts()
        idle, idle_seconds = sync(workspace, "incremental")
        idle_counts = emu.controls.counts()

        Repository.objects.filter(workspace=workspace).update(open_pull_requests_reconciled_at=None)
        emu.controls.reset_counts()
        due, due_seconds = sync(workspace, "incremental")
        due_counts = emu.controls.counts()
        assert full.status == idle.status == due.status == "succeeded", (full.errors, idle.errors, due.errors)

        def by_family(counts: dict) -> dict[str, int]:
            prefix = "GET /rest/api/1.0/projects/{projectKey}"
            return {
                (family.removeprefix(prefix) or "/"): v["total"]
                for family, v in sorted(counts["by_endpoint"].items())
                if v["total"]
            }

        reconcile_goal = listings + len(repos) + sum(open_pages.values()) + 2 * len(repos)
        return {
            "world": {
                "project": "PLAT",
                "repositories": len(repos),
                "archived_repositories": sum(r.archived for r in repos),
                "pull_requests": {r.slug: len(r.pull_requests) for r in repos},
                "mirrored_pull_requests": PullRequest.objects.filter(workspace=workspace).count(),
                "members": people,
                "latency_ms": 0,
            },
            "full_sync": {
                "requests": full_counts["total"],
                "theoretical_minimum": minimum,
                "minimum_is": (
                    "GET project 1 + repositories 1 + members 1 + per repository: pull request pages at 100 "
                    f"({sum(pr_pages.values())} in all), branches 1, tags 1; build statuses 1 per open pull request "
                    f"({open_prs})"
                ),
                "ratio": round(full_counts["total"] / minimum, 3),
                "by_endpoint": by_family(full_counts),
                "wall_seconds": round(full_seconds, 1),
            },
            "incremental_idle_reconcile_not_due": {
                "requests": idle_counts["total"],
                "goal": listings + len(repos),
                "goal_is": "repositories 1 + members 1 + one pull request page per repository",
                "meets_goal": idle_counts["total"] <= listings + len(repos),
                "by_endpoint": by_family(idle_counts),
                "wall_seconds": round(idle_seconds, 1),
            },
            "incremental_idle_reconcile_due": {
                "requests": due_counts["total"],
                "goal": reconcile_goal,
                "goal_is": (
                    "the above + per repository its open pull request pages, then branches 1 and tags 1 (listed on "
                    "the reconcile's cadence: Data Center repositories carry no updated_on)"
                ),
                "meets_goal": due_counts["total"] <= reconcile_goal,
                "reconcile_minutes": settings.BBDASH_OPEN_PR_RECONCILE_MINUTES,
                "by_endpoint": by_family(due_counts),
                "wall_seconds": round(due_seconds, 1),
            },
        }
    finally:
        emu.stop()


# -- live updates (webhooks) -------------------------------------------------------------------------------------


def webhook_cost(emu, workspace, *, incremental_requests: int, events: int = 30) -> dict:
    """Webhooks on versus polling alone: requests per hour to keep the workspace fresh, and the delay from a change
    in the emulator to the mirror (the emulator delivers to this process's receiver; a real Celery worker applies)."""
    import statistics
    import threading
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from django.conf import settings
    from django.urls import reverse

    from bitbucket_sync import webhooks
    from bitbucket_sync.models import Credential, PullRequest, WebhookDelivery
    from dashboard.wsgi import application
    from tests.fixtures.celery_worker import start_worker, wait_until_consuming, worker_env

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = make_server("127.0.0.1", 0, application, server_class=Server, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log = Path(settings.VAR_DIR) / "bench-worker.log"
    worker = start_worker(log, concurrency=2, env=worker_env())
    try:
        wait_until_consuming(worker)
        owner = Credential.objects.get(pk=workspace.sync_credential_id).owner
        url = f"http://127.0.0.1:{server.server_address[1]}" + reverse(
            "webhook_receive", kwargs={"workspace_uuid": workspace.bitbucket_uuid.strip("{}")}
        )
        webhooks.enable_live_updates(workspace=workspace, url=url, actor=owner)
        world = emu.world
        with world.lock:
            targets = [
                (repo.slug, pr.id)
                for repo in world.repos_in(world.workspace("acme"))
                for pr in repo.pullrequests.values()
                if pr.state == "OPEN"
            ][:events]
        emu.controls.reset_counts()
        delays = []
        for n, (slug, number) in enumerate(targets):
            title = f"Live update {n}"
            world.update_pull_request_title("acme", slug, number, "alice", title)
            started = time.monotonic()
            row = PullRequest.objects.filter(repository__workspace=workspace, repository__slug=slug, number=number)
            while not row.filter(title=title).exists():
                if time.monotonic() - started > 30:
                    raise RuntimeError(f"event {n} never reached the mirror:\n{worker.log()[-2000:]}")
                time.sleep(0.01)
            delays.append(time.monotonic() - started)
        during_events = emu.controls.counts()["total"]
        applied = WebhookDelivery.objects.filter(workspace=workspace, result="applied").count()
    finally:
        worker.stop()
        server.shutdown()
    normal_runs = 60 / settings.BBDASH_SYNC_INTERVAL_MINUTES
    slow_runs = 60 / settings.BBDASH_WEBHOOK_POLL_MINUTES
    refresh_per_event = during_events / len(delays)
    budget = 1000  # Bitbucket's hourly allowance for /2.0/repositories/* per user
    return {
        "how": (
            "requests/hour from the measured cost of one unchanged incremental poll times the polls an hour "
            f"(every {settings.BBDASH_SYNC_INTERVAL_MINUTES} min alone; every {settings.BBDASH_WEBHOOK_POLL_MINUTES} "
            "min while deliveries arrive), plus requests made while applying deliveries (measured) per event"
        ),
        "poll_requests": incremental_requests,
        "polling_alone_requests_per_hour": round(normal_runs * incremental_requests),
        "with_webhooks_requests_per_hour": round(slow_runs * incremental_requests),
        "with_webhooks_extra_per_event": round(refresh_per_event, 2),
        "polling_alone_fits_hourly_budget": normal_runs * incremental_requests <= budget,
        "webhook_checks_per_hour": "4 on Bitbucket's separate webhook allowance (GET /workspaces/{ws}/hooks)",
        "events": len(delays),
        "deliveries_applied": applied,
        "requests_while_applying_events": during_events,
        "event_to_mirror_median_ms": round(statistics.median(delays) * 1000),
        "event_to_mirror_p90_ms": round(sorted(delays)[int(len(delays) * 0.9) - 1] * 1000),
        "event_to_mirror_max_ms": round(max(delays) * 1000),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def current_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory_child(prs: int) -> None:
    """In a fresh process: a full sync of a workspace of `prs` pull requests (1,000 per repository) from an emulator
    in another process. The emulator filters and sorts a repository's pull requests for every page, so one repository
    of 100,000 would measure the emulator's quadratic paging rather than the sync."""
    per_repo = min(prs, 1000)
    repos = max(1, prs // per_repo)
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(tmp)
        port = free_port()
        creds = Path(tmp) / "accounts.json"
        command = [
            sys.executable, "-m", "bitbucket_emulator.cli", "--port", str(port), "--seed", "scale",
            "--repos", str(repos), "--pull-requests", str(per_repo), "--members", "5", "--branches", "1",
            "--credentials-out", str(creds),
        ]  # fmt: skip
        emulator = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 600
            while not creds.exists() or not creds.read_text().strip():
                if emulator.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not start")
                time.sleep(0.2)
            time.sleep(0.5)
            accounts = json.loads(creds.read_text())
            people = accounts["accounts"] if isinstance(accounts, dict) else accounts
            person = next(p for p in people if p.get("username") == "alice")
            workspace = make_workspace(f"http://127.0.0.1:{port}/2.0", person)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            at_start = current_rss_kb()
            run, seconds = sync(workspace, "full")
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            from bitbucket_sync.models import PullRequest

            print(
                json.dumps(
                    {
                        "pull_requests": PullRequest.objects.count(),
                        "repositories": repos,
                        "status": run.status,
                        "peak_rss_mb": round(after / 1024, 1),
                        "rss_at_sync_start_mb": round(at_start / 1024, 1),
                        "peak_rss_before_sync_mb": round(before / 1024, 1),
                        "wall_seconds": round(seconds, 1),
                    }
                )
            )
        finally:
            emulator.terminate()
            emulator.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--prs", type=int, default=10, help="pull requests per repository")
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--branches", type=int, default=5, help="extra branches per repository")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--memory-prs", default="10000,100000", help="comma-separated sizes; empty to skip")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dc-extra-prs", type=int, default=250, help="Data Center: more PRs in api-gateway")
    parser.add_argument("--datacenter-only", action="store_true", help="only the Data Center section")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.datacenter_only:
        with tempfile.TemporaryDirectory() as tmp:
            setup_django(tmp)
            print(json.dumps({"datacenter": datacenter_cost(args)}, indent=2))
        return
    memory = []
    for size in [int(s) for s in args.memory_prs.split(",") if s.strip()]:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(size)], capture_output=True, text=True, check=True
        )
        memory.append(json.loads(out.stdout.strip().splitlines()[-1]))
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(tmp)
        result = cost(args)
        result["datacenter"] = datacenter_cost(args)
    result["worker_peak_memory"] = memory
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
