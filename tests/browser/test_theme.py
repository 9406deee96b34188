"""Dark mode in Chromium: the dark palette follows a system that prefers dark, the header's toggle overrides it both
ways and the choice survives a reload (rendered server-side); screenshots of the inbox in light and dark are kept."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIGHT_BG = "rgb(246, 247, 249)"  # --bg, light
DARK_BG = "rgb(13, 17, 23)"  # --bg, dark
BODY_BG = "() => getComputedStyle(document.body).backgroundColor"


def _toggle(page, current: str) -> None:
    """Press the header's toggle and wait until the page says the theme it switched to."""
    following = {"system": "light", "light": "dark", "dark": "system"}[current]
    page.get_by_role("button", name=f"Colour theme: {current} (switch to {following})").click()
    page.wait_for_function(f"() => document.documentElement.dataset.theme === '{following}'")


def test_dark_palette_by_system_preference_and_by_the_toggle(page, live_server, login, keep_screenshot, demo_mirror):
    user = demo_mirror.users["alice"]
    user.set_password("demo")
    user.save()
    page.emulate_media(color_scheme="light")
    login("alice")
    page.goto(f"{live_server.url}/-/inbox/")
    page.locator("#attention-table").wait_for()
    assert page.locator("html").get_attribute("data-theme") == "system"
    assert page.evaluate(BODY_BG) == LIGHT_BG
    keep_screenshot("inbox-light")

    page.emulate_media(color_scheme="dark")  # the system prefers dark: so does the page
    assert page.evaluate(BODY_BG) == DARK_BG
    keyword = page.evaluate("() => { const s = document.createElement('span'); s.className = 'k';"
                            " document.querySelector('.content').append(Object.assign(document.createElement('div'),"
                            " {className: 'highlight'})); document.querySelector('.content .highlight:last-child')"
                            ".append(s); return getComputedStyle(s).color; }")  # fmt: skip
    assert keyword == "rgb(255, 123, 114)"  # github-dark's keyword colour, from the generated pygments.css
    keep_screenshot("inbox-dark")

    _toggle(page, "system")  # light chosen: it wins over the system's dark
    assert page.evaluate(BODY_BG) == LIGHT_BG
    page.emulate_media(color_scheme="light")
    _toggle(page, "light")  # dark chosen: it wins over the system's light
    assert page.evaluate(BODY_BG) == DARK_BG
    page.reload()  # remembered in the session, rendered into <html data-theme> by the server
    assert page.locator("html").get_attribute("data-theme") == "dark"
    assert page.evaluate(BODY_BG) == DARK_BG
    page.get_by_role("button", name=re.compile(r"^Colour theme: dark")).wait_for()
    _toggle(page, "dark")  # back to following the system (light here)
    assert page.evaluate(BODY_BG) == LIGHT_BG
    assert page.dialogs == []
