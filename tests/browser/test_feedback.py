"""Feedback in Chromium: a filter marks the region it will replace busy until the answer is in and then has a screen
reader say how many rows came back (static/js/busy.js); a background refresh marks it busy without the visible
indicator; the live poller slows down while nothing changes, comes back to speed on a key press, and sends nothing
from a hidden tab (static/js/poll.js)."""

from __future__ import annotations

import itertools
import re
import time

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every poll the page sends, stamped with the page's clock (Playwright's, once installed), and how many are unanswered.
RECORD_POLLS = """
window.__polls = []; window.__pending = 0;
const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, url) {
  this.__poll = String(url).includes("/-/changes/");
  return open.apply(this, arguments);
};
XMLHttpRequest.prototype.send = function () {
  if (this.__poll) {
    window.__polls.push(Date.now()); window.__pending += 1;
    this.addEventListener("loadend", () => { window.__pending -= 1; });
  }
  return send.apply(this, arguments);
};
"""
SET_VISIBILITY = """(hidden) => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => hidden ? "hidden" : "visible" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def _sign_in(demo_mirror, login) -> None:
    user = demo_mirror.users["alice"]
    user.set_password("demo")
    user.save()
    login("alice")


def _hold_fragments(page: Page) -> list[Route]:
    """htmx requests for the pull request list wait in the returned list until the test lets them through."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.headers.get("hx-request") == "true":
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/acme/pull-requests/(\?.*)?$"), hold)
    return held


def _wait_for(page: Page, condition, what: str, timeout: float = 10) -> None:
    """Waits on the page (a plain sleep would not let Playwright hand over the routed requests)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(10)


def test_filter_marks_its_region_busy_then_announces_the_result(page, live_server, login, screenshot, demo_mirror):
    _sign_in(demo_mirror, login)
    page.goto(f"{live_server.url}/acme/pull-requests/?tab=all")
    region = page.locator("#pr-table")
    # The first poll compares with the time the page was rendered and refreshes the list when the mirror was written
    # just before it (as the fixture's was): let that refresh pass first, so every request held below is the test's.
    page.wait_for_function("() => document.getElementById('live-poller').getAttribute('hx-get').includes('since=v')")
    expect(region).not_to_have_attribute("aria-busy", "true")
    held = _hold_fragments(page)

    page.get_by_label("State").select_option("MERGED")
    _wait_for(page, lambda: held, "the filter's request")
    expect(region).to_have_attribute("aria-busy", "true")
    expect(region).to_have_class(re.compile(r"\bis-loading\b"))
    page.wait_for_timeout(400)  # past the .15s before the indicator shows
    assert float(region.locator(":scope > *").first.evaluate("e => getComputedStyle(e).opacity")) < 1  # dimmed
    bar = region.evaluate("e => getComputedStyle(e, '::before').opacity")
    assert bar == "1"  # the band along the top edge
    screenshot("filter-busy")

    held.pop().continue_()
    expect(region.locator("a.pr-title").first).to_be_visible()
    expect(region).not_to_have_attribute("aria-busy", "true")
    expect(region).not_to_have_class(re.compile(r"\bis-loading\b"))
    announced = region.get_attribute("data-announce")
    assert announced == f"{region.locator('a.pr-title').count()} pull requests"
    announcer = page.locator("#announcer")
    expect(announcer).to_have_text(announced)
    assert announcer.get_attribute("aria-live") == "polite" and announcer.get_attribute("role") == "status"

    # Nothing matches: that is said too.
    page.get_by_label("Text").fill("no pull request is called this")
    _wait_for(page, lambda: held, "the search's request")
    expect(region).to_have_attribute("aria-busy", "true")
    held.pop().continue_()
    expect(region.locator("p.empty")).to_have_text("No pull requests match.")
    expect(announcer).to_have_text("No pull requests match")
    expect(region).not_to_have_attribute("aria-busy", "true")

    # A refresh nobody asked for (the mirror changed): busy for assistive technology, no indicator, nothing said.
    page.get_by_label("Text").fill("")
    _wait_for(page, lambda: held, "the cleared search's request")
    held.pop().continue_()
    expect(region).not_to_have_attribute("aria-busy", "true")
    expect(announcer).to_have_text(re.compile(r"^\d+ pull requests$"))
    page.evaluate("document.getElementById('announcer').textContent = ''")
    page.evaluate("htmx.trigger(document.body, 'mirror-changed')")
    _wait_for(page, lambda: held, "the live refresh's request")
    expect(region).to_have_attribute("aria-busy", "true")
    assert "is-loading" not in (region.get_attribute("class") or "")
    held.pop().continue_()
    expect(region).not_to_have_attribute("aria-busy", "true")
    page.wait_for_timeout(300)
    assert page.locator("#announcer").text_content() == ""


def test_live_poller_backs_off_wakes_on_a_key_and_sleeps_while_hidden(page, live_server, login, demo_mirror):
    page.add_init_script(RECORD_POLLS)
    page.clock.install()
    _sign_in(demo_mirror, login)
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)  # the page's timers move only when the test says
    page.goto(f"{live_server.url}/acme/pull-requests/")
    page.locator("#live-poller").wait_for(state="attached")
    assert page.evaluate("window.__polls.length") == 0

    def advance(seconds: float) -> None:
        """The page's clock forward in steps of .2s, each poll answered before the next step."""
        for _ in range(round(seconds * 5)):
            page.clock.run_for(200)
            _wait_for(page, lambda: page.evaluate("window.__pending") == 0, "a poll's answer")

    advance(160)
    polls = page.evaluate("window.__polls")
    gaps = [round((b - a) / 1000) for a, b in itertools.pairwise(polls)]
    # Every 2s for half a minute of "nothing changed", then twice as long each time, capped at a minute.
    assert gaps == [2] * 16 + [4, 8, 16, 32, 60], gaps

    # Someone presses a key: the next poll comes after 2s, not a minute.
    page.keyboard.press("Shift")
    advance(2.2)
    assert page.evaluate("window.__polls.length") == len(polls) + 1

    # A hidden tab asks nothing, however long it stays hidden, and asks at once when it shows again.
    page.evaluate(SET_VISIBILITY, True)
    page.clock.run_for(600_000)
    page.wait_for_timeout(200)
    assert page.evaluate("window.__polls.length") == len(polls) + 1
    page.evaluate(SET_VISIBILITY, False)
    _wait_for(page, lambda: page.evaluate("window.__polls.length") == len(polls) + 2, "the poll on showing again")
    _wait_for(page, lambda: page.evaluate("window.__pending") == 0, "its answer")
    advance(2.2)  # and at the base interval after that
    assert page.evaluate("window.__polls.length") == len(polls) + 3
