"""Print a workspace's mirror as JSON (documented in bitbucket_sync/sync/export.py) for backups and checks."""

import json

from django.core.management.base import BaseCommand, CommandError

from bitbucket_sync import sites
from bitbucket_sync.models import Workspace
from bitbucket_sync.sync.export import export_workspace


class Command(BaseCommand):
    help = (
        "Print the mirror of one workspace (or, with --site, one Bitbucket Data Center project) as JSON: workspace, "
        "members, repositories with branches, watchers and pull requests (reviewers, approvals). Identifiers are "
        "Bitbucket's own (Cloud uuids with braces; Data Center ids and user slugs); removed rows are left out "
        "unless --include-removed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--workspace", required=True, metavar="KEY", help="the Cloud workspace's slug, or with --site a project key"
        )
        parser.add_argument(
            "--site",
            metavar="BASE",
            help="a Bitbucket Data Center site of BBDASH_DATACENTER_URLS (its base URL); without it, Cloud",
        )
        parser.add_argument("--include-removed", action="store_true", help="also rows marked removed")
        parser.add_argument("--indent", type=int, default=2, help="JSON indentation (0: one line)")

    def handle(self, *args, workspace, site, include_removed, indent, **options):
        row = self._workspace(workspace, site)
        data = export_workspace(workspace=row, include_removed=include_removed)
        self.stdout.write(json.dumps(data, indent=indent or None, ensure_ascii=False, sort_keys=False))

    def _workspace(self, key: str, site: str | None) -> Workspace:
        if site is None:
            # A Cloud workspace: a Data Center project's handle (``KEY@site``) is not one.
            cloud = [ws for ws in Workspace.objects.all() if sites.site_kind(ws.api_url) == "cloud"]
            row = next((ws for ws in cloud if ws.slug == key), None)
            known = [ws.slug for ws in cloud if ws.removed_at is None]
            where = ""
        else:
            base = self._datacenter_site(site)
            candidates = Workspace.objects.filter(api_url=base)
            row = candidates.filter(key=key).first()
            known = list(candidates.live().values_list("key", flat=True))
            where = f" on {base}"
        if row is None:
            listed = ", ".join(sorted(known)) or "none; sync first"
            raise CommandError(f"No workspace {key!r}{where} in the mirror (known: {listed}).")
        return row

    def _datacenter_site(self, site: str) -> str:
        """The configured Data Center site `site` names (any of its API roots), normalised as the mirror keeps it."""
        try:
            base = sites.normalise_api_url(site)
        except ValueError as error:
            raise CommandError(str(error)) from None
        configured = [sites.normalise_api_url(url) for url in sites.allowed_api_urls()]
        if base not in configured or sites.site_kind(base) != "datacenter":
            listed = ", ".join(url for url in configured if sites.site_kind(url) == "datacenter") or "none"
            raise CommandError(f"{site!r} is not a Bitbucket Data Center site of BBDASH_DATACENTER_URLS ({listed}).")
        return base
