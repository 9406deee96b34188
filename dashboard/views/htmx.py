"""What htmx brings to a view: the request type that says so, and the choice between a whole page and one region.

django-htmx's middleware sets ``request.htmx`` on every request; views annotate their request as
``HtmxHttpRequest`` so mypy knows it is there (the pattern django-htmx documents).
"""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def wants_fragment(request: HtmxHttpRequest) -> bool:
    """An htmx request for a region; a history restore (back button with htmx's cache missed) needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def fragment(request: HtmxHttpRequest, template: str, region: str) -> str:
    """The region alone (``template#region``) for an htmx request, else the whole page."""
    return f"{template}#{region}" if wants_fragment(request) else template
