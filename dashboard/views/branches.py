"""The new branch page (`/<ws>/<repo>/branches/new`); the branch list is a repository page."""

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync import actions, branching
from bitbucket_sync.models import Credential
from dashboard.forms.pickers import suggest_branches
from dashboard.forms.writes import BranchCreateForm
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest, fragment
from dashboard.views.writes import perform


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def branch_create(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """New branch from a branch, tag or commit (``?from=`` preselects it, e.g. from a branch row)."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need="write")
    credential = Credential.objects.for_site(request.user, workspace.api_url)
    if request.method == "GET":
        # The branching model's prefixes and development branch (one read per credential, cached for minutes).
        options = branching.branch_options(credential=credential, repository=repository)
    else:
        # A POST costs no read: the model as the form was shown, else the prefix sent (the full name is checked by
        # git's rules either way).
        sent = request.POST.get("prefix", "")
        options = branching.cached_branch_options(
            credential=credential, repository=repository
        ) or branching.BranchOptions(
            prefixes=((sent, sent.rstrip("/")),) if sent else (), development=repository.main_branch, from_model=False
        )
    context = {
        "workspace": workspace,
        "repository": repository,
        "nav": "workspace",
        "options": options,
    }

    def page(form, failure=None, status=200):
        context.update(form=form, failure=failure)
        return render(
            request, fragment(request, "repositories/branch_create.html", "branch-form"), context, status=status
        )

    if request.method == "GET":
        target = request.GET.get("from") or options.development
        first = options.prefixes[0][0] if options.prefixes else ""
        form = BranchCreateForm(initial={"target": target, "prefix": first}, prefixes=options.prefixes)
        return page(suggest_branches(form, repository, "target"))

    form = suggest_branches(BranchCreateForm(request.POST, prefixes=options.prefixes), repository, "target")
    if not form.is_valid():
        return page(form)
    name = form.cleaned_data["full_name"]

    def run():
        actions.create_branch(user=request.user, repository=repository, name=name, target=form.cleaned_data["target"])
        url = reverse("branch_list", args=[workspace.slug, repository.slug])
        return url, f"Created branch {name} from {form.cleaned_data['target']}."

    return perform(request, form=form, action="branch.create", run=run, failed=lambda f: page(form, f))
