"""The members a comment box offers after `@` (`/<ws>/members/suggest?q=`), as a listbox for static/js/mentions.js."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard import selectors
from dashboard.selectors import mentions
from dashboard.views.htmx import HtmxHttpRequest


@require_GET
@never_cache
def member_suggest(request: HtmxHttpRequest, workspace_slug: str) -> HttpResponse:
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    people = mentions.member_suggestions(workspace, request.GET.get("q", ""))
    return render(request, "people/_member_suggest.html", {"people": people})
