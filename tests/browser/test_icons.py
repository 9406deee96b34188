"""Icons in Chromium: every `{% icon %}` on the inbox, a pull request and the source browser draws its symbol from the
sprite (the `<use>` resolves to a shape with an area), within the Content-Security-Policy and without console errors,
in the colour of the words around it; screenshots of the three pages, light and dark, are kept."""

from __future__ import annotations

import re

import pytest

from bitbucket_sync.models import PullRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each icon's drawing as the browser laid it out: the shape the <use> points at (zero-sized until the sprite loaded and
# the id was found in it) and the box the stylesheet gives the <svg>.
DRAWN = """() => Array.from(document.querySelectorAll('svg.icon')).map((svg) => {
  const use = svg.querySelector('use'), shape = use.getBBox(), box = svg.getBoundingClientRect();
  return {href: use.getAttribute('href'), shape: shape.width * shape.height, box: [box.width, box.height],
          fill: getComputedStyle(svg).fill, color: getComputedStyle(svg).color};
})"""


def _icons_drawn(page) -> list[dict]:
    page.wait_for_function(
        "() => { const uses = document.querySelectorAll('svg.icon use');"
        " return uses.length > 0 && Array.from(uses).every((u) => u.getBBox().width > 0); }"
    )
    drawn = page.evaluate(DRAWN)
    for icon in drawn:
        assert re.search(r"/static/icons/sprite\.[0-9a-f]+\.svg#[a-z-]+$", icon["href"]), icon  # the hashed name
        assert icon["shape"] > 0 and min(icon["box"]) >= 10, icon
        assert icon["fill"] == icon["color"], icon  # currentColor: the colour of the words around it
    return drawn


def test_icons_draw_from_the_sprite_on_the_inbox_a_pull_request_and_the_source(
    page, live_server, login, keep_screenshot, demo_mirror
):
    user = demo_mirror.users["alice"]
    user.set_password("demo")
    user.save()
    login("alice")
    pr = PullRequest.objects.get(title="Rate limit order creation")
    pages = {
        "inbox": f"{live_server.url}/-/inbox/?tab=open",
        "pull-request": f"{live_server.url}{pr.get_absolute_url()}",
        "source": f"{live_server.url}/acme/api-server/src/main/",
    }
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for name, url in pages.items():
            page.goto(url)
            drawn = _icons_drawn(page)
            hrefs = {icon["href"].rsplit("#", 1)[1] for icon in drawn}
            if name == "inbox":
                assert "git-pull-request" in hrefs
                assert page.get_by_role("img", name="Open pull request").count() > 0
            elif name == "pull-request":
                # the state, the branches, a review, a build
                assert {"git-pull-request", "git-branch", "file-diff", "x-circle"} <= hrefs
                badge = page.locator(".page-header .badge.open")
                assert badge.inner_text() == "open"  # the icon adds no text: the state's words stay as they were
            else:
                assert {"file-directory-fill", "file", "git-branch"} <= hrefs
                assert page.get_by_role("img", name="Folder").count() > 0
                assert page.get_by_role("img", name="File").count() > 0
            keep_screenshot(f"icons-{name}-{scheme}")
    assert page.dialogs == []
