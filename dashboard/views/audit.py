"""The audit log: who did what on Bitbucket through bbdash, when, where, with which credential kind and result.

Staff see every event; everyone else sees their own.
"""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import selectors
from dashboard.filters import AuditFilterForm
from dashboard.selectors import refs
from dashboard.views.htmx import HtmxHttpRequest, fragment

PAGE_SIZE = 50


@require_GET
@vary_on_headers("HX-Request")
def audit_list(request: HtmxHttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET, actions=selectors.audit_actions(request.user))
    events = selectors.audit_events(request.user, filters=form.cleaned_or_default())
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    # Branch deletions the viewer may undo get a "Recreate branch" form.
    page.object_list = refs.with_recreate_keys(request.user, list(page.object_list))
    context = {"form": form, "page": page, "show_actor_filter": request.user.is_staff}
    return render(request, fragment(request, "audit/list.html", "audit-table"), context)
