"""The tags page (`/<ws>/<repo>/tags/`): the mirror's tags with their commit and date, a form to tag a branch, tag
or commit (with an optional message), and deleting one after a confirmation. Writes need write access (403 and
nothing sent otherwise) and go through ``bitbucket_sync.actions`` with the user's own credential."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from bitbucket_sync import actions
from dashboard import selectors
from dashboard.forms.pickers import suggest_branches
from dashboard.forms.refs import RefDeleteForm, TagCreateForm
from dashboard.selectors import refs
from dashboard.views import access
from dashboard.views.htmx import HtmxHttpRequest, fragment
from dashboard.views.writes import perform


def _tag_name(request: HtmxHttpRequest) -> str:
    name = request.GET.get("name") or ""
    if not name or actions.tag_name_problem(name):
        raise Http404("No such tag.")
    return name


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def tag_list(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """Tags, newest first; a POST creates one (write access)."""
    if request.method == "POST":
        workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug)
        if refusal := access.refused(request, workspace, repository):
            return refusal  # a Data Center project or an archived repository: not a permission problem
    need: access.Need = "write" if request.method == "POST" else "read"
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need=need)
    context = {
        "workspace": workspace,
        "repository": repository,
        "page": refs.tag_page(repository, number=request.GET.get("page")),
        "freshness": selectors.freshness(workspace),
        "nav": "workspace",
    }

    def page(form, failure=None, region="tag-table"):
        context.update(form=form, failure=failure)
        return render(request, fragment(request, "tags/list.html", region), context)

    if request.method == "GET":
        initial = {"target": request.GET.get("from") or repository.main_branch}
        return page(suggest_branches(TagCreateForm(initial=initial), repository, "target"))
    form = suggest_branches(TagCreateForm(request.POST), repository, "target")
    if not form.is_valid():
        return page(form, region="tag-form")
    name = form.cleaned_data["name"]

    def run():
        data = form.cleaned_data
        actions.create_tag(
            user=request.user, repository=repository, name=name, target=data["target"], message=data["message"]
        )
        return reverse("tag_list", args=[workspace.slug, repository.slug]), f"Created tag {name}."

    return perform(request, form=form, action="tag.create", run=run, failed=lambda f: page(form, f, region="tag-form"))


@access.acts_on_bitbucket
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def tag_delete(request: HtmxHttpRequest, workspace_slug: str, repo_slug: str) -> HttpResponse:
    """`?name=`: a confirmation naming the tag and its commit; the POST deletes it."""
    workspace, repository = access.repository_for_user(request, workspace_slug, repo_slug, need="write")
    tag = refs.tag_for_user(repository, _tag_name(request))
    context = {"workspace": workspace, "repository": repository, "tag": tag, "nav": "workspace"}

    def page(form, failure=None):
        context.update(form=form, failure=failure)
        return render(request, fragment(request, "tags/delete.html", "tag-delete"), context)

    if request.method == "GET":
        return page(RefDeleteForm())
    form = RefDeleteForm(request.POST)
    if not form.is_valid():
        return page(form)

    def run():
        actions.delete_tag(user=request.user, repository=repository, name=tag.name)
        return reverse("tag_list", args=[workspace.slug, repository.slug]), f"Deleted tag {tag.name}."

    return perform(request, form=form, action="tag.delete", run=run, failed=lambda f: page(form, f))
