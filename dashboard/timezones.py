"""The viewer's time zone: static/js/timezone.js stores the browser's IANA zone name in the `tz` cookie, and the
middleware activates it for the request. The cookie is input from the client: only a name from
`zoneinfo.available_timezones()` is used; anything else (or none) leaves the site's TIME_ZONE."""

import functools
import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "tz"
_MAX_NAME = 64


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def viewer_zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone named, when it is a known IANA name; None otherwise."""
    if not name or len(name) > _MAX_NAME or name not in _known():
        return None
    return zoneinfo.ZoneInfo(name)


class ViewerTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = viewer_zone(request.COOKIES.get(COOKIE))
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
