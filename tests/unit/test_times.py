"""Relative times (`reltime`) and the viewer's time zone (`ViewerTimeZoneMiddleware`)."""

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.http import HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from bitbucket_sync.sync.pacing import ManualSync
from dashboard.templatetags.times import reltime
from dashboard.timezones import ViewerTimeZoneMiddleware, viewer_zone

WHEN = datetime(2026, 1, 15, 12, 5, 30, tzinfo=UTC)


def test_reltime_is_a_time_element_in_utc_with_the_viewer_zone_in_its_title():
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        html = reltime(WHEN)
    assert html.startswith('<time datetime="2026-01-15T12:05:30Z" title="2026-01-15 13:05 CET" data-relative="ago">')
    assert html.endswith(" ago</time>")


def test_reltime_bare_has_no_ago_and_text_matches_timesince():
    moment = timezone.now() - timedelta(hours=3, minutes=5)
    html = Template("{{ when|reltime:'bare' }}").render(Context({"when": moment}))
    assert 'data-relative=""' in html
    assert ">3\xa0hours, 5\xa0minutes</time>" in html


def test_reltime_under_a_minute_says_just_now_not_zero_minutes():
    moment = timezone.now() - timedelta(seconds=20)
    assert ">just now</time>" in reltime(moment)
    assert ">less than a minute</time>" in reltime(moment, "bare")
    assert ">1\xa0minute ago</time>" in reltime(moment - timedelta(seconds=45))


def test_reltime_renders_nothing_for_a_missing_value():
    assert Template("[{{ when|reltime }}]").render(Context({"when": None})) == "[]"


def _zone_seen(cookie: str | None) -> str:
    seen = []

    def view(request):
        seen.append(str(timezone.get_current_timezone()))
        return HttpResponse()

    request = RequestFactory().get("/")
    if cookie is not None:
        request.COOKIES["tz"] = cookie
    ViewerTimeZoneMiddleware(view)(request)
    return seen[0]


def test_middleware_activates_a_valid_zone_and_deactivates_after(settings):
    assert _zone_seen("America/New_York") == "America/New_York"
    assert str(timezone.get_current_timezone()) == settings.TIME_ZONE


@pytest.mark.parametrize("cookie", [None, "", "Mars/Olympus", "../../etc/passwd", "UTC" * 40])
def test_middleware_falls_back_to_the_site_zone(settings, cookie):
    assert _zone_seen(cookie) == settings.TIME_ZONE


def test_viewer_zone_knows_only_iana_names():
    assert viewer_zone("Asia/Tokyo") == zoneinfo.ZoneInfo("Asia/Tokyo")
    assert viewer_zone("Asia/Tokyo\x00") is None


def test_manual_sync_refusal_names_the_viewer_zone():
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        text = ManualSync(allowed=False, next_at=WHEN).refusal
    assert "possible at 21:05 JST." in text
