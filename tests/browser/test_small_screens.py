"""A phone's width (390 px) in Chromium: no page scrolls sideways, wide tables and diff lines scroll inside their own
box, the header's navigation wraps, the pull request page stacks its side column under the main one. And the
screenshots people look at: the inbox, a pull request with its diff and a highlighted source file, in light and dark,
at a desktop's width and a phone's, kept under var/test/screenshots/ (the `keep_screenshot` fixture)."""

from __future__ import annotations

import pytest

from bitbucket_sync.models import PullRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PR_TITLE = "Add customer lookup endpoint"
SOURCE_FILE = "/acme/api-server/src/main/src/api_server/settings.py"
HX_SETTLED = "() => !document.querySelector('.htmx-request')"
# The diff loads when revealed and replaces its region: look it up afresh on every poll, bring it into view.
REVEAL_DIFF = """() => {
  document.querySelector('#pr-diff')?.scrollIntoView();
  return !!document.querySelector('#pr-diff details.diff-file');
}"""
# How far the page scrolls sideways, and (to say why) the outermost elements that stick out of the viewport without
# a scrolling box of their own around them.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const scrolls = (el) => !['visible', 'clip'].includes(getComputedStyle(el).overflowX);
  const culprits = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5) continue;
    let ancestor = el.parentElement, contained = false;
    while (ancestor && !contained) { contained = scrolls(ancestor); ancestor = ancestor.parentElement; }
    if (!contained) culprits.push(`${el.tagName.toLowerCase()}.${el.className} (right ${Math.round(box.right)})`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, culprits: culprits.slice(0, 5)};
}"""
BOX = "(el) => { const {left, right, top, bottom} = el.getBoundingClientRect(); return {left, right, top, bottom}; }"
SCROLLS_INSIDE = "(el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'auto'"
BODY_BG = "() => getComputedStyle(document.body).backgroundColor"
CARD_BG = "() => getComputedStyle(document.querySelector('.card, table.data, table.code')).backgroundColor"
BACKGROUNDS = {  # --bg and --surface of each palette
    "light": ("rgb(246, 247, 249)", "rgb(255, 255, 255)"),
    "dark": ("rgb(13, 17, 23)", "rgb(22, 27, 34)"),
}


def _sign_in_as_alice(mirror, login) -> None:
    user = mirror.users["alice"]
    user.set_password("demo")
    user.save()
    login("alice")


def _open(page, url: str, *, diff: bool = False) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if diff:
        page.wait_for_function(REVEAL_DIFF)
        page.wait_for_function(HX_SETTLED)
        page.wait_for_load_state("networkidle")
        page.evaluate("() => window.scrollTo(0, 0)")


def test_no_page_scrolls_sideways_at_390_px(page, live_server, login, demo_mirror):
    _sign_in_as_alice(demo_mirror, login)
    page.set_viewport_size(PHONE)
    pr = PullRequest.objects.get(repository__slug="api-server", title=PR_TITLE)
    pr_path = f"/acme/api-server/pull-requests/{pr.number}"
    paths = [
        "/",
        "/-/inbox/",
        "/acme/",
        "/acme/pull-requests/",
        "/acme/api-server/",
        "/acme/api-server/branches/",
        "/acme/api-server/commits/",
        "/acme/api-server/src/main/src/api_server/",
        SOURCE_FILE,
        pr_path,
        "/acme/members/",
        "/-/sync/",
        "/-/audit/",
        "/-/credentials/",
        "/-/me/",
    ]
    overflowing = {}
    for path in paths:
        _open(page, live_server.url + path, diff=path == pr_path)
        found = page.evaluate(OVERFLOW)
        assert found["innerWidth"] == PHONE["width"]
        if found["scrollWidth"] > found["innerWidth"]:
            overflowing[path] = found
    assert overflowing == {}, "pages wider than the phone: " + repr(overflowing)


def test_wide_content_scrolls_in_its_own_box_and_the_header_wraps(page, live_server, login, demo_mirror):
    _sign_in_as_alice(demo_mirror, login)
    page.set_viewport_size(PHONE)
    _open(page, f"{live_server.url}/acme/api-server/branches/")
    # The branch table is wider than the phone: its wrapper scrolls, the page does not.
    wrapper = page.locator("#branch-table .table-scroll")
    assert wrapper.evaluate(SCROLLS_INSIDE)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    wrapper.evaluate("(el) => { el.scrollLeft = el.scrollWidth; }")
    assert wrapper.evaluate("(el) => el.scrollLeft") > 0  # the hidden columns can be reached
    # The header's links wrap onto more lines, every one of them inside the viewport.
    nav = page.get_by_role("navigation", name="Main")
    links = nav.locator("a, button")
    boxes = [links.nth(i).evaluate(BOX) for i in range(links.count())]
    assert all(box["left"] >= 0 and box["right"] <= PHONE["width"] for box in boxes), boxes
    assert len({round(box["top"]) for box in boxes}) > 1, "the navigation should wrap onto more than one line"
    assert nav.get_by_role("button", name="Sign out").is_visible()


def test_pull_request_page_stacks_at_390_px(page, live_server, login, demo_mirror):
    _sign_in_as_alice(demo_mirror, login)
    pr = PullRequest.objects.get(repository__slug="api-server", title=PR_TITLE)
    _open(page, f"{live_server.url}/acme/api-server/pull-requests/{pr.number}", diff=True)
    main, side = page.locator(".pr-layout > .pr-main"), page.locator(".pr-layout > .pr-side")
    wide_main, wide_side = main.evaluate(BOX), side.evaluate(BOX)
    assert wide_side["left"] >= wide_main["right"]  # at a desktop's width, side by side

    page.set_viewport_size(PHONE)
    narrow_main, narrow_side = main.evaluate(BOX), side.evaluate(BOX)
    assert narrow_side["top"] >= narrow_main["bottom"], (narrow_main, narrow_side)  # under it, in one column
    assert abs(narrow_side["left"] - narrow_main["left"]) < 1
    assert narrow_main["right"] <= PHONE["width"] and narrow_side["right"] <= PHONE["width"]
    # Diff lines longer than the phone scroll inside their file, not the page.
    assert page.locator("#pr-diff .code-wrap").first.evaluate(SCROLLS_INSIDE)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_screenshots_in_light_and_dark_at_two_widths(page, live_server, login, keep_screenshot, demo_mirror):
    _sign_in_as_alice(demo_mirror, login)
    pr = PullRequest.objects.get(repository__slug="api-server", title=PR_TITLE)
    pages = {
        "inbox": ("/-/inbox/", False),
        "pull-request": (f"/acme/api-server/pull-requests/{pr.number}", True),
        "source-file": (SOURCE_FILE, False),
    }
    kept = []
    for name, (path, diff) in pages.items():
        page.set_viewport_size(DESKTOP)
        _open(page, live_server.url + path, diff=diff)
        if name == "source-file":  # highlighted by Pygments
            assert page.locator("table.code span.kn, table.code span.k").count() > 0
        for label, viewport in (("desktop", DESKTOP), ("390", PHONE)):
            page.set_viewport_size(viewport)
            for scheme, (page_bg, surface_bg) in BACKGROUNDS.items():
                page.emulate_media(color_scheme=scheme)
                assert page.evaluate(BODY_BG) == page_bg, (name, label, scheme)
                assert page.evaluate(CARD_BG) == surface_bg, (name, label, scheme)
                if viewport is PHONE:
                    found = page.evaluate(OVERFLOW)
                    assert found["scrollWidth"] <= PHONE["width"], (name, scheme, found)
                kept.append(keep_screenshot(f"{name}-{label}-{scheme}"))
    assert len(kept) == 12 and all(path.stat().st_size > 10_000 for path in kept)
    assert page.dialogs == []
