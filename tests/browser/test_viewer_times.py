"""The viewer's time zone reaches the page: after timezone.js stores it, tooltips show New York time, and relative
times move on by themselves on a page left open."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests import factories as f
from tests.fixtures.browser import assert_no_problems, watch_for_problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_tooltip_shows_new_york_time_once_the_zone_is_stored(browser, live_server):
    user = f.user("nyreader", password="demo", is_staff=True)
    used = (timezone.now() - timedelta(minutes=3)).replace(second=0, microsecond=0)
    f.credential(user, last_used_at=used)
    context = browser.new_context(timezone_id="America/New_York")
    page = context.new_page()
    problems = watch_for_problems(context, page)
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill("nyreader")
        page.get_by_label("Password").fill("demo")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")
        assert {c["name"]: c["value"] for c in context.cookies()}.get("tz") == "America/New_York"

        page.clock.install()
        page.goto(f"{live_server.url}/-/credentials/")
        stamp = page.locator("#credential-table time[datetime]").first
        new_york = used.astimezone(ZoneInfo("America/New_York"))
        assert stamp.get_attribute("title") == f"{new_york:%Y-%m-%d %H:%M} {new_york.tzname()}"
        assert stamp.inner_text().endswith(" ago")

        page.clock.run_for(125 * 60 * 1000)  # two hours later, the page still open
        assert re.fullmatch("2\xa0hours, [89]\xa0minutes ago", stamp.inner_text())
    finally:
        assert_no_problems(page, problems)
        context.close()
