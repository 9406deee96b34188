"""Sync workspaces from Bitbucket now, inline (printing a summary) or through the workers (--enqueue).

manage.py bitbucket_sync --as ada                       # every site ada has a credential for
manage.py bitbucket_sync --workspace acme               # a Bitbucket Cloud workspace
manage.py bitbucket_sync --workspace PLAT --site https://git.example.com --full   # a Data Center project
"""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bitbucket_sync import sites, tasks
from bitbucket_sync.client import BitbucketError
from bitbucket_sync.models import Credential, SyncRun, Workspace
from bitbucket_sync.sync import access, engine, policy


class Command(BaseCommand):
    help = (
        "Sync Bitbucket workspaces into the mirror: incremental by default, --full to re-list everything. Runs "
        "inline and prints what it did, or --enqueue it for the Celery workers. --as USERNAME syncs with that "
        "user's own credentials, one per site (and discovers their workspaces, which take it as their sync "
        "credential unless an admin picked one or a better one found them: a workspace access token, then a "
        "workspace owner's). --workspace KEY --site URL names a Data Center project by its key and site."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--workspace",
            metavar="KEY",
            help="only this workspace: a Cloud workspace slug, or with --site a Data Center project key (PLAT, ~ada)",
        )
        parser.add_argument(
            "--site",
            metavar="URL",
            default="",
            help="the Data Center site of --workspace (one of BBDASH_DATACENTER_URLS)",
        )
        parser.add_argument("--full", action="store_true", help="full reconciliation instead of incremental")
        parser.add_argument("--enqueue", action="store_true", help="queue the sync for the workers and return")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="use this dashboard user's credential")

    def handle(self, *args, workspace, site, full, enqueue, as_user, **options):
        kind = SyncRun.Kind.FULL if full else SyncRun.Kind.INCREMENTAL
        site_url = self._site(site) if site else ""
        if site_url and not workspace:
            raise CommandError("--site names the site of --workspace KEY; give both.")
        credentials: list[Credential] = []
        found: list[tuple[Workspace, bool]] = []
        owner = None
        if as_user:
            owner = get_user_model().objects.filter(username=as_user).first()
            if owner is None:
                raise CommandError(f"No dashboard user {as_user!r}.")
            credentials = access.active_credentials(owner)
            if site_url:
                credentials = [c for c in credentials if sites.same_site(c.api_url, site_url)]
            if not credentials:
                where = f" for {site_url}" if site_url else ""
                raise CommandError(f"{as_user} has no active Bitbucket credential{where}; add one first.")
            for credential in credentials:  # one per site: each discovers its own site's workspaces
                try:
                    seen = access.discover_workspaces(credential=credential)
                except BitbucketError as exc:
                    raise CommandError(
                        f"Listing {as_user}'s workspaces on {credential.api_url} failed: {exc}"
                    ) from None
                found.extend(seen)
                names = ", ".join(ws.slug for ws, _ in seen) or "no workspace"
                where = f" on {credential.api_url}" if len(credentials) > 1 else ""
                self.stdout.write(f"{as_user}{where} belongs to: {names}")
        workspaces = Workspace.objects.live()
        if workspace:
            # A Data Center project is named by its key and its site; a Cloud workspace by its slug (its key too).
            workspaces = (
                workspaces.filter(key=workspace, api_url=site_url) if site_url else workspaces.filter(slug=workspace)
            )
            if not workspaces.exists():
                hint = "" if as_user else " (use --as USERNAME to discover it with a user's credential)"
                where = f" of {site_url}" if site_url else ""
                raise CommandError(f"No workspace {workspace!r}{where} in the mirror{hint}.")
        elif not credentials:
            workspaces = workspaces.filter(sync_credential__isnull=False)
        else:
            workspaces = workspaces.filter(pk__in=[ws.pk for ws, _ in found])
        failed = False
        for ws in workspaces.distinct().order_by("slug"):
            run_credential = access.credential_for(owner, ws) if owner is not None else None
            if owner is not None and run_credential is None:
                self.stderr.write(f"{ws.slug}: {as_user} has no credential for {ws.api_url or 'its site'}.")
                failed = True
                continue
            if run_credential is None and ws.sync_credential_id is None:
                self.stderr.write(f"{ws.slug}: no sync credential; an admin must pick one (or use --as USERNAME).")
                failed = True
                continue
            if enqueue:
                run = tasks.request_sync(
                    workspace=ws, kind=kind, trigger=SyncRun.Trigger.COMMAND, credential=run_credential
                )
                self.stdout.write(f"{ws.slug}: sync run #{run.pk} {run.get_status_display().lower()}")
                continue
            run = SyncRun.objects.create(
                workspace=ws,
                kind=kind,
                trigger=SyncRun.Trigger.COMMAND,
                credential=run_credential or ws.sync_credential,
            )
            run = engine.run_inline(run=run, sleep=time.sleep, on_pause=self._paused)
            self._summary(ws, run)
            failed = failed or run.status != SyncRun.Status.SUCCEEDED
            if run.status == SyncRun.Status.SUCCEEDED and not enqueue:
                for user_id in engine.users_to_refresh(workspace=ws):
                    self._sync_access(user_id)
                # As the worker does after a run: merge previews of the open pull requests whose tips moved.
                previews = tasks.check_conflicts_task(ws.pk)
                if previews.get("checked") or previews.get("deferred"):
                    self.stdout.write(
                        f"{ws.slug}: merge previews read for {previews['checked']} pull request(s), "
                        f"{previews['conflicted']} conflicting, {previews['deferred']} left for later"
                    )
        if owner is not None and not enqueue:  # --as was given
            self._sync_access(owner.pk)
        if failed:
            raise CommandError("Some syncs did not succeed; see above.")

    def _site(self, site: str) -> str:
        """The configured Data Center site ``site`` names (its server root or an API root of it)."""
        try:
            url = sites.checked_api_url(site)
        except sites.ApiUrlNotAllowed as error:
            raise CommandError(str(error)) from None
        if sites.site_kind(url) != "datacenter":
            raise CommandError(f"{site} is Bitbucket Cloud: name a Cloud workspace by its slug, without --site.")
        return url

    def _paused(self, run: SyncRun, paused: policy.Pause) -> None:
        assert run.workspace is not None  # a workspace sync's run
        self.stderr.write(f"{run.workspace.key}: paused {paused.seconds:.0f} s: {paused.reason}")

    def _sync_access(self, user_id: int) -> None:
        user = get_user_model().objects.get(pk=user_id)
        try:
            counts = access.sync_user_access(user=user)
        except BitbucketError as exc:
            self.stderr.write(f"access of {user.get_username()}: {exc}")
            return
        self.stdout.write(
            f"access of {user.get_username()}: {counts['workspaces']} workspace(s), "
            f"{counts['repositories']} repositories"
        )

    def _summary(self, ws: Workspace, run: SyncRun) -> None:
        took = ""
        if run.started_at and run.finished_at:
            took = f" in {(run.finished_at - run.started_at).total_seconds():.1f} s"
        self.stdout.write(
            f"{ws.slug}: {run.kind} sync #{run.pk} {run.status}{took}, {run.requests_made} requests, "
            f"{run.repositories_done}/{run.repositories_total} repositories"
        )
        for kind, counts in sorted(run.stats.items()):
            self.stdout.write(
                f"  {kind}: {counts['created']} created, {counts['updated']} updated, {counts['removed']} removed"
            )
        if run.message:
            self.stdout.write(f"  {run.message}")
        for error in run.errors:
            self.stderr.write(f"  error in {error['where']}: {error['message']}")
