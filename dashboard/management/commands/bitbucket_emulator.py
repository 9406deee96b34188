"""`python manage.py bitbucket_emulator ...`: runs the Bitbucket emulator with the same options as `bbdash-emulator`."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run the Bitbucket Cloud emulator (options as bbdash-emulator; see bitbucket_emulator/README.md)."

    def run_from_argv(self, argv: list[str]) -> None:
        # Hand every option through untouched: the emulator's own parser owns them (and its --help).
        self.handle(*argv[2:])

    def add_arguments(self, parser) -> None:
        parser.add_argument("args", nargs="*", help="bbdash-emulator options, e.g. --port 7990 --seed demo")

    def handle(self, *args: str, **options) -> None:
        from bitbucket_emulator.cli import main  # imported here: the site never loads the emulator otherwise

        code = main(list(args))
        if code:
            raise CommandError(f"the emulator stopped with exit code {code}")
        sys.stdout.flush()
