"""People: a workspace's members (`/<ws>/members/`) and one person's page (`/-/people/<account_id>/`)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard import selectors
from dashboard.filters import SearchForm
from dashboard.views.htmx import HtmxHttpRequest, fragment


@require_GET
@vary_on_headers("HX-Request")
def member_list(request: HtmxHttpRequest, workspace_slug: str) -> HttpResponse:
    workspace = selectors.workspace_for_user(request.user, slug=workspace_slug)
    form = SearchForm(request.GET)
    page = selectors.member_page(
        request.user, workspace=workspace, number=request.GET.get("page"), text=form.cleaned_or_default()["q"]
    )
    context = {
        "workspace": workspace,
        "form": form,
        "page": page,
        "freshness": selectors.freshness(workspace),
        "nav": "members",
    }
    return render(request, fragment(request, "people/members.html", "member-table"), context)


@require_GET
@vary_on_headers("HX-Request")
def person_detail(request: HtmxHttpRequest, account_id: str) -> HttpResponse:
    person = selectors.person_for_user(request.user, account_id=account_id)
    context = {"person": person, **selectors.person_profile(request.user, person=person)}
    # The page's body alone for the live refresh (templates/webhooks/_live_poller.html).
    return render(request, fragment(request, "people/detail.html", "person-detail"), context)
