"""The colour theme: the header's toggle remembers the viewer's choice in their session and the next page renders it
as `<html data-theme>`; every colour of the stylesheet is a custom property with a dark value; the syntax
highlighting stylesheet is exactly what Pygments' formatter produces."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from dashboard.theme import PYGMENTS_CSS_PATH, following, pygments_css

CSS = (Path(settings.BASE_DIR) / "static" / "css" / "bbdash.css").read_text()
HEX = re.compile(r"#[0-9a-fA-F]{3,8}\b")
COLOUR_FUNCTION = re.compile(r"\s*(rgba?|hsla?)\(")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def _theme_of(html: str) -> str:
    match = re.search(r'<html lang="en" data-theme="([a-z]+)">', html)
    assert match, "no data-theme on <html>"
    return match.group(1)


@pytest.mark.django_db
def test_the_toggle_cycles_system_light_dark_and_the_next_page_renders_the_choice(signed_in):
    page = signed_in.get("/-/audit/").content.decode()
    assert _theme_of(page) == "system"
    assert 'aria-label="Colour theme: system (switch to light)"' in page
    assert '<input type="hidden" name="theme" value="light">' in page

    response = signed_in.post("/-/theme", {"theme": "dark", "next": "/-/audit/"})
    assert response.status_code == 302 and response["Location"] == "/-/audit/"
    assert signed_in.session["theme"] == "dark"
    page = signed_in.get("/-/audit/").content.decode()
    assert _theme_of(page) == "dark"
    assert 'aria-label="Colour theme: dark (switch to system)"' in page

    answer = signed_in.post("/-/theme", {"theme": "light"}, headers={"Accept": "application/json"})
    assert answer.json() == {"theme": "light", "next": "dark"}
    assert _theme_of(signed_in.get("/").content.decode()) == "light"
    assert [following(t) for t in ("system", "light", "dark")] == ["light", "dark", "system"]


def test_the_toggle_needs_a_signed_in_viewer(client):
    response = client.post("/-/theme", {"theme": "dark"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def _block(start: str) -> str:
    at = CSS.index(start)
    return CSS[at : CSS.index("}", at)]


def _properties(block: str) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+):\s*([^;]+);", block))


def test_every_colour_is_a_custom_property_with_a_dark_value():
    light = _properties(_block(":root {"))
    system_dark = _properties(_block(':root:not([data-theme="light"]) {'))
    chosen_dark = _properties(_block(':root[data-theme="dark"] {'))
    colours = {name for name, value in light.items() if HEX.fullmatch(value.strip()) or COLOUR_FUNCTION.match(value)}
    assert len(colours) > 30
    assert system_dark == chosen_dark  # the two ways to the dark palette agree
    assert set(system_dark) == colours  # every colour has a dark value
    # Outside the palettes no literal colour is left: a rule names a property.
    rules = CSS[CSS.index("* { box-sizing") :]
    assert HEX.findall(rules) == []
    assert not re.search(r"\b(rgba?|hsla?)\(|:\s*(white|black)\b", rules)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("palette", [":root {", ':root[data-theme="dark"] {'])
def test_text_on_its_backgrounds_meets_wcag_aa(palette):
    p = _properties(_block(palette))
    pairs = [
        ("text", "bg"), ("text", "surface"), ("muted", "surface"), ("muted", "subtle-bg"), ("muted", "neutral-soft"),
        ("accent", "surface"), ("accent", "accent-soft"), ("ok", "ok-soft"), ("warn", "warn-soft"),
        ("danger", "danger-soft"), ("merged", "merged-soft"), ("on-accent", "accent"), ("text", "diff-add-bg"),
        ("text", "diff-del-bg"), ("text", "diff-selected-bg"), ("text", "code-bg"), ("header-text", "header-bg"),
        ("header-link", "header-bg"), ("header-muted", "header-bg"), ("text", "warn-soft"), ("text", "danger-soft"),
    ]  # fmt: skip
    weak = [(fg, bg, round(_contrast(p[f"--{fg}"], p[f"--{bg}"]), 2)) for fg, bg in pairs]
    assert [pair for pair in weak if pair[2] < 4.5] == []


def test_the_syntax_highlighting_stylesheet_is_what_pygments_produces():
    # Regenerate with `manage.py pygments_css`; a hand edit makes this fail.
    assert PYGMENTS_CSS_PATH.read_text(encoding="utf-8") == pygments_css()
    css = pygments_css()
    assert ':root[data-theme="dark"] .highlight .k { color: #FF7B72 }' in css  # github-dark's keyword
    assert ':root[data-theme="light"] .highlight .k { color: #008000; font-weight: bold }' in css  # default's


def test_every_block_of_the_stylesheet_is_closed_where_it_should_be():
    """A brace lost in a merge silently nests every rule after it inside a media query (reduced motion, say), and
    nothing else fails until a page looks wrong: every at-rule's block closes, and only at-rules hold rule blocks."""
    text = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    opened: list[str] = []  # what each open block belongs to: "@" for an at-rule, "rule" for a style rule
    prelude = ""
    for char in text:
        if char == "{":
            kind = "@" if prelude.strip().startswith("@") else "rule"
            assert not opened or opened[-1] == "@", f"a block opened inside a style rule: {prelude.strip()!r}"
            opened.append(kind)
            prelude = ""
        elif char == "}":
            assert opened, "a brace closes a block that was never opened"
            opened.pop()
            prelude = ""
        elif char == ";" and (not opened or opened[-1] == "@"):
            prelude = ""  # an at-rule statement such as @import
        else:
            prelude += char
    assert opened == [], f"{len(opened)} block(s) never closed"
