"""Every view of the site says what it takes and returns, so mypy checks its body against the request htmx makes."""

import inspect

from django.http import HttpResponse
from django.urls import URLPattern, get_resolver

from dashboard.views.htmx import HtmxHttpRequest


def _our_views():
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLPattern):
            view = inspect.unwrap(pattern.callback)
            if view.__module__.startswith("dashboard.views."):
                yield pattern.name, view


def test_every_view_takes_an_htmx_request_and_returns_a_response():
    views = dict(_our_views())
    assert len(views) > 40
    untyped = [
        name
        for name, view in views.items()
        if inspect.signature(view).parameters["request"].annotation is not HtmxHttpRequest
        or not issubclass(inspect.signature(view).return_annotation, HttpResponse)
    ]
    assert untyped == []
