"""The audit log: who did what on Bitbucket through bbdash, when, where, with which credential kind and result.

Staff see every event; everyone else sees their own.
"""

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync.models import AuditEvent
from dashboard.forms.actions import AuditFilterForm
from dashboard.views.actions import fragment

PAGE_SIZE = 50


@require_GET
@vary_on_headers("HX-Request")
def audit_list(request):
    events = AuditEvent.objects.select_related("actor")
    if not request.user.is_staff:
        events = events.filter(Q(actor=request.user) | Q(subject_user=request.user))
    known_actions = sorted(set(events.order_by().values_list("action", flat=True).distinct()))
    form = AuditFilterForm(request.GET, actions=known_actions)
    filters = form.cleaned_or_default()
    if filters.get("action"):
        events = events.filter(action=filters["action"])
    if filters.get("result"):
        events = events.filter(result=filters["result"])
    if filters.get("repository"):
        events = events.filter(repository_full_name__icontains=filters["repository"])
    if filters.get("actor") and request.user.is_staff:
        events = events.filter(actor__username__icontains=filters["actor"])
    page = Paginator(events.order_by("-at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "show_actor_filter": request.user.is_staff}
    return render(request, fragment(request, "audit/list.html", "audit-table"), context)
