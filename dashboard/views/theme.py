"""The header's colour theme toggle: a small POST form (works without JavaScript; static/js/theme.js saves the page
reload) that stores the viewer's choice in their session."""

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboard.theme import SESSION_KEY, THEMES, following
from dashboard.views.htmx import HtmxHttpRequest


@require_POST
def choose_theme(request: HtmxHttpRequest) -> HttpResponse:
    """Remember `theme` (system, light or dark) and go back to `next` (a path on this site; the home page otherwise).
    Asked for JSON (the script), answer the theme now in force and the one the toggle offers next."""
    theme = request.POST.get("theme", "")
    if theme not in THEMES:
        return HttpResponseBadRequest("Unknown theme: choose system, light or dark.")
    request.session[SESSION_KEY] = theme
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"theme": theme, "next": following(theme)})
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe and target.startswith("/") else "home")
