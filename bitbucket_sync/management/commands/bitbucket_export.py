"""Print a workspace's mirror as JSON (documented in bitbucket_sync/sync/export.py) for backups and checks."""

import json

from django.core.management.base import BaseCommand, CommandError

from bitbucket_sync.models import Workspace
from bitbucket_sync.sync.export import export_workspace


class Command(BaseCommand):
    help = (
        "Print the mirror of one workspace as JSON: workspace, members, repositories with branches, watchers and "
        "pull requests (reviewers, approvals). Uuids keep Bitbucket's braces; removed rows are left out unless "
        "--include-removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, metavar="SLUG", help="the workspace's slug")
        parser.add_argument("--include-removed", action="store_true", help="also rows marked removed")
        parser.add_argument("--indent", type=int, default=2, help="JSON indentation (0: one line)")

    def handle(self, *args, workspace, include_removed, indent, **options):
        row = Workspace.objects.filter(slug=workspace).first()
        if row is None:
            known = ", ".join(Workspace.objects.live().values_list("slug", flat=True))
            raise CommandError(f"No workspace {workspace!r} in the mirror (known: {known or 'none; sync first'}).")
        data = export_workspace(workspace=row, include_removed=include_removed)
        self.stdout.write(json.dumps(data, indent=indent or None, ensure_ascii=False, sort_keys=False))
