"""Django's `{# … #}` comment ends at the end of its line: one spread over lines is printed on the page as text."""

from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_templates_have_no_comment_spread_over_lines():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "{#" in line and "#}" not in line[line.index("{#") :]
    ]
    assert offenders == [], "use {% comment %}…{% endcomment %} for comments over several lines"
