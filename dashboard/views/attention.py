"""The attention inbox (/-/inbox/): whose turn it is on every pull request the user sees, and their saved views."""

from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync.models import SavedView
from dashboard import selectors
from dashboard.filters import AttentionFilterForm
from dashboard.forms.pickers import people_url, repository_url
from dashboard.views.htmx import HtmxHttpRequest, fragment, wants_fragment

# Enough for every team a person is in; a runaway script saving views stops here.
MAX_SAVED_VIEWS = 50


def _owned(user) -> QuerySet[SavedView]:
    """The requesting user's saved views: every look-up and write of a saved view goes through here."""
    return SavedView.objects.filter(user=user)


def _save(user, *, name: str, query: str) -> None:
    SavedView.objects.update_or_create(user=user, name=name, defaults={"query": query})


def _form(request: HtmxHttpRequest, data: QueryDict, scope) -> AttentionFilterForm:
    return AttentionFilterForm(
        data,
        people_url=people_url(),
        repository_url=repository_url(),
        **selectors.attention_filter_choices(request.user, scope=scope),
    )


@require_GET
@vary_on_headers("HX-Request")
def attention_inbox(request: HtmxHttpRequest) -> HttpResponse:
    """Tabs by whose turn it is, across workspaces; every filter is in the URL. An htmx request gets the table."""
    me = selectors.accounts_for_user(request.user)  # one per site: the inbox spans them
    scope = selectors.attention_scope(request.user)
    form = _form(request, request.GET, scope)
    filters = form.cleaned_or_default()
    page = selectors.attention_page(me=me, scope=scope, filters=filters, number=request.GET.get("page"))
    explanations = selectors.attention_tab_explanations()
    counts = selectors.attention_counts(me=me, scope=scope)
    context = {
        "me": me,
        "form": form,
        "filters": filters,
        "filter_query": form.filter_query(),
        "tabs": [(value, label, explanations[value], counts.get(value)) for value, label in AttentionFilterForm.TABS],
        "page": page,
        "saved_views": selectors.saved_views(request.user),
        "nav": "inbox",
        # The region alone: the tabs (counts, links with the filters) come along out of band.
        "tabs_oob": wants_fragment(request),
    }
    return render(request, fragment(request, "attention/inbox.html", "attention-table"), context)


@require_POST
def saved_view_create(request: HtmxHttpRequest) -> HttpResponse:
    """Save the filters in `query` under `name` for the requesting user; saving a name again replaces its filters
    (a double submit changes nothing). Only filters the form accepts are kept."""
    name = request.POST.get("name", "").strip()[: SavedView._meta.get_field("name").max_length]
    if not name:
        return HttpResponse("A saved view needs a name.", status=400)
    scope = selectors.attention_scope(request.user)
    form = _form(request, QueryDict(request.POST.get("query", "")[:2000]), scope)
    query = form.filter_query()
    views = _owned(request.user)
    if not views.filter(name=name).exists() and views.count() >= MAX_SAVED_VIEWS:
        return HttpResponse(f"At most {MAX_SAVED_VIEWS} saved views; delete one first.", status=400)
    _save(request.user, name=name, query=query)
    return HttpResponseRedirect(f"{reverse('attention_inbox')}?{query}" if query else reverse("attention_inbox"))


@require_POST
def saved_view_delete(request: HtmxHttpRequest, view_id: int) -> HttpResponse:
    """Delete one of the requesting user's saved views; anyone else's is a 404."""
    deleted, _ = _owned(request.user).filter(pk=view_id).delete()
    if not deleted:
        raise Http404("No such saved view.")
    return HttpResponseRedirect(reverse("attention_inbox"))
