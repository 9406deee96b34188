"""`manage.py pygments_css`: (re)write `static/css/pygments.css` from Pygments' light and dark styles."""

from django.core.management.base import BaseCommand

from dashboard.theme import PYGMENTS_CSS_PATH, pygments_css


class Command(BaseCommand):
    help = "Write static/css/pygments.css, the syntax highlighting colours of the light and the dark theme."

    def handle(self, *args, **options) -> None:
        PYGMENTS_CSS_PATH.write_text(pygments_css(), encoding="utf-8")
        self.stdout.write(f"Wrote {PYGMENTS_CSS_PATH}")
