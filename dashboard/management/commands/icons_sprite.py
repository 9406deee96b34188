"""`manage.py icons_sprite --from <dir>`: (re)write `static/icons/sprite.svg` and its LICENSE from an unpacked
`@primer/octicons` npm package (`npm pack @primer/octicons && tar xzf primer-octicons-*.tgz` gives `package/`)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.icons import LICENSE_PATH, NAMES, SPRITE_PATH, sprite_from_package


class Command(BaseCommand):
    help = "Write static/icons/sprite.svg (the icons of dashboard.icons.NAMES) and its LICENSE from @primer/octicons."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from", dest="package_dir", required=True, type=Path, help="the unpacked npm package (its package/ dir)"
        )

    def handle(self, *args, package_dir: Path, **options) -> None:
        try:
            sprite, licence = sprite_from_package(package_dir)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"cannot read the icons from {package_dir}: {exc}") from exc
        SPRITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        SPRITE_PATH.write_text(sprite, encoding="utf-8")
        LICENSE_PATH.write_text(licence, encoding="utf-8")
        self.stdout.write(f"Wrote {len(NAMES)} icons to {SPRITE_PATH} and {LICENSE_PATH}")
