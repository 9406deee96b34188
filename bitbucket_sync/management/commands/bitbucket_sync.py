"""Sync workspaces from Bitbucket now, inline (printing a summary) or through the workers (--enqueue)."""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bitbucket_sync import tasks
from bitbucket_sync.client import BitbucketError
from bitbucket_sync.models import SyncRun, Workspace
from bitbucket_sync.sync import access, engine, policy


class Command(BaseCommand):
    help = (
        "Sync Bitbucket workspaces into the mirror: incremental by default, --full to re-list everything. Runs "
        "inline and prints what it did, or --enqueue it for the Celery workers. --as USERNAME syncs with that "
        "user's own credential (and discovers their workspaces, which take it as their sync credential unless an "
        "admin picked one or a better one found them: a workspace access token, then a workspace owner's)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", metavar="SLUG", help="only this workspace (default: every workspace)")
        parser.add_argument("--full", action="store_true", help="full reconciliation instead of incremental")
        parser.add_argument("--enqueue", action="store_true", help="queue the sync for the workers and return")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME", help="use this dashboard user's credential")

    def handle(self, *args, workspace, full, enqueue, as_user, **options):
        kind = SyncRun.Kind.FULL if full else SyncRun.Kind.INCREMENTAL
        credential = None
        found = []
        if as_user:
            user = get_user_model().objects.filter(username=as_user).first()
            if user is None:
                raise CommandError(f"No dashboard user {as_user!r}.")
            credential = access.active_credential(user)
            if credential is None:
                raise CommandError(f"{as_user} has no active Bitbucket credential; add one first.")
            try:
                found = access.discover_workspaces(credential=credential)
            except BitbucketError as exc:
                raise CommandError(f"Listing {as_user}'s workspaces failed: {exc}") from None
            self.stdout.write(f"{as_user} belongs to: {', '.join(ws.slug for ws, _ in found) or 'no workspace'}")
        workspaces = Workspace.objects.live()
        if workspace:
            workspaces = workspaces.filter(slug=workspace)
            if not workspaces.exists():
                hint = "" if as_user else " (use --as USERNAME to discover it with a user's credential)"
                raise CommandError(f"No workspace {workspace!r} in the mirror{hint}.")
        elif credential is None:
            workspaces = workspaces.filter(sync_credential__isnull=False)
        else:
            workspaces = workspaces.filter(pk__in=[ws.pk for ws, _ in found])
        failed = False
        for ws in workspaces.distinct().order_by("slug"):
            if credential is None and ws.sync_credential_id is None:
                self.stderr.write(f"{ws.slug}: no sync credential; an admin must pick one (or use --as USERNAME).")
                failed = True
                continue
            if enqueue:
                run = tasks.request_sync(
                    workspace=ws, kind=kind, trigger=SyncRun.Trigger.COMMAND, credential=credential
                )
                self.stdout.write(f"{ws.slug}: sync run #{run.pk} {run.get_status_display().lower()}")
                continue
            run = SyncRun.objects.create(
                workspace=ws,
                kind=kind,
                trigger=SyncRun.Trigger.COMMAND,
                credential=credential or ws.sync_credential,
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
        if credential is not None and not enqueue:  # --as was given
            self._sync_access(credential.owner_id)
        if failed:
            raise CommandError("Some syncs did not succeed; see above.")

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
